"""Contracts for custom providers: subclass Server, Storage, Scheduler, Notify, Log, Tracer or Metrics.

Each lives in its own module (``dotflow.abc.storage``...), imported on first use here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.abc.log import Log
    from dotflow.abc.metrics import Metrics
    from dotflow.abc.notify import Notify
    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage
    from dotflow.abc.tracer import Tracer

__all__ = ["Log", "Metrics", "Notify", "Scheduler", "Server", "Storage", "Tracer"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'dotflow.abc' has no attribute {name!r}")
    value = getattr(import_module(f"dotflow.abc.{name.lower()}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
