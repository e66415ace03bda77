"""What a scheduler does with a run that falls due while the previous one is still going."""

from __future__ import annotations

from typing import Final


class TypeOverlap:
    """The values of ``SchedulerCron(overlap=...)`` and ``dotflow schedule --overlap``."""

    SKIP: Final = "skip"  # drop the new run
    QUEUE: Final = "queue"  # keep at most one waiting run; it starts when the current one ends
    PARALLEL: Final = "parallel"  # run at once, up to 10 at a time
