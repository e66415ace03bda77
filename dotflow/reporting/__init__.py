"""Reporting a workflow's progress: the Reporter (the only caller of Server hooks) and signal handling for runs."""

from __future__ import annotations

from dotflow.reporting.reporter import Reporter

__all__ = ["Reporter"]
