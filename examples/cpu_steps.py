"""Steps that compute: the same four steps on the thread pool and on a process pool.

On threads, pure-Python steps take turns on one core (the GIL); with ``executor="process"``
each runs in a worker process, on a core of its own. Steps defined in this script travel to
the workers by value (cloudpickle), so it needs no ``if __name__ == "__main__"`` guard, and
the timeout really stops a step that overruns: its worker is killed.

Run: ``python examples/cpu_steps.py``; it prints the time of each run, then
``threads: 1 process, process pool: 2 processes``.
"""

from __future__ import annotations

import os
import time

from dotflow import Config, Context, DotFlow, action


@action(timeout=60)
def crunch(initial_context: Context) -> list[int]:
    """A pure-Python loop; returns its checksum and the id of the process it ran in."""
    total = 0
    for i in range(initial_context.storage):
        total += i * i % 7
    return [total, os.getpid()]


flow = DotFlow(config=Config())
for _ in range(4):
    flow.task.add(crunch, initial_context=1_500_000)

seen = {}
for executor in ("thread", "process"):
    begin = time.perf_counter()
    flow.start(mode="parallel", executor=executor, max_workers=2)
    elapsed = time.perf_counter() - begin
    results = flow.result_storage()
    assert len({total for total, _ in results}) == 1, "every step computes the same checksum"
    seen[executor] = len({pid for _, pid in results})
    print(f"{executor:>7}: {elapsed:.2f} s")

print(f"threads: {seen['thread']} process, process pool: {seen['process']} processes")
