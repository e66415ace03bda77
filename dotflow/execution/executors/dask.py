"""Dask: ``executor="tcp://host:8786"`` submits each step call to that scheduler's cluster, and
``executor="dask"`` starts a local cluster sized to the machine for the run.

``distributed`` (the ``dotflow[dask]`` extra) is imported here, only when Dask is chosen.
Each call is ``remote.execute_on_dask(request, key)`` under a key named after the step (so the
Dask dashboard shows which step runs where), ``pure=False`` (a retry is a new call, never a
cached one) and no Dask-side retries: the run's own retry policy decides. The driver keeps
statuses, storage and reporting, so workers need dotflow (the driver's version: the scheduler
too loads the call) and the steps' own modules installed, and nothing else: no storage
credentials, no access to the reporting server.

A step that outlives its timeout is cancelled on the cluster; one that already runs cannot
be stopped by Dask and runs on in its worker thread. A worker that dies mid-call is replaced
by Dask, which runs the call again elsewhere up to ``distributed.scheduler.allowed-failures``
times, then gives up with KilledWorker: that fails the attempt with WorkerDiedError. When the
run ends with calls in flight (interrupted, or a cancel's grace ran out), they are cancelled on
the cluster, on the user's own client too (which stays open).

``dotflow.current_task()`` in a step on a Dask worker has the driver's ids, step name, attempt
and run_attempt, through two channels chosen to cost nothing to a step that does not use them
and to leave nothing behind on the cluster:

- worker to driver: what the step says (coalesced by ``remote._Sink``: at most 4 messages a
  second per call) is a structured event of the worker (``Worker.log_event``) on the one topic
  ``remote.TOPIC``, which the scheduler forwards to the clients subscribed to it
  (``Client.subscribe_topic``): no round trip for the step, and a bounded trace on the scheduler
  (one topic, its last ``distributed.admin.low-level-log-length`` events; a topic per run would
  stay there for the scheduler's life). The driver hands the events of its calls in flight to
  their TaskContext and ignores any other (another run's, one that came after its call's
  reply, whose metadata is complete). (``distributed`` no longer has Pub/Sub.)
- driver to worker: a watcher thread of the run (started with its first call, looking every
  ``base.CANCEL_POLL`` seconds while the run has calls, asleep after a second without) sees a
  call's task cancelled and runs ``remote.cancel_calls([key])`` on the workers (``Client.run``:
  the driver does not know which worker has the call, or whether it has started), again every
  ``_RESEND`` seconds while it lasts (for a worker that joined since); a worker keeps the last
  1024 such keys, and the step's ``cancel_requested()`` is a lookup there. An ``Event`` or a
  ``Variable`` per call would cost the step a round trip to the scheduler at each look, and leave
  state on it to clean up.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from dotflow.errors import ExecutorError, MissingExtraError
from dotflow.execution.executors.base import CANCEL_POLL, apply_update
from dotflow.execution.executors.futures import TIMEOUTS, FuturesRunner
from dotflow.execution.executors.remote import TOPIC, cancel_calls, execute_on_dask
from dotflow.naming import step_name

if TYPE_CHECKING:
    from concurrent.futures import Future

    from dotflow.live import TaskContext
    from dotflow.task import Task

CONNECT_TIMEOUT = 10  # seconds to reach a scheduler before the run is refused
_PIP = "pip install 'dotflow[dask]'"
_RESEND = 1.0  # seconds between two cancels of a call still running
_QUIET = 10  # looks without a call in flight after which the watcher sleeps until the next call

# Every call in flight of this process's Dask runs, by key: the context its worker's events go to.
_calls: dict[str, TaskContext] = {}
_calls_lock = threading.Lock()
_subscribed: dict[str, int] = {}  # a client's id -> runs using it, subscribed to TOPIC


def _on_event(event: Any) -> None:
    """A worker's event on TOPIC (in the client's event loop): for a call of ours, to its context."""
    try:
        _, message = event
        key = message["key"]
    except Exception:
        return
    with _calls_lock:  # held while applied: the call's end (and its complete metadata) waits for it
        context = _calls.get(key)
        if context is not None:
            apply_update(context, message)


def _subscribe(client: Any) -> None:
    with _calls_lock:
        count = _subscribed.get(client.id, 0)
        _subscribed[client.id] = count + 1
    if not count:
        try:
            client.subscribe_topic(TOPIC, _on_event)
        except Exception:  # a closed client: its calls fail, each with its own error
            pass


def _unsubscribe(client: Any) -> None:
    with _calls_lock:
        count = _subscribed.pop(client.id, 1) - 1
        if count:
            _subscribed[client.id] = count
    if not count:
        try:
            client.unsubscribe_topic(TOPIC)
        except Exception:  # closed, or never subscribed
            pass


def _distributed(value: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingExtraError(f"executor={value!r} needs Dask's distributed package: {_PIP}") from None
    return distributed


class DaskRunner(FuturesRunner):
    """Step calls on the cluster behind ``client``; at the end of the run, cancels its calls still
    in flight and closes the client (and ``cluster``) when the run started it."""

    where = "a Dask worker"

    def __init__(self, client: Any, label: str, cluster: Any = None, owned: bool = True) -> None:
        import asyncio  # loaded already by distributed: its Future.result raises asyncio's TimeoutError

        self.timeouts = (*TIMEOUTS, asyncio.TimeoutError)
        self.client = client
        self.cluster = cluster
        self.label = label
        self.owned = owned  # False for the user's own client: the run leaves it open
        try:
            threads = sum(client.nthreads().values())
        except Exception:
            threads = 0
        self.capacity = threads or None
        self._track()
        self._watched: dict[str, list[Any]] = {}  # key -> [context, when to ask it again to stop]
        self._watch = threading.Condition()
        self._watcher: threading.Thread | None = None
        self._sleeping = False  # the watcher waits for a call to watch
        self._closed = False
        _subscribe(client)

    def submit(self, request: bytes, task: Task, context: TaskContext | None) -> Future[bytes]:
        from uuid import uuid4

        key = f"dotflow-{step_name(task.step)}-{uuid4().hex}"
        if context is not None:  # before the call exists, so that its first event finds it
            with _calls_lock:
                _calls[key] = context
            self._watch_call(key, context)
        try:
            return self.client.submit(  # type: ignore[no-any-return]
                execute_on_dask, request, key, key=key, pure=False, retries=0,
            )
        except BaseException:
            self._forget(key)
            raise

    def ended(self, future: Future[Any]) -> None:
        super().ended(future)
        self._forget(future.key)  # type: ignore[attr-defined]

    def _forget(self, key: str) -> None:
        with _calls_lock:
            _calls.pop(key, None)
        with self._watch:
            self._watched.pop(key, None)

    def _watch_call(self, key: str, context: TaskContext) -> None:
        with self._watch:
            self._watched[key] = [context, 0.0]
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_loop, name="dotflow-dask-cancel", daemon=True)
                self._watcher.start()
            elif self._sleeping:
                self._watch.notify()

    def _watch_loop(self) -> None:
        """Ask the workers to stop the calls whose task was cancelled (see the module's docstring).

        It looks every CANCEL_POLL seconds, with calls in flight or not, and sleeps until the next
        call only after ``_QUIET`` looks without any: so the calls of a busy run never wake it
        (a thread woken at every call slows every call down, in the GIL's hand-offs)."""
        quiet = 0
        while True:
            with self._watch:
                quiet = 0 if self._watched else quiet + 1
                if quiet >= _QUIET:
                    self._sleeping = True
                    while not self._watched and not self._closed:
                        self._watch.wait()
                    self._sleeping = False
                    quiet = 0
                elif not self._closed:
                    self._watch.wait(CANCEL_POLL)  # only close() ends it early
                if self._closed:
                    return
                now = time.monotonic()
                keys = []
                for key, entry in self._watched.items():
                    context, again = entry
                    if now >= again and context.cancel_requested():
                        keys.append(key)
                        entry[1] = now + _RESEND
            if keys:
                try:
                    self.client.run(cancel_calls, keys, on_error="ignore")
                except Exception:  # the cluster is going away; the grace ends the run
                    pass

    def lost(self, exc: BaseException, name: str) -> Exception:
        from dotflow.errors import WorkerDiedError
        from dotflow.redact import describe

        if type(exc).__name__ == "KilledWorker":
            return WorkerDiedError(f"the Dask workers running step {name} died ({describe(exc)})")
        return WorkerDiedError(f"{self.label} lost step {name} ({describe(exc)})")

    def close(self) -> None:
        """The run ended: calls still in flight (an interrupted run, a cancel's grace run out) are
        cancelled on the cluster, whoever owns the client: their steps see ``cancel_requested()``,
        and Dask drops them (one already running cannot be stopped by Dask, but nothing waits for
        it any more). Then the client is closed if the run opened it."""
        with self._watch:
            self._closed = True
            self._watch.notify_all()
        try:
            futures = self.inflight()
            if futures:
                try:
                    keys = [future.key for future in futures]  # type: ignore[attr-defined]
                    self.client.run(cancel_calls, keys, on_error="ignore")
                    self.client.cancel(futures, reason="the dotflow run ended")
                except Exception:  # the cluster is going away
                    pass
            _unsubscribe(self.client)
        finally:
            if self.owned:
                try:
                    self.client.close()
                finally:
                    if self.cluster is not None:
                        self.cluster.close()


def connect(address: str) -> DaskRunner:
    """A runner on the scheduler at ``address``; ExecutorError when it cannot be reached."""
    distributed = _distributed(address)
    from dotflow.redact import describe, origin

    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"could not reach the Dask scheduler at {origin(address)} within {CONNECT_TIMEOUT}s "
            f"({describe(exc)}); start one with 'dask scheduler', or check the address"
        ) from None
    return DaskRunner(client, f"the Dask cluster at {origin(address)}")


def is_client_executor(executor: Any) -> bool:
    """Whether ``executor`` is a ``distributed.Client``'s ``get_executor()`` (checked without importing distributed)."""
    kind = type(executor)
    return kind.__name__ == "ClientExecutor" and kind.__module__.startswith("distributed")


def from_client_executor(executor: Any) -> DaskRunner:
    """A runner on the user's own client (``client.get_executor()``): submitted as for an address,
    ``pure=False`` (the ClientExecutor's default would let Dask merge two identical calls, a retry
    with its first attempt), and left open at the end of the run."""
    client = executor._client  # distributed's ClientExecutor has no public name for its Client
    from dotflow.redact import origin

    address = getattr(client.scheduler, "address", None) or "?"
    return DaskRunner(client, f"the Dask cluster at {origin(address)}", owned=False)


def local_cluster(workers: int) -> DaskRunner:
    """A runner on a local cluster of ``workers`` single-threaded worker processes, started now."""
    distributed = _distributed("dask")
    import logging

    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # this machine's cluster: nothing listens beyond it
        dashboard_address="127.0.0.1:0",  # a free port: a fixed one may be taken by another cluster
        silence_logs=logging.ERROR,
    )
    try:
        client = distributed.Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return DaskRunner(client, "the local Dask cluster", cluster)
