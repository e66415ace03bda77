"""Executors: CPU-bound and no-op workflows on threads, on a process pool, and 1.0.1's fork per task.

Usage: python bench_executors.py [--scenario NAME ...] [-r 5] [--cpu-loops N]

Runs in the interpreter (and so the dotflow) that runs it, in an empty temp dir with the
DOTFLOW_*, SERVER_* and WORKFLOW_ID variables removed, default logging. Scenarios:

* ``cpu``: 4 CPU-bound steps (a pure-Python loop of ``--cpu-loops`` iterations each, defined
  in this script's ``__main__``, so the process pool gets them by value through cloudpickle),
  run ``sequential``, ``parallel`` with the default executor (1.0.1: a forked process per
  task; this repo: the thread pool) and, where ``start()`` takes ``executor=``, ``parallel``
  with ``executor="process"``. Wall seconds of build plus ``start()``, median of ``-r`` runs,
  the variants interleaved run by run.
* ``noop``: 50 no-op tasks in ``parallel`` mode, ms per task, pool start-up included (this
  repo's process pool lives for one ``start()``: its workers are forked for the run and ended
  after it), median of ``-r`` runs after one warm-up run; plus ``fresh``: the same run as the
  only run of a fresh process (``python -c``, timed inside from before ``DotFlow()`` to after
  ``start()``), which also pays for starting the pool's helper process and importing
  cloudpickle, median of ``2 * -r + 1`` processes.
* ``threads``: the thread pool's own figures, which must not move: 500 no-op tasks in
  ``parallel`` mode (µs per task) and 4 steps sleeping 0.2 s each in ``parallel`` mode (s).
  This repo only: under 1.0.1 the same calls fork a process per task, and 500 of them deadlock.
* ``small``: build plus run of 100 no-op sequential tasks in a fresh process (``python -c``,
  after ``from dotflow import DotFlow, action``, so the import itself is not counted but
  everything the first ``DotFlow()`` loads and resolves is), ms, median of ``2 * -r + 1``
  processes.

* ``shape`` (asked for by name, this repo only): where the CPU-bound figure's time goes. The
  same 4 steps, interleaved run by run: 4 processes forked at once (what 1.0.1 does, with no
  dotflow), the standard library's ``ProcessPoolExecutor(2)``, and this repo's process pool
  with ``max_workers`` 2 (the default here) and 4; plus, from the steps' own clocks in the
  default pool, the time from ``start()`` to the first step and between a step's end and the
  next step's start on the same worker. Medians of ``-r`` runs.

Last line: JSON ``{"figure": "executors", "version", "cores", "scenarios": {...}}``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import time
from typing import Any, Callable

from _common import check_installed, clean_env, dotflow_version, emit, median, scrub_environ, temp_cwd

SCENARIOS = ("cpu", "noop", "threads", "small", "shape")
DEFAULT = ("cpu", "noop", "threads", "small")  # "shape" runs when asked for
CPU_LOOPS = 6_000_000  # about 0.35 s of one core here per step

NOOP_CHILD = """\
import sys, time
from dotflow import DotFlow, action


@action
def noop():
    pass


begin = time.perf_counter()
flow = DotFlow()
for _ in range(50):
    flow.task.add(step=noop)
flow.start(**START)
elapsed = time.perf_counter() - begin
assert [t.status for t in flow.result_task()] == ["Completed"] * 50, "not every task completed"
print(elapsed)
"""

SMALL_CHILD = """\
import sys, time
from dotflow import DotFlow, action


@action
def noop():
    pass


begin = time.perf_counter()
flow = DotFlow()
for _ in range(100):
    flow.task.add(step=noop)
flow.start()
elapsed = time.perf_counter() - begin
assert [t.status for t in flow.result_task()] == ["Completed"] * 100, "not every task completed"
print(elapsed)
"""


def burn(loops: int) -> int:
    """CPU-bound work: a pure-Python loop that holds the GIL throughout."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def takes_executor() -> bool:
    from dotflow import DotFlow

    return "executor" in inspect.signature(DotFlow.start).parameters


