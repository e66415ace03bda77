"""``FileClient``: 1.x's contract of a file reader and writer (class methods ``write`` and ``read``),
kept for code that subclasses it. dotflow itself does not call it."""

from __future__ import annotations

from abc import ABC, abstractmethod


class FileClient(ABC):
    @classmethod
    @abstractmethod
    def write(cls, path: str, content: str, mode: str, encoding: str) -> None:
        """Write ``content`` to ``path``."""

    @classmethod
    @abstractmethod
    def read(cls, path: str) -> str:
        """The text of ``path``."""
