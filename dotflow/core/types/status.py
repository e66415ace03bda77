"""Task and workflow status strings."""

from __future__ import annotations

from typing import Final


class TypeStatus:
    """The status strings. The engine stores these very objects, so ``is`` comparisons hold.

    ``PAUSED`` exists for 1.x compatibility; the engine never sets it.
    """

    NOT_STARTED: Final = "Not started"
    IN_PROGRESS: Final = "In progress"
    COMPLETED: Final = "Completed"
    PAUSED: Final = "Paused"
    RETRY: Final = "Retry"
    FAILED: Final = "Failed"

    ALL: Final = (NOT_STARTED, IN_PROGRESS, COMPLETED, FAILED, RETRY)

    @classmethod
    def get_symbol(cls, value: str) -> str | None:
        """The emoji 1.x shows for a status (None for an unknown one), as in notifications."""
        return _SYMBOLS.get(value)


# What a notifier's notification_type may name, in Python and in a profile alike: every
# status of 1.x (Paused too, which 1.x took and the engine never sets).
NOTIFIABLE: Final = (
    TypeStatus.NOT_STARTED,
    TypeStatus.IN_PROGRESS,
    TypeStatus.COMPLETED,
    TypeStatus.PAUSED,
    TypeStatus.RETRY,
    TypeStatus.FAILED,
)

_SYMBOLS = {
    TypeStatus.NOT_STARTED: "\u26aa",
    TypeStatus.IN_PROGRESS: "\U0001f535",
    TypeStatus.COMPLETED: "\u2705",
    TypeStatus.PAUSED: "\u25fc\ufe0f",
    TypeStatus.RETRY: "\u2757",
    TypeStatus.FAILED: "\u274c",
}
