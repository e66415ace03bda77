"""Task and workflow status strings."""

from __future__ import annotations

from typing import Final


class TypeStatus:
    """The status strings. The engine stores these very objects, so ``is`` comparisons hold."""

    NOT_STARTED: Final = "Not started"
    IN_PROGRESS: Final = "In progress"
    COMPLETED: Final = "Completed"
    FAILED: Final = "Failed"
    RETRY: Final = "Retry"

    ALL: Final = (NOT_STARTED, IN_PROGRESS, COMPLETED, FAILED, RETRY)
