"""LogDefault: task status records to the console, a file, or the standard ``dotflow`` logger."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from dotflow.abc.log import FORMATS, LEVELS, Log
from dotflow.errors import UsageError

OUTPUTS = ("console", "file", "both", "logger")
_LINE = "%(asctime)s - %(levelname)s [%(name)s]: %(message)s"


class LogDefault(Log):
    """``LogDefault(level="INFO", output="console", path=".output/flow.log", format="simple")``.

    - ``output="console"`` writes to stderr, ``"file"`` appends to ``path`` (its folder is made),
      ``"both"`` does both: as in dotflow 1.x, the provider has its own handlers, so the records
      show whatever the application's logging setup is.
    - ``output="logger"`` hands the records to the standard ``dotflow`` logger and attaches
      nothing: the application (or ``dotflow start``) decides where they go. This is what
      ``Config()`` uses when no ``log`` is given, so the library prints nothing by itself.
    - ``level`` is the lowest level written (DEBUG, INFO, WARNING or ERROR); ``format`` is
      ``simple`` or ``json`` (see ``dotflow.abc.log.Log``).

    Each instance owns its handlers; none is registered globally, so making many instances
    leaks no logger (1.x created one per instance, for good).
    """

    def __init__(
        self, level: str = "INFO", output: str = "console", path: str = ".output/flow.log", format: str = "simple"
    ) -> None:
        name = level.upper() if isinstance(level, str) else level
        if name not in LEVELS:
            raise UsageError(f"LogDefault(level={level!r}); use one of: {', '.join(LEVELS)}")
        if output not in OUTPUTS:
            raise UsageError(f"LogDefault(output={output!r}); use one of: {', '.join(OUTPUTS)}")
        if format not in FORMATS:
            raise UsageError(f"LogDefault(format={format!r}); use one of: {', '.join(FORMATS)}")
        self.level, self.output, self.path, self.format = str(name), output, str(path), format
        self._level = LEVELS[str(name)]
        self._format = format
        if output == "logger":
            self._logger = logging.getLogger("dotflow")
            return
        own = logging.Logger("dotflow", self._level)  # not in logging's registry: it goes with the instance
        own.propagate = False
        formatter = logging.Formatter(_LINE)
        handlers: list[logging.Handler] = []
        if output in ("file", "both"):
            file = Path(path)
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                handlers.append(logging.FileHandler(file, mode="a", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"LogDefault(path={str(path)!r}): cannot write there: {exc.strerror}") from None
        if output in ("console", "both"):
            handlers.append(logging.StreamHandler(sys.stderr))
        for handler in handlers:
            handler.setFormatter(formatter)
            own.addHandler(handler)
        self._logger = own

    def flush(self, timeout: float | None = None) -> None:
        for handler in self._logger.handlers if self.output != "logger" else ():
            handler.flush()

    def __repr__(self) -> str:
        path = f", path={self.path!r}" if self.output in ("file", "both") else ""
        return f"LogDefault(level={self.level!r}, output={self.output!r}{path}, format={self.format!r})"
