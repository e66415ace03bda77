"""The heartbeat lane of the runner protocol version 2: ``POST {base}/workflows/{id}/heartbeat``.

One thread per ServerAPI, started by the first run it watches, with a connection of its own: a
beat never waits behind status reports, is never coalesced with them, and is never retried (the
next beat supersedes a lost one). A step never waits on it, even with a server that never
answers: each beat is bounded by the request timeout, and at most twice the interval. An answer
slower than the interval is still read (its cancel, its 409 or 410 would be lost otherwise), and
the next beat leaves as soon as it came, so a backend that answers late still gets a beat within
its lease of three intervals.

What an answer means:

- 2xx: its body may change the interval (``{"interval": 5}``, bounded 1 to 300 s) and ask the
  run, or some of its tasks, to stop (``{"cancel": {"tasks": null, "reason": "...", "grace": 10}}``).
- 404 or 405: the backend has no heartbeat route: beats are off for the rest of the run (one
  DEBUG line).
- 409 or 410: the run's lease is gone (the backend declared it Crashed, or gave it to another
  runner): the run is cancelled at once with the reason "lease lost", so the same work never
  runs twice.
- anything else, a timeout or a refused connection: nothing; the next beat goes at its time.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

from dotflow.delivery.http import LaneConnection

if TYPE_CHECKING:
    from dotflow.delivery.answer import Answer
    from dotflow.delivery.http import Connection
    from dotflow.live import LiveRun

logger = logging.getLogger("dotflow.server")

INTERVAL_MIN = 1.0
INTERVAL_MAX = 300.0
# A cancel that names no grace gives the steps this long to stop by themselves.
DEFAULT_GRACE = 10.0
LEASE_LOST = "lease lost"
# The longest a thread with nothing to beat for waits before it looks again (a bound, not a pace).
_IDLE_WAIT = 60.0
# A beat's answer is awaited at most this many intervals (and never past the request timeout).
ANSWER_INTERVALS = 2.0


def bounded_interval(value: Any, fallback: float) -> float:
    """A backend's ``interval`` in seconds, within 1 to 300; ``fallback`` for what is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return fallback
    return min(INTERVAL_MAX, max(INTERVAL_MIN, float(value)))


class _Beat:
    """One watched run's beat: its sequence number, interval and next time."""

    __slots__ = ("due", "interval", "live", "off", "seq")

    def __init__(self, live: LiveRun, interval: float) -> None:
        self.live = live
        self.interval = interval
        self.seq = 0
        self.due = 0.0  # the first beat leaves at once
        self.off = False


class Heartbeats:
    """The beats of the runs one ServerAPI watches.

    ``connect()`` opens a connection, ``headers()`` gives each request's headers (the token),
    ``version()`` says the protocol in use (2, 1, or None while ``auto`` has not heard), and every
    answer goes to ``observe`` first (discovery, token refresh). ``path_of(workflow_id)`` is the
    encoded route.
    """

    def __init__(
        self,
        *,
        connect: Callable[[], Connection],
        headers: Callable[[], dict[str, str]],
        version: Callable[[], int | None],
        observe: Callable[[Answer], None],
        path_of: Callable[[str], str],
        interval: float,
        timeout: float,
        hide: Callable[[str], str],
    ) -> None:
        self._headers = headers
        self._version = version
        self._observe = observe
        self._path_of = path_of
        self.interval = interval
        self._timeout = timeout
        self._hide = hide
        self._cv = threading.Condition()
        self._beats: dict[str, _Beat] = {}
        self._thread: threading.Thread | None = None
        self._connection = LaneConnection(connect)
        self.sent = 0  # beats answered 2xx, for tests and benchmarks

    # -- the runs ----------------------------------------------------------------------------

    def watch(self, live: LiveRun) -> None:
        """Beat for ``live`` from now on (the first beat at once, once version 2 is in use)."""
        with self._cv:
            self._beats[live.workflow_id] = _Beat(live, self.interval)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="dotflow-heartbeat", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def stop(self, workflow_id: str) -> None:
        """No beat for that run any more: its terminal status is queued."""
        with self._cv:
            self._beats.pop(workflow_id, None)
            self._cv.notify_all()

    def wake(self) -> None:
        """The protocol version became known: beats that waited for it go now."""
        with self._cv:
            self._cv.notify_all()

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                due = self._next()
                if due is None:
                    return
                for beat in due:
                    self._beat(beat)
        finally:
            self._connection.close()

    def _next(self) -> list[_Beat] | None:
        """The beats due now, waiting until one is; None once no run is watched."""
        with self._cv:
            while True:
                for workflow_id in [w for w, b in self._beats.items() if b.off or b.live.ended]:
                    del self._beats[workflow_id]
                if self._version() == 1:  # the backend speaks version 1: no beat, ever
                    self._beats.clear()
                if not self._beats:
                    self._thread = None
                    return None
                wait = _IDLE_WAIT
                if self._version() == 2:
                    now = monotonic()
                    due = [beat for beat in self._beats.values() if beat.due <= now]
                    if due:
                        return due
                    wait = min(beat.due for beat in self._beats.values()) - now
                self._cv.wait(wait)

    def _beat(self, beat: _Beat) -> None:
        live = beat.live
        beat.seq += 1
        beat.due = monotonic() + beat.interval
        body = {
            "seq": beat.seq,
            "sent_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "interval": beat.interval,
            "attempt": live.run_attempt,
            "run_attempt": live.run_attempt,
            "running": live.running(),
            "progress": live.progress(),
        }
        payload = self._hide(json.dumps(body, separators=(",", ":"), default=str, allow_nan=False)).encode("utf-8")
        try:
            answer = self._connection.request(
                "POST", self._path_of(live.workflow_id), payload, min(self._timeout, ANSWER_INTERVALS * beat.interval),
                self._headers(),
            )
        except Exception as exc:  # refused, timed out, reset: the next beat goes at its time
            logger.debug("dotflow server: heartbeat %d of %s got no answer (%s)", beat.seq, live.workflow_id,
                         type(exc).__name__)
            return
        self._observe(answer)
        self._judge(beat, answer)

    def _judge(self, beat: _Beat, answer: Answer) -> None:
        live, status = beat.live, answer.status
        if 200 <= status < 300:
            self.sent += 1
            said = _json_object(answer.body)
            if "interval" in said:
                beat.interval = bounded_interval(said["interval"], beat.interval)
                beat.due = monotonic() + beat.interval
            cancel = said.get("cancel")
            if isinstance(cancel, dict):
                tasks = cancel.get("tasks")
                names = None if not isinstance(tasks, list) else [str(task) for task in tasks]
                reason = cancel.get("reason")
                reason = str(reason) if isinstance(reason, str) and reason.strip() else "cancelled by the backend"
                grace = cancel.get("grace")
                grace = float(grace) if isinstance(grace, (int, float)) and not isinstance(grace, bool) and \
                    0 <= grace <= 3600 else DEFAULT_GRACE
                live.request_cancel(self._hide(reason), names, grace)
        elif status in (404, 405):
            beat.off = True
            logger.debug("dotflow server: the heartbeat route answered HTTP %d: no heartbeats for %s", status,
                         live.workflow_id)
        elif status in (409, 410):
            beat.off = True
            logger.warning("ID %s - the backend answered the heartbeat with HTTP %d: the run's lease is lost; "
                           "cancelling it", live.workflow_id, status)
            live.request_cancel(LEASE_LOST, None, 0.0)
        else:
            logger.debug("dotflow server: heartbeat %d of %s answered HTTP %d", beat.seq, live.workflow_id, status)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
