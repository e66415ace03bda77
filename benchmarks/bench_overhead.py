"""Sequential per-task overhead: build plus run of N no-op ``@action`` tasks, µs per task.

Usage: python bench_overhead.py [-t 2000] [-r 7]

Runs in the interpreter (and so the dotflow) that runs it. Logging is left as the
library sets it up by default (this script configures none); stderr is wherever the
caller sends it. ``DotFlow()`` gets no config: it runs in an empty temp dir with the
DOTFLOW_*, SERVER_* and WORKFLOW_ID variables removed, so it resolves the default
profile. One small warm-up run comes first, so lazy imports are not counted.
Last line: JSON ``{"us_per_task": median, "runs_us_per_task": [...], ...}``.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import check_installed, dotflow_version, emit, median, scrub_environ, temp_cwd


def run_once(tasks: int) -> float:
    """Seconds to build and run a ``tasks``-step sequential workflow."""
    from dotflow import DotFlow, action

    @action
    def noop():
        pass

    begin = time.perf_counter()
    flow = DotFlow()
    for _ in range(tasks):
        flow.task.add(step=noop)
    flow.start()
    elapsed = time.perf_counter() - begin
    statuses = {str(getattr(t.status, "value", t.status)) for t in flow.result_task()}
    if len(flow.result_task()) != tasks or statuses != {"Completed"}:
        sys.exit(f"run did not complete every task: {len(flow.result_task())} tasks, statuses {statuses}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-t", "--tasks", type=int, default=2000)
    parser.add_argument("-r", "--repeat", type=int, default=7)
    args = parser.parse_args()
    tasks = max(1, min(args.tasks, 100_000))
    repeat = max(1, min(args.repeat, 50))
    scrub_environ()
    with temp_cwd():
        check_installed()
        run_once(20)  # warm-up
        runs = [run_once(tasks) / tasks * 1e6 for _ in range(repeat)]
    result = median(runs)
    print(
        f"dotflow {dotflow_version()}: {tasks} tasks x {repeat} runs, median {result:.1f} µs/task "
        f"(runs: {', '.join(f'{r:.1f}' for r in runs)})"
    )
    emit(
        {
            "figure": "overhead",
            "version": dotflow_version(),
            "tasks": tasks,
            "repeat": repeat,
            "us_per_task": round(result, 2),
            "runs_us_per_task": [round(r, 2) for r in runs],
        }
    )


if __name__ == "__main__":
    main()
