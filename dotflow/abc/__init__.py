"""Contracts for custom providers: subclass Server, Storage, Scheduler, Notify, Log, Tracer or Metrics."""

from __future__ import annotations

from dotflow.abc.log import Log
from dotflow.abc.metrics import Metrics
from dotflow.abc.notify import Notify
from dotflow.abc.scheduler import Scheduler
from dotflow.abc.server import Server
from dotflow.abc.storage import Storage
from dotflow.abc.tracer import Tracer

__all__ = ["Log", "Metrics", "Notify", "Scheduler", "Server", "Storage", "Tracer"]
