"""What ``start(resume=True)`` does when the tasks' inputs changed since the checkpoints."""

from __future__ import annotations

from typing import Final


class TypeInputChange:
    """The values of ``on_input_change``."""

    REUSE: Final = "reuse"  # keep the checkpoints (with a warning)
    RESET: Final = "reset"  # drop this workflow's checkpoints and run everything
    RAISE: Final = "raise"  # stop with InputChangedError before anything runs


VALID_POLICIES: Final = (TypeInputChange.REUSE, TypeInputChange.RESET, TypeInputChange.RAISE)
