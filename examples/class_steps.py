"""A class step: its @action methods run in source order, each getting the previous one's
context. ``python examples/class_steps.py``."""

from __future__ import annotations

from dotflow import Config, DotFlow, action


@action
class Etl:
    def __init__(self, initial_context):
        self.rows = initial_context.storage

    @action
    def extract(self):
        return len(self.rows)

    @action
    def double(self, previous_context):
        return previous_context.storage * 2


if __name__ == "__main__":
    flow = DotFlow(config=Config())
    flow.task.add(step=Etl, initial_context=[1, 2, 3])
    flow.start()
    print([context.storage for context in flow.result_storage()[0]])  # [3, 6]
