"""Contracts for custom providers: subclass Server, Storage or Scheduler."""

from __future__ import annotations

from dotflow.abc.scheduler import Scheduler
from dotflow.abc.server import Server
from dotflow.abc.storage import Storage

__all__ = ["Scheduler", "Server", "Storage"]
