"""Kept for 1.x import paths: ``dotflow.core.types.input_change``."""

from dotflow.types import VALID_POLICIES, TypeInputChange

__all__ = ["VALID_POLICIES", "TypeInputChange"]
