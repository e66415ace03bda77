"""Running a workflow's tasks: one module per mode, sharing the single-task runner."""

from __future__ import annotations

from dotflow.execution.manager import Manager

__all__ = ["Manager"]
