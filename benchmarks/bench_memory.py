"""Memory growth per task: build plus run of N no-op ``@action`` tasks, bytes per task.

Usage: python bench_memory.py [-t 10000]

Two figures, both with the workflow still referenced after the run (its tasks and
results are what a caller holds on to):

* tracemalloc: traced memory after the run minus before it, over N. Measured in a
  second pass, so tracemalloc's own bookkeeping is not in the RSS figure.
* RSS: resident set (``/proc/self/statm``) after the run minus before, over N. Measured
  first, in a process that has only done a small warm-up run, so freed memory that the
  allocator keeps cannot hide the growth.

Same environment as bench_overhead.py: empty temp dir, no DOTFLOW_*/SERVER_*/WORKFLOW_ID,
default logging. Last line: JSON ``{"tracemalloc_b_per_task", "rss_b_per_task", ...}``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc

from _common import check_installed, dotflow_version, emit, scrub_environ, temp_cwd

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def build_and_run(tasks: int):
    from dotflow import DotFlow, action

    @action
    def noop():
        pass

    flow = DotFlow()
    for _ in range(tasks):
        flow.task.add(step=noop)
    flow.start()
    if len(flow.result_task()) != tasks:
        sys.exit(f"expected {tasks} tasks, got {len(flow.result_task())}")
    return flow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-t", "--tasks", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=0, help="also print the N biggest allocation sites (by line)")
    args = parser.parse_args()
    tasks = max(1, min(args.tasks, 200_000))
    scrub_environ()
    with temp_cwd():
        check_installed()
        build_and_run(20)  # warm-up: lazy imports, caches, logging handlers
        gc.collect()

        before = rss()
        flow = build_and_run(tasks)
        gc.collect()
        rss_per_task = (rss() - before) / tasks
        del flow
        gc.collect()

        tracemalloc.start(1)
        snapshot = tracemalloc.take_snapshot() if args.top else None
        before = tracemalloc.get_traced_memory()[0]
        flow = build_and_run(tasks)
        gc.collect()
        traced_per_task = (tracemalloc.get_traced_memory()[0] - before) / tasks
        peak_per_task = (tracemalloc.get_traced_memory()[1] - before) / tasks
        if snapshot is not None:
            filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
            diff = (
                tracemalloc.take_snapshot().filter_traces(filters).compare_to(snapshot.filter_traces(filters), "lineno")
            )
            for stat in diff[: max(1, min(args.top, 100))]:
                frame = stat.traceback[0]
                print(
                    f"{stat.size_diff / tasks:8.1f} B/task {stat.count_diff / tasks:6.2f} blocks/task  "
                    f"{frame.filename}:{frame.lineno}"
                )
        tracemalloc.stop()
        del flow

    print(
        f"dotflow {dotflow_version()}: {tasks} tasks, tracemalloc {traced_per_task:.0f} B/task "
        f"(peak {peak_per_task:.0f}), RSS {rss_per_task:.0f} B/task"
    )
    emit(
        {
            "figure": "memory",
            "version": dotflow_version(),
            "tasks": tasks,
            "tracemalloc_b_per_task": round(traced_per_task, 1),
            "tracemalloc_peak_b_per_task": round(peak_per_task, 1),
            "rss_b_per_task": round(rss_per_task, 1),
        }
    )


if __name__ == "__main__":
    main()
