"""Kept for 1.x import paths: ``dotflow.core.types.storage``."""

from dotflow.types import TypeStorage

__all__ = ["TypeStorage"]
