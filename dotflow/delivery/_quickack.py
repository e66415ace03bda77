"""A requests adapter whose connections ask the kernel to ACK at once before each answer is read.

Why: Flask's, Django's and Python's own dev servers write an answer's headers and its body in two
writes, with Nagle's algorithm on. On a keep-alive connection the client's kernel delays the ACK
of the first segment (up to 40 ms on Linux), and the server holds the second until that ACK comes:
every answer then takes ~44 ms instead of ~1 ms. ``TCP_QUICKACK`` turns the delayed ACK off, but
only until the kernel's next decision, so it is set again before every response is read. Where
the option does not exist (macOS, Windows) the connections behave as requests' own.

Imported only when a ``dotflow.delivery.http.Transport`` opens its first connection of its own: it
imports requests and urllib3.
"""

from __future__ import annotations

import socket
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _quick_ack(sock: Any) -> None:
    if QUICKACK is not None and sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        except OSError:  # not a TCP socket (a proxy tunnel, a test double): nothing to speed up
            pass


class _QuickAckHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _quick_ack(self.sock)
        return super().getresponse(*args, **kwargs)


class _QuickAckHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _quick_ack(self.sock)
        return super().getresponse(*args, **kwargs)


class _QuickAckHTTPPool(HTTPConnectionPool):
    ConnectionCls = _QuickAckHTTPConnection


class _QuickAckHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _QuickAckHTTPSConnection


class QuickAckAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` holding one keep-alive connection per host, quick-ACKing every answer."""

    def __init__(self) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _QuickAckHTTPPool, "https": _QuickAckHTTPSPool}
