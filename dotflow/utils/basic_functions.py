"""The do-nothing step body and callback (1.x's ``dotflow.utils.basic_functions``)."""

from __future__ import annotations

from typing import Any

__all__ = ["basic_callback", "basic_function"]


def basic_function(*args: Any, **kwargs: Any) -> None:
    """A step body that does nothing."""


def basic_callback(*args: Any, **kwargs: Any) -> None:
    """A callback that does nothing."""
