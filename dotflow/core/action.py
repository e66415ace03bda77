"""Kept for 1.x import paths: ``from dotflow.core.action import Action`` (``action`` is the decorator)."""

from dotflow.actions import action

Action = action

__all__ = ["Action", "action"]
