"""Helpers shared by the benchmark scripts; standard library only, so they run under either venv."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")

NOOP_MODULE = "from dotflow import action\n\n\n@action\ndef noop():\n    pass\n"


def load_fault_server() -> ModuleType:
    """``tests/fault_server.py`` (standard library only) as a module, imported from the repository's
    tests folder: its ``FaultServer`` runs a fault mode in this process, and its file is the server
    a benchmark may run as a child."""
    sys.path.insert(0, TESTS)
    try:
        import fault_server
    except ImportError as exc:
        sys.exit(f"cannot import fault_server from {TESTS}: {exc}")
    finally:
        sys.path.remove(TESTS)
    return fault_server


def clean_env(**extra: str) -> dict[str, str]:
    """PATH and HOME only (no DOTFLOW_*, WORKFLOW_ID, SERVER_*, PYTHON*), plus ``extra``."""
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env.update(extra)
    return env


def scrub_environ() -> None:
    """Drop the variables either dotflow reads, so an in-process run sees no profile or server."""
    for key in list(os.environ):
        if key.startswith(("DOTFLOW_", "SERVER_")) or key == "WORKFLOW_ID":
            del os.environ[key]


@contextmanager
def temp_cwd() -> Iterator[str]:
    """chdir into a fresh empty directory (no dotflow.toml), and back."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="dotflow-bench-") as tmp:
        os.chdir(tmp)
        try:
            yield tmp
        finally:
            os.chdir(old)


def median(values: list[float]) -> float:
    return statistics.median(values)


def dotflow_version() -> str:
    from importlib.metadata import version

    return version("dotflow")


def check_installed() -> None:
    """Refuse to measure a dotflow imported from a source tree instead of the venv's site-packages."""
    import dotflow

    path = os.path.realpath(dotflow.__file__)
    if os.path.realpath(sys.prefix) not in path:
        sys.exit(f"dotflow imported from {path}, not from this venv ({sys.prefix}); run from another cwd")


def emit(result: dict[str, Any]) -> None:
    """The machine-readable result: one JSON object on the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=True), flush=True)


def watched_run(
    cmd: list[str],
    *,
    cwd: str,
    env: dict[str, str],
    limit: float = 60.0,
    stdout: Any = subprocess.DEVNULL,
    own_group: bool = False,
) -> tuple[float, int, bool]:
    """Wall seconds from spawn to exit of one child process, its exit code, and whether the watchdog killed it.

    stderr is discarded; stdout goes to ``stdout`` (discarded by default). Not
    ``subprocess.run(timeout=...)``: with a timeout, ``wait()`` polls with sleeps of up to
    50 ms, which quantizes the measurement. A watchdog timer kills a child still running
    after ``limit`` seconds instead. ``own_group``: the child gets its own process group,
    and the whole group is killed (by the watchdog, and again once the child has exited),
    so workers it forked cannot outlive it (dotflow 1.0.1's parallel mode leaves some).
    """
    killed = threading.Event()
    begin = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL, start_new_session=own_group
    )

    def kill_group() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group id is the child's pid
        except ProcessLookupError:
            pass  # nothing left in it

    def kill() -> None:
        killed.set()
        if own_group:
            kill_group()
        else:
            proc.kill()

    watchdog = threading.Timer(limit, kill)
    watchdog.start()
    try:
        code = proc.wait()
    finally:
        watchdog.cancel()
        elapsed = time.perf_counter() - begin
        if own_group:
            kill_group()
    return elapsed, code, killed.is_set()


def timed_run(cmd: list[str], *, cwd: str, env: dict[str, str], limit: float = 60.0) -> float:
    """Wall seconds of one child process, output discarded; exits if it fails (or is killed after ``limit`` s)."""
    elapsed, code, _ = watched_run(cmd, cwd=cwd, env=env, limit=limit)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} exited {code} (killed after {limit:g} s if negative)")
    return elapsed
