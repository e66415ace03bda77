"""Kept for 1.x import paths: ``dotflow.core.types.workflow``."""

from dotflow.types import WorkflowStatus

__all__ = ["WorkflowStatus"]
