"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker`` started by their own CLI on 127.0.0.1.

The scheduler fails a call at once when its worker dies (``allowed-failures`` 0); the worker is
one nanny-managed process with one thread, which the nanny replaces when it dies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine_support import REPO

TESTS = Path(__file__).resolve().parent
START_TIMEOUT = 60.0  # seconds for the scheduler and the worker to come up on a loaded machine


class Cluster:
    """The running cluster: its address, a client for checks, and the worker's process id."""

    def __init__(self, address: str, client: Any, worker: subprocess.Popen[bytes]) -> None:
        self.address = address
        self.client = client
        self.worker = worker

    def worker_pid(self) -> int:
        """The pid of the (current) worker process, waiting (bounded) for one to be connected."""
        self.client.wait_for_workers(1, timeout=START_TIMEOUT)
        pids = list(self.client.run(os.getpid).values())
        assert len(pids) == 1
        return int(pids[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the scheduler exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no scheduler on port {port} after {START_TIMEOUT:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


@contextmanager
def running_cluster(logs: Path) -> Iterator[Cluster]:
    """A scheduler and a worker started as ``python -m dask scheduler|worker`` subprocesses, logging into ``logs``."""
    import distributed

    env = {k: v for k, v in os.environ.items() if not k.startswith("DOTFLOW_")}
    # the worker imports dotflow and the steps' module (tests/executor_steps.py) by name
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    with open(logs / "scheduler.log", "wb") as out:
        scheduler = subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=logs,
        )
    worker: subprocess.Popen[bytes] | None = None
    client = None
    try:
        wait_for_port(port, scheduler)
        with open(logs / "worker.log", "wb") as out:
            worker = subprocess.Popen(
                [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--death-timeout", "60"],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=logs,
            )
        client = distributed.Client(address, timeout=START_TIMEOUT, set_as_default=False)
        client.wait_for_workers(1, timeout=START_TIMEOUT)
        yield Cluster(address, client, worker)
    finally:
        if client is not None:
            client.close()
        if worker is not None:
            _stop(worker)
        _stop(scheduler)
