"""Kept for 1.x import paths: ``from dotflow.core.dotflow import DotFlow``."""

from dotflow.workflow import DotFlow

__all__ = ["DotFlow"]