def run_flow(steps: list[Callable[..., Any]], **start: Any) -> float:
    """Seconds to build and run a workflow of ``steps``; exits unless every task completed."""
    from dotflow import DotFlow

    begin = time.perf_counter()
    flow = DotFlow()
    for step in steps:
        flow.task.add(step=step)
    flow.start(**start)
    elapsed = time.perf_counter() - begin
    statuses = {str(getattr(t.status, "value", t.status)) for t in flow.result_task()}
    if len(flow.result_task()) != len(steps) or statuses != {"Completed"}:
        sys.exit(f"{start}: not every task completed: statuses {statuses}")
    return elapsed


def variants(process: bool) -> list[tuple[str, dict[str, Any]]]:
    found = [("parallel", {"mode": "parallel"})]
    if process:
        found.append(("parallel-process", {"mode": "parallel", "executor": "process"}))
    return found


def scenario_cpu(repeat: int, loops: int, process: bool) -> dict[str, Any]:
    from dotflow import action

    @action
    def cpu() -> int:
        return burn(loops)

    chosen = [("sequential", {"mode": "sequential"}), *variants(process)]
    runs: dict[str, list[float]] = {name: [] for name, _ in chosen}
    for _, start in chosen:
        run_flow([cpu], **start)  # warm-up: imports, a first pool
    for _ in range(repeat):
        for name, start in chosen:  # interleaved, so the machine's slow spells hit every variant alike
            runs[name].append(run_flow([cpu] * 4, **start))
    return {name: {"s": round(median(v), 4), "runs": [round(x, 4) for x in v]} for name, v in runs.items()}


def fresh_runs(code: str, cwd: str, runs: int) -> list[float]:
    """Seconds printed by ``runs`` fresh ``python -c code`` processes (after one that warms the .pyc files)."""
    command = [sys.executable, "-c", code]
    subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, check=True, timeout=60)
    found = []
    for _ in range(runs):
        done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            sys.exit(f"child failed:\n{done.stderr[-2000:]}")
        found.append(float(done.stdout.strip().splitlines()[-1]))
    return found


def scenario_noop(repeat: int, process: bool, cwd: str) -> dict[str, Any]:
    from dotflow import action

    @action
    def noop() -> None:
        pass

    tasks = 50
    result: dict[str, Any] = {}
    for name, start in variants(process):
        run_flow([noop] * tasks, **start)  # warm-up
        values = [run_flow([noop] * tasks, **start) for _ in range(repeat)]
        fresh = fresh_runs(f"START = {start!r}\n" + NOOP_CHILD, cwd, 2 * repeat + 1)
        result[name] = {
            "ms_per_task": round(median(values) / tasks * 1000, 3),
            "runs_ms_per_task": [round(v / tasks * 1000, 3) for v in values],
            "fresh_ms_per_task": round(median(fresh) / tasks * 1000, 3),
            "runs_fresh_ms_per_task": [round(v / tasks * 1000, 3) for v in fresh],
        }
    return result


def _burn_once(loops: int) -> None:
    burn(loops)


