"""Status and execution-mode constants, kept at their 1.x import paths."""

from __future__ import annotations

from dotflow.core.types.execution import TypeExecution
from dotflow.core.types.status import TypeStatus

__all__ = ["TypeExecution", "TypeStatus"]
