"""Execution mode names accepted by ``DotFlow.start(mode=...)``."""

from __future__ import annotations

from typing import Final


class TypeExecution:
    """The modes a workflow can run in."""

    SEQUENTIAL: Final = "sequential"
    BACKGROUND: Final = "background"
    PARALLEL: Final = "parallel"
    SEQUENTIAL_GROUP: Final = "sequential_group"

    ALL: Final = (SEQUENTIAL, BACKGROUND, PARALLEL, SEQUENTIAL_GROUP)
