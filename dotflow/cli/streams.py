"""The command line's standard streams when they are closed or cannot be written.

- A descriptor closed before the command started (``dotflow start >&-``) gets ``/dev/null`` at once:
  Python leaves ``sys.stdout`` None then, and the next file the run opens would take descriptor 1
  (a checkpoint, the log file), where a subprocess's or a worker's output would land.
- What the commands print goes through ``echo``, which never raises: when a stream fails (``>
  /dev/full``, a pipe whose reader is gone), that stream is pointed at ``/dev/null`` from then on,
  and stderr gets one warning (none for a pipe whose reader left: ``| head`` asked for that). The
  run, its reports and the exit code go on as if it had been printed. A stream a step closed
  (``sys.stdout.close()`` leaves descriptor 1 open) is opened again, and the text goes where it
  would have. ``settle`` does the same for what is still buffered when the command ends, so the
  interpreter's own flush at exit finds nothing to fail on.

A step's own ``print`` is not guarded: a step that writes its data to a full disk fails, as it
would in any program, rather than lose the data silently.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer

_NAMES = ("stdin", "stdout", "stderr")
_QUIET = (errno.EPIPE,)  # the reader left (`| head`): nothing to warn about
_lost: set[str] = set()  # the streams found broken, pointed at /dev/null


def reopen_closed() -> None:
    """Give each standard descriptor (0, 1, 2) that is closed ``/dev/null``, and the stream Python
    left None a text stream on it."""
    for fd, name in enumerate(_NAMES):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        _null_at(fd)
        if getattr(sys, name) is None:
            setattr(sys, name, _text_stream(fd, name))


def echo(message: Any = "", err: bool = False) -> None:
    """``typer.echo``, except that a stream that cannot be written drops the text instead of raising
    (see the module's docstring). A stream that was only closed (by a step) is opened again on its
    descriptor, and the text written there."""
    name = "stderr" if err else "stdout"
    for _ in range(2):
        try:
            typer.echo(message, err=err)
            return
        except (OSError, ValueError) as exc:
            if not _stream_failure(exc, getattr(sys, name)):
                raise
            if not recover(name, exc):
                return


def settle() -> None:
    """Flush stdout and stderr now, each one that fails pointed at ``/dev/null``: what the
    interpreter flushes at exit then cannot fail ("Exception ignored ... BrokenPipeError", exit 120)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError) as exc:
            recover(name, exc)


def recover(name: str, exc: BaseException, warn: bool = True) -> bool:
    """Stream ``name`` (``stdout`` or ``stderr``) failed with ``exc``; return whether it writes where
    it did again. A stream object that was closed while its descriptor stays open is replaced by a new
    one on that descriptor (True). Otherwise the descriptor gets ``/dev/null`` (False), and stderr one
    warning (for stdout, unless its reader left, or ``warn`` is off: the caller says it its own way)."""
    stream = getattr(sys, name)
    fd = _fileno(stream)
    standard = _NAMES.index(name)
    if fd is None:  # the stream object is closed (a step closed it); its descriptor may still work
        try:
            os.fstat(standard)
            setattr(sys, name, _text_stream(standard, name))
            return True
        except OSError:
            _null_at(standard)
            setattr(sys, name, _text_stream(standard, name))
    elif fd in (1, 2):
        _null_at(fd)  # the stream keeps working, onto /dev/null; what it still buffers goes there too
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    first = name not in _lost
    _lost.add(name)
    if warn and first and name == "stdout" and getattr(exc, "errno", None) not in _QUIET and "stderr" not in _lost:
        echo(f"warning: cannot write to stdout ({describe_failure(exc)}); what goes there is dropped, "
             "and the exit code still tells how the command went", err=True)
    return False


def write_failure(exc: BaseException) -> bool:
    """Whether ``exc``, escaping a command, is a standard stream that could not be written: an
    ``OSError`` a full disk, a gone reader or a broken device gives, or a write to a closed one."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EBADF)
    return isinstance(exc, ValueError) and any(
        getattr(getattr(sys, name), "closed", False) for name in ("stdout", "stderr")
    )


def _stream_failure(exc: BaseException, stream: Any) -> bool:
    if isinstance(exc, UnicodeError):  # text the stream's encoding cannot hold: a bug to see, not a broken stream
        return False
    return isinstance(exc, OSError) or bool(getattr(stream, "closed", False))


def describe_failure(exc: BaseException) -> str:
    """Why a stream could not be written, in a few words."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "it was closed" if isinstance(exc, ValueError) else type(exc).__name__


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _null_at(fd: int) -> None:
    null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)  # inheritable, as a standard descriptor is
        os.close(null)
    else:  # os.open makes descriptors close-on-exec: a subprocess of a step would find it closed
        os.set_inheritable(fd, True)


def _text_stream(fd: int, name: str) -> Any:
    if name == "stdin":
        return open(fd, encoding="utf-8", closefd=False)
    return open(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
