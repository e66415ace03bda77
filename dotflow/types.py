"""The constants of dotflow: task and workflow statuses, run modes, storage names, input-change
policies and schedule overlaps. The engine reads them here; ``dotflow.core.types`` re-exports them
at their 1.x import paths."""

from __future__ import annotations

from typing import Final


class TypeStatus:
    """The status strings. The engine stores these very objects, so ``is`` comparisons hold.

    ``PAUSED`` exists for 1.x compatibility; the engine never sets it. ``CANCELLED`` and
    ``SKIPPED`` are new: a task stopped by a cancel request, and one that never ran because an
    earlier task failed or was cancelled (1.x left it Not started for ever).
    """

    NOT_STARTED: Final = "Not started"
    IN_PROGRESS: Final = "In progress"
    COMPLETED: Final = "Completed"
    PAUSED: Final = "Paused"
    RETRY: Final = "Retry"
    FAILED: Final = "Failed"
    CANCELLED: Final = "Cancelled"
    SKIPPED: Final = "Skipped"

    ALL: Final = (NOT_STARTED, IN_PROGRESS, COMPLETED, FAILED, RETRY)  # 1.x's tuple, as it was
    # a task in one of these has ended: no later status of the run changes it
    TERMINAL: Final = (COMPLETED, FAILED, CANCELLED, SKIPPED)
    # the statuses runner protocol version 1 has no word for: reported there as Failed, with the reason
    NEW: Final = (CANCELLED, SKIPPED)

    @classmethod
    def get_symbol(cls, value: str) -> str | None:
        """The emoji 1.x shows for a status (None for an unknown one), as in notifications."""
        return _SYMBOLS.get(value)


NOTIFIABLE: Final = (
    TypeStatus.NOT_STARTED,
    TypeStatus.IN_PROGRESS,
    TypeStatus.COMPLETED,
    TypeStatus.PAUSED,
    TypeStatus.RETRY,
    TypeStatus.FAILED,
    TypeStatus.CANCELLED,
    TypeStatus.SKIPPED,
)
"""What a notifier's ``notification_type`` may name, in Python and in a profile alike: every status
of 1.x (Paused too, which 1.x took and the engine never sets), and Cancelled and Skipped."""

_SYMBOLS = {
    TypeStatus.NOT_STARTED: "\u26aa",
    TypeStatus.IN_PROGRESS: "\U0001f535",
    TypeStatus.COMPLETED: "\u2705",
    TypeStatus.PAUSED: "\u25fc\ufe0f",
    TypeStatus.RETRY: "\u2757",
    TypeStatus.FAILED: "\u274c",
    TypeStatus.CANCELLED: "\u26d4",
    TypeStatus.SKIPPED: "\u23ed\ufe0f",
}


class WorkflowStatus:
    """What ``update_workflow`` reports: In progress when a run starts, Completed, Failed or
    Cancelled at its end (the same texts as the task statuses, as dotflow 1.x names them)."""

    NEW: Final = "New"
    IN_PROGRESS: Final = TypeStatus.IN_PROGRESS
    COMPLETED: Final = TypeStatus.COMPLETED
    FAILED: Final = TypeStatus.FAILED
    CANCELLED: Final = TypeStatus.CANCELLED


class TypeExecution:
    """The modes a workflow can run in (``DotFlow.start(mode=...)``)."""

    SEQUENTIAL: Final = "sequential"
    BACKGROUND: Final = "background"
    PARALLEL: Final = "parallel"
    SEQUENTIAL_GROUP: Final = "sequential_group"

    ALL: Final = (SEQUENTIAL, BACKGROUND, PARALLEL, SEQUENTIAL_GROUP)


class TypeStorage:
    """Storage provider names, as ``--storage`` and ``[storage] provider`` take them. ``memory`` is
    this version's name for 1.x's ``default``; both work."""

    DEFAULT: Final = "default"
    MEMORY: Final = "memory"
    FILE: Final = "file"
    S3: Final = "s3"
    GCS: Final = "gcs"


class TypeInputChange:
    """The values of ``on_input_change``: what ``start(resume=True)`` does when the tasks' inputs
    changed since the checkpoints."""

    REUSE: Final = "reuse"  # keep the checkpoints (with a warning)
    RESET: Final = "reset"  # drop this workflow's checkpoints and run everything
    RAISE: Final = "raise"  # stop with InputChangedError before anything runs


VALID_POLICIES: Final = (TypeInputChange.REUSE, TypeInputChange.RESET, TypeInputChange.RAISE)


class TypeOverlap:
    """The values of ``SchedulerCron(overlap=...)`` and ``dotflow schedule --overlap``: what a
    scheduler does with a run that falls due while the previous one is still going."""

    SKIP: Final = "skip"  # drop the new run
    QUEUE: Final = "queue"  # keep at most one waiting run; it starts when the current one ends
    PARALLEL: Final = "parallel"  # run at once, up to 10 at a time


__all__ = [
    "NOTIFIABLE",
    "VALID_POLICIES",
    "TypeExecution",
    "TypeInputChange",
    "TypeOverlap",
    "TypeStatus",
    "TypeStorage",
    "WorkflowStatus",
]
