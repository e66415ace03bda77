"""Steps for the executor tests, at module level so that worker processes import them by name.

Imported as ``import executor_steps`` (tests/ is on ``sys.path``, in the driver and so in every
worker it starts). It imports only dotflow and the standard library: a worker importing it
must stay cheap. Steps report where they ran by returning ``os.getpid()``; the ones that
must meet or leave a trace across processes use files under a folder given in their input.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from dotflow import Context, action

WAIT = 20.0  # bound of every wait for another process; a passing test never waits this long


@action
def pid() -> int:
    return os.getpid()


@action
def one() -> int:
    return 1


@action
def add_one(previous_context: Context) -> int:
    return previous_context.storage + 1


@action
def echo(initial_context: Context) -> Any:
    return initial_context.storage


@action(retry=3, retry_delay=0)
def fails_three_times() -> None:
    raise ValueError("fails on purpose")


class NeedsTwoArguments(Exception):
    """An exception that pickles but cannot be re-created from its args (``__init__`` takes two)."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"{left}+{right}")


@action(retry_delay=0)
def raises_custom() -> None:
    raise NeedsTwoArguments("a", "b")


@action(retry_delay=0)
def asserts() -> None:
    assert False, "checked in a worker"


@action
def exits() -> None:
    sys.exit(3)


@action(retry_delay=0)
def returns_a_generator() -> Any:
    return (n for n in range(3))


def arrive(folder: str, name: str, parties: int) -> None:
    """A barrier across processes: leave a file, then wait (bounded) until ``parties`` files exist."""
    Path(folder, f"{name}.arrived").write_text(str(os.getpid()))
    deadline = time.monotonic() + WAIT
    while len(list(Path(folder).glob("*.arrived"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(Path(folder).glob('*.arrived')))} of {parties} arrived")
        time.sleep(0.01)


@action
def meet(initial_context: Context) -> int:
    """Waits until every party (``initial_context.storage`` is ``[folder, name, parties]``) arrived."""
    folder, name, parties = initial_context.storage
    arrive(folder, name, parties)
    return os.getpid()


@action(timeout=0.5)
def spins(initial_context: Context) -> None:
    """Writes its pid to ``<folder>/spinner``, then burns CPU forever (until its worker is killed)."""
    Path(initial_context.storage, "spinner").write_text(str(os.getpid()))
    while True:
        pass


@action
def blocks(initial_context: Context) -> str:
    """Writes its pid to ``<folder>/blocked``, then sleeps far longer than any test runs."""
    Path(initial_context.storage, "blocked").write_text(str(os.getpid()))
    time.sleep(WAIT * 3)
    Path(initial_context.storage, "woke").write_text("the step was not stopped")
    return "late"


@action(retry=2, retry_delay=0)
def dies_once(initial_context: Context) -> int:
    """Kills its own process on the first attempt (marked by a file), returns its pid on the second."""
    marker = Path(initial_context.storage, "died")
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@action(retry_delay=0)
def dies() -> None:
    os._exit(7)


@action
class Chain:
    """A class step: its methods run in order, each getting the previous one's context."""

    @action
    def first(self) -> int:
        return 10

    @action
    def second(self, previous_context: Context) -> int:
        return previous_context.storage + 1


@action
class SlowMethod:
    """A class step whose method has its own timeout, which abandons a thread in the worker."""

    @action(timeout=0.3)
    def waits(self) -> None:
        time.sleep(5)


@action
async def coroutine_step(initial_context: Context) -> list[Any]:
    await asyncio.sleep(0.01)
    return ["async", initial_context.storage, os.getpid()]


@action
def writes_pid(initial_context: Context) -> int:
    """Writes its pid to the file ``initial_context.storage`` (a path) and returns it."""
    Path(initial_context.storage).write_text(str(os.getpid()))
    return os.getpid()


def burn(seconds: float) -> float:
    """Spins the CPU (holding the GIL) for about ``seconds`` of this process's CPU time."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.process_time() - start


@action(timeout=0.3)
def sleeps_past_its_timeout() -> str:
    """Sleeps 1.5 s against a 0.3 s timeout: abandoned where the call cannot be stopped, briefly."""
    time.sleep(1.5)
    return "too late"


def build_pid_writers() -> Any:
    """A ``--workflow`` factory: a plain ``DotFlow()`` (the profile's executor) of three steps that
    each write their pid to ``$DOTFLOW_TEST_OUT/<n>``."""
    from dotflow import DotFlow

    flow = DotFlow()
    for n in range(3):
        flow.task.add(writes_pid, initial_context=os.path.join(os.environ["DOTFLOW_TEST_OUT"], str(n)))
    return flow


@action
def appends_a_line(initial_context: Context) -> int:
    """Appends one line to the file ``initial_context.storage`` (a path): counts the calls made."""
    with open(initial_context.storage, "a") as out:
        out.write(f"{os.getpid()}\n")
    return os.getpid()


@action(timeout=WAIT * 3)
def pid_in_time() -> int:
    """``pid`` with a timeout: a run that waits for a replaced worker stays bounded."""
    return os.getpid()


@action(retry_delay=0)
def fails_when_told(initial_context: Context) -> int:
    """Leaves a ``ran-<n>-*`` file in ``folder`` each time it runs; fails while ``fail-<n>`` exists."""
    n, folder = initial_context.storage["n"], Path(initial_context.storage["folder"])
    (folder / f"ran-{n}-{os.getpid()}-{time.monotonic_ns()}").touch()
    if (folder / f"fail-{n}").exists():
        raise RuntimeError(f"task {n} is down")
    return int(n) * 10
