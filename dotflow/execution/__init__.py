"""Running a workflow's tasks: one module per mode, sharing the single-task runner.

``Manager`` loads on first use: a worker process imports ``dotflow.execution.step`` and
must not pay for the Manager and the reporting it pulls in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.execution.manager import Manager

__all__ = ["Manager"]


def __getattr__(name: str) -> Any:
    if name == "Manager":
        from dotflow.execution.manager import Manager

        return Manager
    raise AttributeError(f"module 'dotflow.execution' has no attribute {name!r}")
