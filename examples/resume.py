"""Checkpoint and resume across processes. Run it twice:

    python examples/resume.py          # runs both steps, stores results in .output/
    python examples/resume.py          # skips them: the results come from the checkpoints

Task ids depend only on the workflow definition, so the second process finds the first's
checkpoints. Delete .output/ to start over.
"""

from __future__ import annotations

import time

from dotflow import Config, DotFlow, action
from dotflow.providers import StorageFile


@action
def expensive():
    print("  expensive: computing...")
    time.sleep(0.2)
    return {"answer": 42}


@action
def use(previous_context):
    return previous_context.storage["answer"] + 1


if __name__ == "__main__":
    flow = DotFlow(config=Config(storage=StorageFile(".output")), workflow_id="resume-example")
    flow.task.add(step=expensive).add(step=use)
    flow.start(resume=True)
    print(flow.result_storage())
