"""Opening the files a user names (a checkpoint, the log file, a dotflow.toml): regular files only,
never waiting, and never read past a bound; and making the folders they go in, however deep.

``open()`` on a FIFO waits for a writer (or a reader) that may never come, and a character device
such as ``/dev/zero`` never ends: a path that names one must be refused at once, not hang the run.
The descriptor is opened with ``O_NONBLOCK`` (which regular files ignore) and checked with
``fstat``, so a FIFO put in a file's place between a check and the open is refused too.
"""

from __future__ import annotations

import errno
import os
import stat

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFileError(OSError):
    """A path names something that is not a regular file: a FIFO, a socket, a device. ``kind``
    says which (``"a FIFO"``), and the message is ``<path> is a FIFO, not a regular file``."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}, not a regular file")
        self.path = os.fspath(path)
        self.kind = kind


class FileTooLargeError(OSError):
    """A file is larger than the bound its reader sets; ``limit`` is that bound, in bytes."""

    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {describe_size(limit)}", os.fspath(path))
        self.limit = limit


def describe_size(size: int) -> str:
    """``1 MiB``, ``64 KiB`` or ``300 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def kind_of(mode: int) -> str | None:
    """What a file of ``mode`` (``st_mode``) is when it is neither a regular file nor a folder
    (``"a FIFO"``), else None."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file"


def open_regular(path: str | os.PathLike[str], flags: int = os.O_RDONLY, mode: int = 0o666) -> int:
    """A descriptor on ``path`` opened with ``flags``, provided it is a regular file. Never waits: a
    FIFO, socket or device is NotRegularFileError, a folder IsADirectoryError, and anything else
    the OSError ``os.open`` gives."""
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), mode)
    try:
        found = os.fstat(fd).st_mode
        if stat.S_ISDIR(found):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        kind = kind_of(found)
        if kind is not None:
            raise NotRegularFileError(path, kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # a regular file ignores it, but whoever reads on need not know
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str], size: int = -1, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (the first ``size`` when given), through
    ``open_regular``. With ``limit``, a file holding more than ``limit`` bytes is FileTooLargeError,
    found without reading more than ``limit + 1`` bytes."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        if limit is None:
            return handle.read(size)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, limit)
    return data if size < 0 else data[:size]


def make_folders(path: str | os.PathLike[str]) -> None:
    """``os.makedirs(path, exist_ok=True)`` without recursion: a path thousands of folders deep
    (``a/a/a/...``) is made, or fails with the file system's OSError, never RecursionError."""
    missing = []
    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
