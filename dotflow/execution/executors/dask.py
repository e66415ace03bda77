"""Dask: ``executor="tcp://host:8786"`` submits each step call to that scheduler's cluster, and
``executor="dask"`` starts a local cluster sized to the machine for the run.

``distributed`` (the ``dotflow[dask]`` extra) is imported here, only when Dask is chosen.
Each call is ``remote.execute(request)`` under a key named after the step (so the Dask
dashboard shows which step runs where), ``pure=False`` (a retry is a new call, never a cached
one) and no Dask-side retries: the run's own retry policy decides. The driver keeps
statuses, storage and reporting, so workers need dotflow and the steps' own modules
installed, and nothing else: no storage credentials, no access to the reporting server.

A step that outlives its timeout is cancelled on the cluster; one that already runs cannot
be stopped by Dask and runs on in its worker thread. A worker that dies mid-call is replaced
by Dask, which runs the call again elsewhere up to ``distributed.scheduler.allowed-failures``
times, then gives up with KilledWorker: that fails the attempt with WorkerDiedError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.errors import ExecutorError, MissingExtraError
from dotflow.execution.executors.futures import TIMEOUTS, FuturesRunner
from dotflow.naming import step_name

if TYPE_CHECKING:
    from concurrent.futures import Future

    from dotflow.live import TaskContext
    from dotflow.task import Task

CONNECT_TIMEOUT = 10  # seconds to reach a scheduler before the run is refused
_PIP = "pip install 'dotflow[dask]'"


def _distributed(value: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingExtraError(f"executor={value!r} needs Dask's distributed package: {_PIP}") from None
    return distributed


class DaskRunner(FuturesRunner):
    """Step calls on the cluster behind ``client``; closes the client (and ``cluster``, when the
    run started it) at the end of the run."""

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

    def submit(self, request: bytes, task: Task, context: TaskContext | None) -> Future[bytes]:
        from uuid import uuid4

        from dotflow.execution.executors.remote import execute

        key = f"dotflow-{step_name(task.step)}-{uuid4().hex}"
        return self.client.submit(execute, request, key=key, pure=False, retries=0)  # type: ignore[no-any-return]

    def lost(self, exc: BaseException, name: str) -> Exception:
        from dotflow.errors import WorkerDiedError
        from dotflow.redact import describe

        if type(exc).__name__ == "KilledWorker":
            return WorkerDiedError(f"the Dask workers running step {name} died ({describe(exc)})")
        return WorkerDiedError(f"{self.label} lost step {name} ({describe(exc)})")

    def close(self) -> None:
        if not self.owned:
            return
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
