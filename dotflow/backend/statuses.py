"""The status words the backend stores, and which of them end a task or a run."""

from __future__ import annotations

from typing import Final

from dotflow.types import TypeStatus

# Only the backend sets this one: a version 2 run whose heartbeats stopped (the Crashed rule).
CRASHED: Final = "Crashed"
NOT_STARTED: Final = TypeStatus.NOT_STARTED
IN_PROGRESS: Final = TypeStatus.IN_PROGRESS
CANCELLED: Final = TypeStatus.CANCELLED
FAILED: Final = TypeStatus.FAILED

# What a runner may report (docs/protocol/openapi.yaml, TaskStatus and WorkflowStatus).
TASK_STATUSES: Final = frozenset(
    {
        TypeStatus.NOT_STARTED,
        TypeStatus.IN_PROGRESS,
        TypeStatus.RETRY,
        TypeStatus.PAUSED,
        TypeStatus.COMPLETED,
        TypeStatus.FAILED,
        TypeStatus.CANCELLED,
        TypeStatus.SKIPPED,
    }
)
WORKFLOW_STATUSES: Final = frozenset(
    {TypeStatus.IN_PROGRESS, TypeStatus.COMPLETED, TypeStatus.FAILED, TypeStatus.CANCELLED}
)
# A task or a run in one of these has ended.
TERMINAL: Final = frozenset({*TypeStatus.TERMINAL, CRASHED})
# What a run shows: what a runner reports, "Not started" for a run made but not begun, and Crashed.
SHOWN: Final = frozenset({*WORKFLOW_STATUSES, NOT_STARTED, CRASHED})
