"""The constants of dotflow, kept at their 1.x import paths (``dotflow.core.types``)."""

from __future__ import annotations

from dotflow.core.types.execution import TypeExecution
from dotflow.core.types.input_change import VALID_POLICIES, TypeInputChange
from dotflow.core.types.overlap import TypeOverlap
from dotflow.core.types.status import TypeStatus
from dotflow.core.types.storage import TypeStorage
from dotflow.core.types.workflow import WorkflowStatus

__all__ = [
    "VALID_POLICIES",
    "TypeExecution",
    "TypeInputChange",
    "TypeOverlap",
    "TypeStatus",
    "TypeStorage",
    "WorkflowStatus",
]
