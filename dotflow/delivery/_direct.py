"""DirectConnection: one keep-alive HTTP/1.1 connection written and read here, bounded by one deadline per request.

Why not urllib3's connection: a report is a small JSON body and a small answer, and most of the
~270 µs of CPU urllib3 and ``http.client`` spend on one (header objects, the ``email`` parser,
several writes) is what limited delivery to ~1,700 reports a second; 20,000 quick tasks need
40,000 requests within the flush. Here a request is one ``sendall`` and an answer is parsed from
the bytes as they come, for a fraction of that. And each read waits only for what is left of the
request's one deadline, so a server that sends its headers and then a byte a second cannot hold
a request (or ``ping()``) past its timeout: urllib3's timeout is per read.

Used for direct connections (``http`` and ``https`` without a proxy); a proxy or an injected
``requests.Session`` goes through urllib3 (``dotflow.delivery.http.Connection``). Errors are
urllib3's, so that both kinds of connection are judged the same way. Not thread-safe: one sender
uses it.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import ConnectTimeoutError

from dotflow.delivery._quickack import QUICKACK
from dotflow.delivery.answer import BODY_LIMIT, SNIPPET, Answer

if TYPE_CHECKING:
    import ssl

# The longest status line and headers read; past it the answer is not HTTP worth reading.
_HEAD_LIMIT = 64 * 1024
_NO_BODY = frozenset({204, 304})


class Crowded(ConnectTimeoutError):
    """The server left this new connection unanswered for the connect timeout while it answered a
    request sent after this one on another connection of the same transport: it serves fewer
    connections at once than were opened (a single-threaded dev server takes one at a time, and
    the rest wait in its accept queue). The connection was reset, so the server drops it with
    the request unread."""


class DirectConnection:
    """A keep-alive connection to ``host:port`` (TLS when ``tls`` is given), sending ``headers``
    (already encoded lines) with every request; paths are appended to ``prefix`` as given."""

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str,
        headers: bytes,
        tls: ssl.SSLContext | None,
        connect_timeout: float,
        answered: list[float],
    ) -> None:
        self._address = (host, port)
        self._prefix = prefix
        self._headers = headers
        self._tls = tls
        self._server_name = host
        self._connect_timeout = connect_timeout
        # when the latest-sent request answered on any connection of this transport was sent (one
        # cell they share): a new connection whose first request waits while a later one was
        # answered is one the server has not taken
        self._answered = answered
        self._sent_at = 0.0
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._fresh = True  # no answer read on this socket yet

    # -- one request -------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: bytes | None, timeout: float, headers: Mapping[str, str]
    ) -> Answer:
        """One HTTP call within ``timeout`` seconds in all: connecting, sending and reading the
        whole (bounded) answer. Raises urllib3's errors, and ``Crowded``."""
        from urllib3 import exceptions as errors

        deadline = monotonic() + timeout
        if self._sock is not None and self._dropped():
            self.close()  # the server closed it while it was idle: a new one, not a failed request
        if self._sock is None:
            self._connect(deadline)
        lines = [f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1"), self._headers]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        if body is not None:
            lines.append(b"Content-Length: %d\r\n" % len(body))
        lines.append(b"\r\n")
        if body:
            lines.append(body)
        sock = self._sock
        assert sock is not None
        try:
            sock.settimeout(max(0.001, deadline - monotonic()))
            self._sent_at = monotonic()
            sock.sendall(b"".join(lines))
            return self._answer(method, deadline)
        except Crowded:
            raise
        except (errors.HTTPError, OSError) as exc:
            self.close()
            if isinstance(exc, OSError) and _is_tls_error(exc):
                raise errors.SSLError(f"{type(exc).__name__}: {exc}") from None
            if isinstance(exc, (socket.timeout, TimeoutError)):
                raise errors.ReadTimeoutError(None, self._prefix + path, "the request timed out") from None  # type: ignore[arg-type]
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer.clear()
        self._fresh = True
        if sock is not None:
            try:
                sock.close()
            except OSError:  # already broken: nothing to release
                pass

    # -- connecting --------------------------------------------------------------------------

    def _connect(self, deadline: float) -> None:
        from urllib3 import exceptions as errors

        wait = min(self._connect_timeout, deadline - monotonic())
        if wait <= 0:
            raise errors.ConnectTimeoutError("no time left to connect")
        try:
            sock = socket.create_connection(self._address, timeout=wait)
        except socket.gaierror as exc:
            raise errors.NewConnectionError(None, f"Failed to resolve {self._address[0]!r} ({exc})") from None  # type: ignore[arg-type]
        except (socket.timeout, TimeoutError):
            raise errors.ConnectTimeoutError(f"connecting took longer than {wait:.3g} s") from None
        except OSError as exc:
            raise errors.NewConnectionError(None, f"Failed to establish a new connection: {exc}") from None  # type: ignore[arg-type]
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one write per request: never hold it
            if self._tls is not None:
                sock.settimeout(max(0.001, deadline - monotonic()))
                sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)
        except OSError as exc:
            sock.close()
            if _is_tls_error(exc):
                raise errors.SSLError(f"{type(exc).__name__}: {exc}") from None
            raise errors.NewConnectionError(None, f"Failed to establish a new connection: {exc}") from None  # type: ignore[arg-type]
        self._sock = sock
        self._fresh = True

    def _dropped(self) -> bool:
        """Whether an idle keep-alive socket was closed by the server (readable with nothing asked)."""
        sock = self._sock
        if sock is None or self._buffer:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        if self._tls is None:
            return True  # an idle plain socket is readable only at its end (or with junk)
        # TLS: a record with no data (a TLS 1.3 session ticket) makes it readable too
        import ssl

        try:
            sock.setblocking(False)
            sock.recv(1)  # data nobody asked for, or b"" at its end: either way the connection is done
        except ssl.SSLWantReadError:
            return False
        except OSError:
            pass
        return True

    # -- reading -----------------------------------------------------------------------------

    def _fill(self, deadline: float, first: bool = False) -> None:
        """Read what the socket has into the buffer, waiting at most until ``deadline``. For the
        ``first`` answer of a new connection, give up after the connect timeout when a request
        sent later was answered on another connection: the server has not taken this one."""
        from urllib3 import exceptions as errors

        sock = self._sock
        assert sock is not None
        while True:
            now = monotonic()
            remaining = deadline - now
            if remaining <= 0:
                raise socket.timeout("the request timed out")
            wait = remaining
            if first:
                wait = min(wait, max(0.0, self._sent_at + self._connect_timeout - now))
            if QUICKACK is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
                except OSError:
                    pass
            sock.settimeout(wait)
            try:
                data = sock.recv(65536)
            except (socket.timeout, TimeoutError):
                if first and self._answered[0] > self._sent_at:
                    self._reset()
                    raise Crowded("no answer on a new connection while later requests were answered") from None
                if wait >= remaining:
                    raise
                first = False  # the server is slow for everyone: wait out the request's deadline
                continue
            if not data:
                raise errors.ProtocolError("the server closed the connection before it answered")
            self._buffer += data
            return

    def _answer(self, method: str, deadline: float) -> Answer:
        from urllib3 import exceptions as errors

        buffer = self._buffer
        while True:
            end = buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(buffer) > _HEAD_LIMIT:
                    raise errors.ProtocolError("the answer's headers are too long")
                self._fill(deadline, first=self._fresh and not buffer)
                end = buffer.find(b"\r\n\r\n")
            head = bytes(buffer[:end]).decode("latin-1")
            del buffer[: end + 4]
            status_line, _, rest = head.partition("\r\n")
            version, _, tail = status_line.partition(" ")
            code = tail[:3]
            if not version.startswith("HTTP/") or not code.isdigit():
                raise errors.ProtocolError(f"not an HTTP answer: {status_line[:40]!r}")
            status = int(code)
            fields: dict[str, str] = {}
            for line in rest.split("\r\n"):
                name, colon, value = line.partition(":")
                if colon:
                    key = name.strip().lower()
                    fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            break
        self._fresh = False
        if self._sent_at > self._answered[0]:  # shared by the senders: a lost update only delays a judgement
            self._answered[0] = self._sent_at
        keep = version == "HTTP/1.1" and "close" not in fields.get("connection", "").lower()
        if method == "HEAD" or status in _NO_BODY or status < 200:
            body = b""
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            body, done = self._chunked(deadline)
            keep = keep and done
        elif "content-length" in fields:
            try:
                length = int(fields["content-length"])
            except ValueError:
                raise errors.ProtocolError("an invalid Content-Length") from None
            body = self._exactly(min(length, BODY_LIMIT + 1), deadline)
            keep = keep and length <= BODY_LIMIT  # the unread rest is never drained: the connection goes
        else:
            body = self._until_close(deadline)
            keep = False
        if not keep:
            self.close()
        text = body[:SNIPPET].decode("utf-8", "replace")
        return Answer(status, fields.get("retry-after"), fields.get("location"), text, bytes(body[:BODY_LIMIT]),
                      fields.get("dotflow-protocol"), fields.get("dotflow-token"))

    def _exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _line(self, deadline: float) -> bytes:
        from urllib3 import exceptions as errors

        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _HEAD_LIMIT:
                raise errors.ProtocolError("a chunk line is too long")
            self._fill(deadline)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _chunked(self, deadline: float) -> tuple[bytes, bool]:
        """A chunked body, up to just past the bound; whether it was read to its end."""
        from urllib3 import exceptions as errors

        parts: list[bytes] = []
        size_read = 0
        while True:
            try:
                size = int(self._line(deadline).split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise errors.ProtocolError("an invalid chunk size") from None
            if size == 0:
                while self._line(deadline):
                    pass  # trailers, read and dropped
                return b"".join(parts), True
            if size_read + size > BODY_LIMIT:
                parts.append(self._exactly(min(size, BODY_LIMIT + 1 - size_read), deadline))
                return b"".join(parts), False
            parts.append(self._exactly(size, deadline))
            self._exactly(2, deadline)  # the chunk's CRLF
            size_read += size

    def _until_close(self, deadline: float) -> bytes:
        from urllib3 import exceptions as errors

        while len(self._buffer) <= BODY_LIMIT:
            try:
                self._fill(deadline)
            except errors.ProtocolError:  # the close that ends this body
                break
        return bytes(self._buffer[: BODY_LIMIT + 1])

    def _reset(self) -> None:
        """Close with an RST (SO_LINGER 0): a connection still waiting in the server's accept queue is
        dropped with the request in it, so the server cannot read and apply it after its resend."""
        sock = self._sock
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
        self.close()


def _is_tls_error(exc: BaseException) -> bool:
    import ssl

    return isinstance(exc, ssl.SSLError)


def header_block(headers: Mapping[str, str]) -> bytes:
    """``headers`` as the lines a request carries, encoded once."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


def tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    """A client context as requests would make it: ``verify`` True (requests' CA bundle), a CA
    file or folder, or False; ``cert`` a client certificate file or a (cert, key) pair."""
    import os
    import ssl

    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        if verify is True or not verify:
            from requests.utils import DEFAULT_CA_BUNDLE_PATH

            verify = DEFAULT_CA_BUNDLE_PATH
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    if cert:
        if isinstance(cert, (tuple, list)):
            context.load_cert_chain(cert[0], cert[1])
        else:
            context.load_cert_chain(cert)
    return context
