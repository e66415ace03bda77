"""Wording that error messages and log lines share: the hint to the likely name, a failure's reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dotflow.task import TaskError

_FAILURE_TEXT = 300  # characters of an exception message in the Failed log line


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "", quote: bool = True) -> str:
    """``"; did you mean 'x'?"`` for the candidate closest to ``word`` (with ``prefix`` put
    before it), or ``""`` when none is close."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    guess = prefix + close[0]
    return f"; did you mean {guess!r}?" if quote else f"; did you mean {guess}?"


def failure_reason(errors: list[TaskError] | None) -> str:
    """``<ExceptionType>: <message>`` of the last error, on one short line ("" without errors)."""
    if not errors:
        return ""
    from dotflow.errors import Interrupted
    from dotflow.redact import one_line

    last = errors[-1]
    if isinstance(last.error, (Interrupted, KeyboardInterrupt, SystemExit)):  # a signal, not the step's error
        return one_line(last.message, _FAILURE_TEXT)
    return f"{last.exception}: {one_line(last.message, _FAILURE_TEXT)}"
