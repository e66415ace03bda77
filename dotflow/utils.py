"""Small helpers dotflow 1.x exposed as ``dotflow.utils``, kept for code that imports them."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["basic_callback", "basic_function", "hostname", "message_error", "read_file", "traceback_error",
           "write_file"]


def basic_function(*args: Any, **kwargs: Any) -> None:
    """A step body that does nothing."""


def basic_callback(*args: Any, **kwargs: Any) -> None:
    """A callback that does nothing."""


def hostname() -> str:
    """This machine's name, or ``local`` when it has none."""
    if hasattr(os, "uname"):  # what socket.gethostname() returns on POSIX, without importing socket
        return os.uname().nodename or "local"
    import socket

    try:
        return socket.gethostname() or "local"
    except OSError:
        return "local"


def traceback_error(error: BaseException) -> str:
    """The formatted traceback of ``error``, without a trailing newline."""
    import traceback as _traceback

    return "".join(_traceback.format_exception(type(error), error, error.__traceback__)).rstrip()


def message_error(error: BaseException) -> str:
    return str(error)


def write_file(path: str | Path, content: Any, mode: str = "w", encoding: str = "utf-8") -> None:
    """Write ``content`` as JSON to ``path`` (its ``str`` when it is not JSON-able)."""
    try:
        text = json.dumps(content)
    except TypeError:
        text = str(content)
    with open(path, mode, encoding=encoding) as handle:
        handle.write(text)


def read_file(path: str | Path, encoding: str = "utf-8") -> Any:
    """The JSON in ``path`` (the raw text when it is not JSON), or None when there is no such file."""
    from pathlib import Path

    file = Path(path)
    if not file.exists():
        return None
    text = file.read_text(encoding=encoding)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
