"""Retries with backoff, timeouts, callbacks and keep_going: ``python examples/retry_timeout.py``."""

from __future__ import annotations

import time

from dotflow import Config, DotFlow, TypeStatus, action

attempts = {"flaky": 0}


@action(retry=3, retry_delay=0.05, backoff=True)
def flaky():
    """Fails twice, then succeeds: three attempts in all."""
    attempts["flaky"] += 1
    if attempts["flaky"] < 3:
        raise ConnectionError(f"attempt {attempts['flaky']} failed")
    return "connected"


@action(timeout=0.2)
def too_slow():
    """Runs past its timeout: the task fails and is not retried."""
    time.sleep(1)


@action
def after(previous_context):
    return "ran after a failure, thanks to keep_going"


def report(task):
    print(f"  task {task.task_id}: {task.status} after {task.retry_count} retries")


def main() -> None:
    flow = DotFlow(config=Config())
    flow.task.add(step=flaky, callback=report)
    flow.task.add(step=too_slow, callback=report)
    flow.task.add(step=after, callback=report)
    flow.start(keep_going=True, on_failure=lambda tasks: print(f"  {len(tasks)} tasks, some failed"))
    failed = [t for t in flow.result_task() if t.status is TypeStatus.FAILED]
    print(f"failed: {[t.errors[-1].message for t in failed]}")


if __name__ == "__main__":
    main()
