"""Kept for 1.x import paths: ``dotflow.core.types`` names the constants of ``dotflow.types``."""

from __future__ import annotations

from dotflow.types import (
    VALID_POLICIES,
    TypeExecution,
    TypeInputChange,
    TypeOverlap,
    TypeStatus,
    TypeStorage,
    WorkflowStatus,
)

__all__ = [
    "VALID_POLICIES",
    "TypeExecution",
    "TypeInputChange",
    "TypeOverlap",
    "TypeStatus",
    "TypeStorage",
    "WorkflowStatus",
]
