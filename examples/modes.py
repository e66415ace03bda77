"""The four execution modes, side by side: ``python examples/modes.py``."""

from __future__ import annotations

import threading
import time

from dotflow import Config, DotFlow, action


@action
def first(initial_context):
    return f"{initial_context.storage}:1"


@action
def second(previous_context):
    return f"{previous_context.storage}:2"


@action
def slow(initial_context):
    time.sleep(0.1)
    return f"{initial_context.storage} on {threading.current_thread().name}"


def sequential() -> list:
    flow = DotFlow(config=Config())
    flow.task.add(step=first, initial_context="seq").add(step=second)
    flow.start(mode="sequential")
    return flow.result_storage()  # ['seq:1', 'seq:1:2']


def background() -> list:
    flow = DotFlow(config=Config())
    flow.task.add(step=slow, initial_context="bg")
    manager = flow.start(mode="background")  # returns at once
    manager.wait(timeout=5)
    return flow.result_storage()


def parallel() -> list:
    flow = DotFlow(config=Config())
    for n in range(4):
        flow.task.add(step=slow, initial_context=f"task {n}")
    flow.start(mode="parallel", max_workers=4)  # about 0.1 s, not 0.4 s
    return flow.result_storage()


def sequential_group() -> list:
    flow = DotFlow(config=Config())
    flow.task.add(step=first, initial_context="a", group_name="a").add(step=second, group_name="a")
    flow.task.add(step=first, initial_context="b", group_name="b").add(step=second, group_name="b")
    flow.start(mode="sequential_group")  # groups a and b at once, in order inside each
    return flow.result_storage()  # ['a:1', 'a:1:2', 'b:1', 'b:1:2']


if __name__ == "__main__":
    for run in (sequential, background, parallel, sequential_group):
        print(f"{run.__name__:>16}: {run()}")
