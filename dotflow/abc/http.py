"""``HTTPRequest``: 1.x's contract of an HTTP client (``url``, ``context``, ``request(...)``), kept
for code that subclasses it. dotflow itself does not call it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable


class HTTPRequest(ABC):
    def __init__(self, url: str, context: Callable[..., Any]) -> None:
        self.url = url
        self.context = context

    @abstractmethod
    def request(self, method: str, body: dict[str, Any], params: dict[str, Any], headers: dict[str, Any]) -> None:
        """Send one request."""
