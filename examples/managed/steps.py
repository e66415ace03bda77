"""The user's code in a managed container: plain steps, with no server wiring at all."""

from __future__ import annotations

from dotflow import action


@action
def step_one(initial_context):
    print(f"step_one got {initial_context.storage!r}")
    return {"rows": 3}


@action
def step_fails():
    raise RuntimeError("the source system is down")
