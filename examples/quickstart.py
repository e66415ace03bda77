"""Quickstart: a three-step pipeline. Run it with

    dotflow start --workflow examples.quickstart:build

or as a plain script: ``python examples/quickstart.py``.
"""

from __future__ import annotations

from dotflow import DotFlow, action

ORDERS = [
    {"id": 1, "customer": "ada", "total": 120.0},
    {"id": 2, "customer": "grace", "total": 75.5},
    {"id": 3, "customer": "ada", "total": 42.25},
]


@action
def extract(initial_context):
    """Read the orders given as the workflow's input."""
    orders = initial_context.storage
    print(f"extract: {len(orders)} orders")
    return orders


@action(retry=3, retry_delay=0.1)
def transform(previous_context):
    """Total the orders per customer."""
    totals: dict[str, float] = {}
    for order in previous_context.storage:
        totals[order["customer"]] = totals.get(order["customer"], 0.0) + order["total"]
    print(f"transform: {totals}")
    return totals


@action
def load(previous_context):
    """Print the report; its return value is the workflow's last result."""
    report = [f"{name}: {total:.2f}" for name, total in sorted(previous_context.storage.items())]
    for line in report:
        print(f"load: {line}")
    return report


def build() -> DotFlow:
    """The factory ``dotflow start --workflow`` calls: a ready DotFlow."""
    flow = DotFlow(name="quickstart")
    flow.task.add(step=extract, initial_context=ORDERS)
    flow.task.add(step=transform)
    flow.task.add(step=load)
    return flow


if __name__ == "__main__":
    flow = build()
    flow.start()
    print(flow.result_storage()[-1])
