"""Kept for 1.x import paths: ``from dotflow.core.task import Task, TaskBuilder, TaskError``.

``TaskInstance`` was 1.x's base of ``Task``; here it is ``Task`` itself."""

from dotflow.builder import TaskBuilder
from dotflow.task import Task, TaskError

TaskInstance = Task

__all__ = ["Task", "TaskBuilder", "TaskError", "TaskInstance"]
