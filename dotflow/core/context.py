"""Kept for 1.x import paths: ``from dotflow.core.context import Context``.

``ContextInstance`` was 1.x's base of ``Context``; here it is ``Context`` itself."""

from dotflow.context import Context

ContextInstance = Context

__all__ = ["Context", "ContextInstance"]
