"""``TCPClient`` and ``TCPServer``: 1.x's contracts of a TCP sender and receiver, kept for code that
subclasses them. dotflow itself does not call them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable


class TCPClient(ABC):
    def __init__(self, url: str) -> None:
        self.url = url
        self.context: Any = None

    @abstractmethod
    def sender(self, content: dict[str, Any]) -> None:
        """Send ``content``."""


class TCPServer(ABC):
    def __init__(self, url: str, handler: Callable[..., Any]) -> None:
        self.url = url
        self.handler = handler
        self.context: Any = None

    @abstractmethod
    async def receiver(self) -> None:
        """Handle what comes in."""

    @abstractmethod
    async def run(self) -> None:
        """Serve until stopped."""
