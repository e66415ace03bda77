"""Workflow status strings, as dotflow 1.x names them (the same texts as the task statuses)."""

from __future__ import annotations

from typing import Final

from dotflow.core.types.status import TypeStatus


class WorkflowStatus:
    """What ``update_workflow`` reports: In progress when a run starts, Completed or Failed at its end."""

    NEW: Final = "New"
    IN_PROGRESS: Final = TypeStatus.IN_PROGRESS
    COMPLETED: Final = TypeStatus.COMPLETED
    FAILED: Final = TypeStatus.FAILED
