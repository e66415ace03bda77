"""The log lane of the runner protocol version 2: ``POST {base}/workflows/{id}/logs``.

What the steps write (``dotflow.capture``) and the engine's own lines come here as records, each
masked before it is kept, numbered per run (``seq``, one more per record, so a backend sees a gap),
cut at 8 KiB (``truncated``). A thread of its own, with a connection of its own, sends them in
batches: as soon as a record waits, after gathering for at most ``GATHER`` seconds (so a line is
on the wire well within a second while output flows), at most ``BATCH_RECORDS`` records or
``BATCH_BYTES`` of JSON each. Past ``capacity`` records waiting (``server.log_buffer``), the oldest
are dropped and counted, and the next batch's ``dropped`` says how many, as it says how many a
batch that could not be delivered took with it. A status never waits on a log: the lane shares
nothing with the status reports, and at the end its flush gets only the time the status reports
left (``ServerAPI.flush``). 404 or 405 switches the lane off for the run.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timezone
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

from dotflow.delivery.http import LaneConnection

if TYPE_CHECKING:
    from dotflow.delivery.answer import Answer
    from dotflow.delivery.http import Connection

logger = logging.getLogger("dotflow.server")

LINE_MAX = 8 * 1024
BATCH_RECORDS = 1000
BATCH_BYTES = 1024 * 1024
GATHER = 0.25  # seconds a batch waits for more records once one waits
# Attempts of one batch (a connection error, a timeout, a 5xx, a 429) before it is given up.
ATTEMPTS = 3
# Seconds with nothing to send after which the thread ends and closes its connection (the next
# record starts another): a process that runs many workflows keeps no idle thread per run.
_IDLE_WAIT = 5.0


class _RunLog:
    __slots__ = ("dropped", "off", "records", "seq")

    def __init__(self) -> None:
        self.seq = 0
        self.records: deque[tuple[Any, ...]] = deque()  # (seq, time, task, stream, level, line)
        self.dropped = 0
        self.off = False


class LogShipper:
    """The records of the runs one ServerAPI watches, and the thread that sends them."""

    def __init__(
        self,
        *,
        connect: Callable[[], Connection],
        headers: Callable[[], dict[str, str]],
        version: Callable[[], int | None],
        observe: Callable[[Answer], None],
        path_of: Callable[[str], str],
        hide: Callable[[str], str],
        capacity: int,
        timeout: float,
    ) -> None:
        self._headers = headers
        self._version = version
        self._observe = observe
        self._path_of = path_of
        self._hide = hide
        self.capacity = capacity
        self._timeout = timeout
        self._cv = threading.Condition()
        self._runs: dict[str, _RunLog] = {}
        self._waiting = 0  # records waiting, all runs
        self._busy = False  # a batch is on the wire
        self._running = False  # the sending thread is alive
        self._connection = LaneConnection(connect)
        self._deadline: float | None = None  # a flush's: no request outlives it
        self.sent = 0  # records the backend took, for tests and benchmarks

    # -- records in ----------------------------------------------------------------------------

    def sink(self, workflow_id: str) -> Callable[[list[Any]], None]:
        """What a run's ``LiveRun.log_sink`` becomes: batches of lines ``(time, task id or None,
        stream, level, text)`` in (``dotflow.capture`` makes them)."""
        with self._cv:
            self._runs.setdefault(workflow_id, _RunLog())

        def add(lines: list[Any]) -> None:
            self.add(workflow_id, lines)

        return add

    def add(self, workflow_id: str, lines: list[Any]) -> None:
        """Keep ``lines`` for the run, masked, numbered and cut at ``LINE_MAX``; past ``capacity``
        records waiting, the oldest go and are counted."""
        texts = [line[4] for line in lines]
        joined = "\n".join(texts)
        masked = self._hide(joined)  # masked before it is kept: once for the batch
        if masked is not joined and masked != joined:
            split = masked.split("\n")
            texts = split if len(split) == len(texts) else [self._hide(text) for text in texts]
        with self._cv:
            run = self._runs.get(workflow_id)
            if run is None or run.off or self._version() == 1:
                return
            records = run.records
            for (at, task_id, stream, level, _), text in zip(lines, texts):
                run.seq += 1
                # kept cut just past LINE_MAX: a giant line costs no memory, and is sent marked truncated
                records.append((run.seq, at, task_id, stream, level, text[: LINE_MAX + 1].rstrip("\r")))
            self._waiting += len(lines)
            while self._waiting > self.capacity:  # the oldest go, counted, in the run that holds most
                fullest = max(self._runs.values(), key=lambda r: len(r.records))
                fullest.records.popleft()
                fullest.dropped += 1
                self._waiting -= 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="dotflow-logs", daemon=True).start()
            self._cv.notify_all()

    def wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    # -- the thread ----------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                batch = self._next()
                if batch is None:
                    return
                self._send(*batch)
        finally:
            self._connection.close()

    def _next(self) -> tuple[str, list[tuple[Any, ...]], int] | None:
        """The next batch (workflow id, records, dropped), once one is worth sending."""
        with self._cv:
            gathering_since: float | None = None
            while True:
                if self._version() == 1:  # a version 1 backend: nothing of this is ever sent
                    for run in self._runs.values():
                        self._waiting -= len(run.records)
                        run.records.clear()
                        run.off = True
                if not self._waiting:
                    if not self._cv.wait(_IDLE_WAIT) and not self._waiting:
                        self._running = False
                        return None
                    continue
                if self._version() != 2:
                    self._cv.wait(_IDLE_WAIT)  # auto, not yet heard: records wait (bounded) for the answer
                    continue
                now = monotonic()
                if gathering_since is None:
                    gathering_since = now
                urgent = self._deadline is not None or self._waiting >= BATCH_RECORDS
                if not urgent and now - gathering_since < GATHER:
                    self._cv.wait(GATHER - (now - gathering_since))
                    continue
                workflow_id, run = max(self._runs.items(), key=lambda item: len(item[1].records))
                records: list[tuple[Any, ...]] = []
                size = 0
                while run.records and len(records) < BATCH_RECORDS:
                    record = run.records[0]
                    cost = min(len(record[5]), LINE_MAX) + 100
                    if records and size + cost > BATCH_BYTES:
                        break
                    records.append(run.records.popleft())
                    size += cost
                self._waiting -= len(records)
                dropped, run.dropped = run.dropped, 0
                self._busy = True
                return workflow_id, records, dropped

    def _send(self, workflow_id: str, records: list[tuple[Any, ...]], dropped: int) -> None:
        body = _body(records, dropped)
        delivered = False
        try:
            for attempt in range(ATTEMPTS):
                status = self._post(workflow_id, body)
                if status is not None and 200 <= status < 300:
                    delivered = True
                    self.sent += len(records)
                    return
                if status in (404, 405):
                    logger.debug("dotflow server: the logs route answered HTTP %d: no logs for %s", status,
                                 workflow_id)
                    with self._cv:
                        run = self._runs.get(workflow_id)
                        if run is not None:
                            run.off = True
                            self._waiting -= len(run.records)
                            run.records.clear()
                    return
                if status is not None and not (status >= 500 or status in (408, 429)):
                    return  # refused for good (400, 401...): not retried
                if self._deadline is not None and monotonic() >= self._deadline:
                    return
                with self._cv:  # a short pause before the next try; a flush cuts it short
                    self._cv.wait(min(0.5 * (attempt + 1), self._left()))
        finally:
            with self._cv:
                if not delivered:  # what the batch held is counted in the run's next batch
                    run = self._runs.get(workflow_id)
                    if run is not None:
                        run.dropped += len(records) + dropped
                self._busy = False
                self._cv.notify_all()

    def _left(self) -> float:
        return 60.0 if self._deadline is None else max(0.0, self._deadline - monotonic())

    def _post(self, workflow_id: str, body: bytes) -> int | None:
        timeout = self._timeout if self._deadline is None else max(0.05, min(self._timeout, self._left()))
        try:
            answer = self._connection.request("POST", self._path_of(workflow_id), body, timeout, self._headers())
        except Exception as exc:  # refused, timed out, reset: another try, or the batch is counted lost
            logger.debug("dotflow server: a logs batch of %s got no answer (%s)", workflow_id, type(exc).__name__)
            return None
        self._observe(answer)
        return answer.status

    # -- the end -------------------------------------------------------------------------------

    def flush(self, timeout: float) -> int:
        """Send what waits within ``timeout`` seconds; returns how many records were left."""
        with self._cv:
            if (not self._waiting and not self._busy) or self._version() != 2:
                self._deadline = None  # a hasten() of this flush ends with it
                return 0
            deadline = monotonic() + timeout
            self._deadline = deadline if self._deadline is None else min(deadline, self._deadline)
            self._cv.notify_all()
            try:
                while self._waiting or self._busy:
                    left = self._deadline - monotonic()  # hasten() may bring it nearer meanwhile
                    if left <= 0:
                        break
                    self._cv.wait(left)
            finally:
                self._deadline = None
            return self._waiting

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: what is sent after ``deadline`` is given up."""
        with self._cv:
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
            self._cv.notify_all()


def _body(records: list[tuple[Any, ...]], dropped: int) -> bytes:
    """The batch's JSON, made with one template per record (the records are many and alike: this
    is several times faster than encoding a dict for each)."""
    from json.encoder import encode_basestring as quote  # the C encoder of one string
    parts = []
    last_at, last_ts = -1.0, ""
    for seq, at, task_id, stream, level, line in records:
        if at != last_at:  # a burst shares its times: each distinct one formatted once
            last_at, last_ts = at, _iso(at)
        truncated = len(line) > LINE_MAX
        parts.append(_RECORD % (
            seq, last_ts, "null" if task_id is None else quote(task_id), stream,
            "null" if level is None else quote(level), quote(line[:LINE_MAX] if truncated else line),
            ',"truncated":true' if truncated else "",
        ))
    return ('{"records":[%s],"dropped":%d}' % (",".join(parts), dropped)).encode("utf-8")


_RECORD = '{"seq":%d,"ts":"%s","task":%s,"stream":"%s","level":%s,"line":%s%s}'


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
