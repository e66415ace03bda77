"""Kept for 1.x import paths: 1.x's exception names, each the error this version raises in its place.

1.x raised a class per mistake; this version raises ``dotflow.errors`` classes, whose messages
say what, where and what to do. The 1.x names are those classes, so that ``except
MissingActionDecorator`` written for 1.x still catches the same mistake: a usage error (a step
without ``@action``, an unknown mode, a bad ``on_input_change``, a factory that is not one...)
is a ``UsageError``, a step module that cannot be imported a ``StepImportError``, a missing
optional library a ``MissingExtraError``.
"""

from dotflow.errors import InputChangedError, MissingExtraError, StepImportError, UsageError
from dotflow.task import TaskError

MissingActionDecorator = UsageError
ExecutionModeNotExist = UsageError
NotCallableObject = UsageError
ProblemOrdering = UsageError
InvalidWorkflowFactory = UsageError
WorkflowFlagConflict = UsageError
ExecutionWithClassError = UsageError
InvalidOnInputChange = UsageError
ImportModuleError = StepImportError
ModuleNotFound = MissingExtraError

__all__ = [
    "ExecutionModeNotExist",
    "ExecutionWithClassError",
    "ImportModuleError",
    "InputChangedError",
    "InvalidOnInputChange",
    "InvalidWorkflowFactory",
    "MissingActionDecorator",
    "ModuleNotFound",
    "NotCallableObject",
    "ProblemOrdering",
    "TaskError",
    "WorkflowFlagConflict",
]
