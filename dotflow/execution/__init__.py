"""Running a workflow's tasks: one module per mode, sharing the single-task runner.

``Manager`` loads on first use: a worker process imports ``dotflow.execution.step`` and
must not pay for the Manager and the reporting it pulls in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.execution.manager import Manager

__all__ = ["Manager"]

# no namespace: Manager is imported from its module at each read, never kept in this package
_LAZY = _LazyExports(__name__, {"Manager": "dotflow.execution.manager"})


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)
