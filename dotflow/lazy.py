"""What dotflow makes on first use: the names a package exports, and compiled regular expressions.

``import dotflow`` and the first ``DotFlow()`` of a program should not pay for modules, SDKs or
patterns that only some runs, an error message, a file or a remote provider will need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class LazyExports:
    """The public names of a package, each imported from its home module when first read.

    A package holds one and hands it its module-level hooks (PEP 562)::

        _LAZY = LazyExports(__name__, {"Config": "dotflow.config"}, globals())

        def __getattr__(name: str) -> Any:
            return _LAZY.load(name)

    With ``namespace`` (the package's ``globals()``) a loaded name is kept there, so later reads
    no longer reach ``__getattr__``; ``names()`` is then the package's ``__dir__``. The package
    keeps its ``TYPE_CHECKING`` imports of the same names, for type checkers and readers.
    """

    __slots__ = ("_homes", "_namespace", "_package")

    def __init__(self, package: str, homes: Mapping[str, str], namespace: dict[str, Any] | None = None) -> None:
        self._package = package
        self._homes = homes  # name -> the module that defines it
        self._namespace = namespace

    def load(self, name: str) -> Any:
        """The exported ``name``, imported now; AttributeError, as for any module, when it is not one."""
        home = self._homes.get(name)
        if home is None:
            raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
        from importlib import import_module  # here: `import dotflow` itself needs no importlib

        value = getattr(import_module(home), name)
        if self._namespace is not None:
            self._namespace[name] = value
        return value

    def names(self) -> list[str]:
        """What ``dir()`` of the package lists: its globals and every export, each once."""
        return sorted({*(self._namespace or ()), *self._homes})


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
