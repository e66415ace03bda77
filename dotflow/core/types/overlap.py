"""Kept for 1.x import paths: ``dotflow.core.types.overlap``."""

from dotflow.types import TypeOverlap

__all__ = ["TypeOverlap"]
