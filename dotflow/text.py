"""Wording that error messages and log lines share: the hint to the likely name, a failure's reason."""

from __future__ import annotations

import functools
import os
import re
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


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')
_PACKAGE = os.path.dirname(os.path.abspath(__file__))  # dotflow/


@functools.lru_cache(maxsize=1)
def _libraries() -> tuple[str, ...]:
    """The standard library's and the installed packages' folders: a failure needs them, and
    sysconfig's data costs a run that shows none ~5 ms."""
    import sysconfig

    names = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple(os.path.abspath(path) for path in {sysconfig.get_paths().get(name) for name in names} if path)


def user_frame(traceback: str | None) -> str:
    """``file:line`` of the innermost frame of a traceback that is the user's own code: not dotflow,
    not the standard library, not an installed package. "" when there is none."""
    if not traceback:
        return ""
    found = ""
    for line in traceback.splitlines():
        match = _FRAME.match(line)
        if match is None:
            continue
        path = os.path.abspath(match["file"])
        if match["file"].startswith("<") or _under(path, (_PACKAGE, *_libraries())):
            continue
        shown = os.path.relpath(path) if path.startswith(os.getcwd() + os.sep) else path
        found = f"{shown}:{match['line']}"
    return found


def _under(path: str, folders: tuple[str, ...]) -> bool:
    # by whole folder names: a project in ~/src/dotflow-etl is not inside ~/src/dotflow
    return any(path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)
