"""Kept for 1.x import paths: ``dotflow.core.types.execution``."""

from dotflow.types import TypeExecution

__all__ = ["TypeExecution"]
