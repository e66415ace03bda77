"""Kept for 1.x import paths: ``from dotflow.core.config import Config``."""

from dotflow.config import Config

__all__ = ["Config"]
