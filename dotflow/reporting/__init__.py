"""Reporting a workflow's progress: the Reporter, the only caller of its providers' hooks."""

from __future__ import annotations

from dotflow.reporting.reporter import Reporter

__all__ = ["Reporter"]
