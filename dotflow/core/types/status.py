"""Kept for 1.x import paths: ``dotflow.core.types.status``."""

from dotflow.types import NOTIFIABLE, TypeStatus

__all__ = ["NOTIFIABLE", "TypeStatus"]
