"""Kept for 1.x import paths: ``from dotflow.core.workflow import Manager`` (what ``start()`` returns)."""

from dotflow.execution.manager import Manager

__all__ = ["Manager"]
