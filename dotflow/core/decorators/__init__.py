"""Kept for 1.x import paths: ``from dotflow.core.decorators import time``."""

from dotflow.core.decorators.time import time

__all__ = ["time"]
