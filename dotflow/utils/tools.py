"""The machine's name, and JSON read from and written to a file (1.x's ``dotflow.utils.tools``)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["hostname", "read_file", "write_file"]


def hostname() -> str:
    """This machine's name, or ``local`` when it has none."""
    if hasattr(os, "uname"):  # what socket.gethostname() returns on POSIX, without importing socket
        return os.uname().nodename or "local"
    import socket

    try:
        return socket.gethostname() or "local"
    except OSError:
        return "local"


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
