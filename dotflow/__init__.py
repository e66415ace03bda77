"""dotflow: a lightweight runner for execution pipelines.

The public names load on first use, so ``import dotflow`` stays cheap and reads no file
or environment variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.actions import action
    from dotflow.builder import TaskBuilder
    from dotflow.config import Config
    from dotflow.context import Context
    from dotflow.errors import DotflowError, TaskCancelled
    from dotflow.execution.manager import Manager
    from dotflow.live import current_task
    from dotflow.task import Task
    from dotflow.types import TypeExecution, TypeStatus
    from dotflow.workflow import DotFlow

__version__ = "2.0.0.dev0"
__description__ = "\U0001f3b2 Dotflow turns an idea into flow!"

_LAZY = _LazyExports(__name__, {
    "Config": "dotflow.config",
    "Context": "dotflow.context",
    "DotFlow": "dotflow.workflow",
    "DotflowError": "dotflow.errors",
    "Manager": "dotflow.execution.manager",
    "Task": "dotflow.task",
    "TaskCancelled": "dotflow.errors",
    "TaskBuilder": "dotflow.builder",
    "TypeExecution": "dotflow.types",
    "TypeStatus": "dotflow.types",
    "action": "dotflow.actions",
    "current_task": "dotflow.live",
}, globals())

__all__ = ["Config", "Context", "DotFlow", "DotflowError", "Manager", "Task", "TaskBuilder", "TaskCancelled",
           "TypeExecution", "TypeStatus", "action", "current_task"]


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)


def __dir__() -> list[str]:
    return _LAZY.names()
