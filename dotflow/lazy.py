"""Regular expressions compiled on first use: the first ``DotFlow()`` of a program should not pay
for patterns only an error message, a file or a remote provider will need."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)`` and compiles it the first time it is used."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._pattern, self._flags)
        return getattr(compiled, name)
