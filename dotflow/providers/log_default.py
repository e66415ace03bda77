"""LogDefault: task status records to the console, a file, or the standard ``dotflow`` logger."""

from __future__ import annotations

import errno
import logging
import os
import sys
import weakref
from typing import Any

from dotflow.abc.log import FORMATS, LEVELS, Log
from dotflow.errors import UsageError
from dotflow.fileio import NotRegularFileError, kind_of, make_folders, open_regular

OUTPUTS = ("console", "file", "both", "logger")
# 1.x's line; a json record is already a whole object with its own timestamp and level
_LINE = "%(asctime)s - %(levelname)s [%(name)s]: %(message)s"
_JSON_LINE = "%(message)s"


class LogDefault(Log):
    """``LogDefault(level="INFO", output="console", path=".output/flow.log", format="simple")``.

    - ``output="console"`` writes to stderr, ``"file"`` appends to ``path`` (its folder is made),
      ``"both"`` does both: as in dotflow 1.x, the provider has its own handlers, so the records
      show whatever the application's logging setup is.
    - ``output="logger"`` hands the records to the standard ``dotflow`` logger and attaches
      nothing: the application (or ``dotflow start``) decides where they go. This is what
      ``Config()`` uses when no ``log`` is given, so the library prints nothing by itself.
    - ``level`` is the lowest level written (DEBUG, INFO, WARNING or ERROR, any case, or the
      ``logging`` constant); ``format`` is ``simple`` (1.x's ``time - LEVEL [dotflow]: ID ...``
      line) or ``json`` (one JSON object per line, nothing around it; see ``dotflow.abc.log.Log``).

    Each instance owns its handlers; none is registered globally, so making many instances
    leaks no logger (1.x created one per instance, for good), and the file is closed when the
    instance goes (or on ``close()``). The file is opened on the first record.
    """

    def __init__(
        self,
        level: str | int = "INFO",
        output: str = "console",
        path: str | os.PathLike[str] = ".output/flow.log",
        format: str = "simple",
    ) -> None:
        name = _level_name(level)
        if output not in OUTPUTS:
            raise UsageError(f"LogDefault(output={output!r}); use one of: {', '.join(OUTPUTS)}")
        if format not in FORMATS:
            raise UsageError(f"LogDefault(format={format!r}); use one of: {', '.join(FORMATS)}")
        self.level, self.output, self.path, self.format = name, output, os.fspath(path), format
        self._level = LEVELS[name]
        self._format = format
        if output == "logger":
            self._logger = logging.getLogger("dotflow")
            return
        own = logging.Logger("dotflow", self._level)  # not in logging's registry: it goes with the instance
        own.propagate = False
        formatter = logging.Formatter(_JSON_LINE if format == "json" else _LINE)
        handlers: list[logging.Handler] = []
        if output in ("file", "both"):
            handlers.append(_file_handler(self.path))
        if output in ("console", "both"):
            handlers.append(StderrHandler())
        for handler in handlers:
            handler.setFormatter(formatter)
            own.addHandler(handler)
        self._logger = own
        weakref.finalize(self, _close, handlers)

    def flush(self, timeout: float | None = None) -> None:
        for handler in self._own_handlers():
            handler.flush()

    def close(self) -> None:
        """Close the file (a later record opens it again)."""
        _close(self._own_handlers())

    def _own_handlers(self) -> list[logging.Handler]:
        return list(self._logger.handlers) if self.output != "logger" else []

    def __repr__(self) -> str:
        path = f", path={self.path!r}" if self.output in ("file", "both") else ""
        return f"LogDefault(level={self.level!r}, output={self.output!r}{path}, format={self.format!r})"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at each record, as ``print(file=sys.stderr)`` does,
    so a redirected stderr (``contextlib.redirect_stderr``, a test's capture, the CLI's live
    view) gets the records. ``dotflow start``'s own handler is one too.

    A stderr that cannot take the line (closed by a step, None, a full disk, a reader gone) loses
    the line and nothing else: logging's own report of the failure would go to that same stderr,
    and fail there in turn, out of the logging call and into the run."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr
        if stream is None or getattr(stream, "closed", False):
            return
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted (bad %-arguments): logging's own report
            self.handleError(record)
            return
        from dotflow.capture import write_between_steps

        if write_between_steps(line + self.terminator):  # past a run's capture: no step's line
            return
        try:
            stream.write(line + self.terminator)
            stream.flush()
        except (OSError, ValueError):
            pass

    def flush(self) -> None:
        try:
            super().flush()
        except (OSError, ValueError, AttributeError):
            pass


def _level_name(level: Any) -> str:
    if isinstance(level, int) and not isinstance(level, bool):
        name = logging.getLevelName(level)
    elif isinstance(level, str):
        name = level.strip().upper()
    else:
        name = None
    if name not in LEVELS:
        raise UsageError(f"LogDefault(level={level!r}); use one of: {', '.join(LEVELS)}")
    return str(name)


def _file_handler(path: str) -> logging.FileHandler:
    """An appending handler on ``path``, its folder made; checked now, opened at the first record."""
    from pathlib import Path  # here: pathlib costs every first DotFlow() ~1 ms, and only a log file needs it

    file = Path(path)
    try:
        make_folders(file.parent)
        if file.is_dir():
            raise IsADirectoryError(21, "it is a folder")
        if file.exists():
            kind = kind_of(file.stat().st_mode)
            if kind is not None:  # appending to a FIFO waits for a reader: the run would hang at its first record
                raise NotRegularFileError(file, kind)
        if not os.access(file if file.exists() else file.parent, os.W_OK):
            raise PermissionError(13, "permission denied")
    except NotRegularFileError as exc:
        raise UsageError(f"LogDefault(path={path!r}): it is {exc.kind}; give the path of a regular file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"LogDefault(path={path!r}): cannot write there ({reason}); give a writable file path"
        ) from None
    return _RegularFileHandler(file, mode="a", encoding="utf-8", delay=True)


class _RegularFileHandler(logging.FileHandler):
    """A FileHandler that opens only a regular file, without waiting: a FIFO put at the path after
    the check fails the record (logging reports it) instead of hanging the run."""

    def _open(self) -> Any:
        try:
            fd = open_regular(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            # a FIFO without a reader (or a device): opened without waiting, it says "no such device"
            kind = kind_of(os.stat(self.baseFilename).st_mode) or "a device"
            raise NotRegularFileError(self.baseFilename, kind) from None
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def _close(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        handler.close()