def scenario_shape(repeat: int, loops: int) -> dict[str, Any]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from dotflow import DotFlow, action

    fork = multiprocessing.get_context("fork")

    @action
    def timed() -> list[float]:
        began = time.time()
        burn(loops)
        return [began, time.time(), float(os.getpid())]

    def forked() -> float:
        begin = time.perf_counter()
        children = [fork.Process(target=_burn_once, args=(loops,)) for _ in range(4)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        return time.perf_counter() - begin

    def pooled() -> float:
        begin = time.perf_counter()
        with ProcessPoolExecutor(2, mp_context=fork) as pool:
            list(pool.map(_burn_once, [loops] * 4))
        return time.perf_counter() - begin

    gaps: dict[str, list[float]] = {"first_step_ms": [], "between_steps_ms": []}

    def dotflow_pool(workers: int) -> float:
        begin_wall, begin = time.time(), time.perf_counter()
        flow = DotFlow()
        for _ in range(4):
            flow.task.add(step=timed)
        flow.start(mode="parallel", executor="process", max_workers=workers)
        elapsed = time.perf_counter() - begin
        if workers == 2:
            spans = [task.current_context.storage for task in flow.result_task()]
            gaps["first_step_ms"].append((min(s[0] for s in spans) - begin_wall) * 1000)
            for pid in {s[2] for s in spans}:
                mine = sorted(s for s in spans if s[2] == pid)
                gaps["between_steps_ms"] += [(b[0] - a[1]) * 1000 for a, b in zip(mine, mine[1:])]
        return elapsed

    chosen: list[tuple[str, Callable[[], float]]] = [
        ("fork-4-processes", forked),
        ("stdlib-pool-2", pooled),
        ("process-max_workers-2", lambda: dotflow_pool(2)),
        ("process-max_workers-4", lambda: dotflow_pool(4)),
    ]
    dotflow_pool(2)  # warm-up: the pool's helper process
    runs: dict[str, list[float]] = {name: [] for name, _ in chosen}
    for _ in range(repeat):
        for name, run in chosen:
            runs[name].append(run())
    result: dict[str, Any] = {
        name: {"s": round(median(v), 4), "runs": [round(x, 4) for x in v]} for name, v in runs.items()
    }
    result.update({name: round(median(v), 2) for name, v in gaps.items() if v})
    return result


def scenario_threads(repeat: int) -> dict[str, Any]:
    from dotflow import action

    @action
    def noop() -> None:
        pass

    @action
    def io() -> None:
        time.sleep(0.2)

    tasks = 500
    run_flow([noop] * 10, mode="parallel")  # warm-up
    noops = [run_flow([noop] * tasks, mode="parallel") / tasks * 1e6 for _ in range(repeat)]
    sleeps = [run_flow([io] * 4, mode="parallel") for _ in range(repeat)]
    return {
        "noop500_us_per_task": round(median(noops), 2),
        "runs_us_per_task": [round(v, 2) for v in noops],
        "sleep4_s": round(median(sleeps), 4),
        "runs_sleep4_s": [round(v, 4) for v in sleeps],
    }


def scenario_small(repeat: int, cwd: str) -> dict[str, Any]:
    runs = [v * 1000 for v in fresh_runs(SMALL_CHILD, cwd, 2 * repeat + 1)]
    return {"ms": round(median(runs), 3), "runs_ms": [round(v, 3) for v in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    parser.add_argument("-r", "--repeat", type=int, default=5)
    parser.add_argument("--cpu-loops", type=int, default=CPU_LOOPS)
    args = parser.parse_args()
    repeat = max(1, min(args.repeat, 30))
    loops = max(1000, min(args.cpu_loops, 100_000_000))
    chosen = args.scenario or list(DEFAULT)
    scrub_environ()
    results: dict[str, Any] = {}
    with temp_cwd() as tmp:
        check_installed()
        process = takes_executor()
        version = dotflow_version()
        if "cpu" in chosen:
            results["cpu"] = res = scenario_cpu(repeat, loops, process)
            for name, row in res.items():
                print(f"dotflow {version}: cpu, 4 steps x {loops:,} loops, {name}: {row['s']:.3f} s")
        if "noop" in chosen:
            results["noop"] = res = scenario_noop(repeat, process, tmp)
            for name, row in res.items():
                print(
                    f"dotflow {version}: noop, 50 tasks, {name}: {row['ms_per_task']:.3f} ms/task "
                    f"(the only run of a fresh process: {row['fresh_ms_per_task']:.3f})"
                )
        if "threads" in chosen and not version.startswith("1."):
            results["threads"] = res = scenario_threads(repeat)
            print(
                f"dotflow {version}: threads, parallel: 500 no-op tasks {res['noop500_us_per_task']:.1f} µs/task, "
                f"4 x sleep(0.2) {res['sleep4_s']:.3f} s"
            )
        if "shape" in chosen and process:
            results["shape"] = res = scenario_shape(repeat, loops)
            for name, row in res.items():
                shown = f"{row['s']:.3f} s" if isinstance(row, dict) else f"{row:.2f} ms (median)"
                print(f"dotflow {version}: shape, 4 CPU-bound steps, {name}: {shown}")
        if "small" in chosen:
            results["small"] = res = scenario_small(repeat, tmp)
            print(f"dotflow {version}: small, 100 no-op tasks in a fresh process: {res['ms']:.2f} ms")
    emit(
        {
            "figure": "executors",
            "version": version,
            "cores": os.cpu_count(),
            "cpu_loops": loops,
            "scenarios": results,
        }
    )


if __name__ == "__main__":
    main()
