"""Contracts for custom providers: subclass Server, Storage, Scheduler, Notify, Log, Tracer or Metrics.

Each lives in its own module (``dotflow.abc.storage``...), imported on first use here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.abc.log import Log
    from dotflow.abc.metrics import Metrics
    from dotflow.abc.notify import Notify
    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage
    from dotflow.abc.tracer import Tracer

__all__ = ["Log", "Metrics", "Notify", "Scheduler", "Server", "Storage", "Tracer"]

_LAZY = _LazyExports(__name__, {name: f"dotflow.abc.{name.lower()}" for name in __all__}, globals())


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)


def __dir__() -> list[str]:
    return _LAZY.names()
