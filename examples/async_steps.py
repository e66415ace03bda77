"""``async def`` steps run on an event loop, also when the caller already runs one.
``python examples/async_steps.py``."""

from __future__ import annotations

import asyncio

from dotflow import Config, DotFlow, action


@action(timeout=5)
async def fetch(initial_context):
    await asyncio.sleep(0.01)
    return {"url": initial_context.storage, "status": 200}


if __name__ == "__main__":
    flow = DotFlow(config=Config())
    flow.task.add(step=fetch, initial_context="https://example.invalid/")
    flow.start()
    print(flow.result_storage())
