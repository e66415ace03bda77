"""The HTTP transport of remote providers: connections that follow no redirect and read little of an answer.

A ``Transport`` makes keep-alive connections to one URL root that never follow a redirect, never
re-normalise an encoded id, and read at most a small part of any answer; an ``HTTPChannel`` is one
of them as a ``DeliveryQueue`` sender uses it, and ``probe`` is the one synchronous check a
provider's ``ping()`` makes. ServerAPI and the HTTP notifiers use them.

Each sender thread gets its own connection. A direct one (no proxy, no injected session) is a
``DirectConnection`` (``_direct``): one write per request, the answer parsed from its bytes, the
whole request bounded by its timeout. Through a proxy, or an injected session's adapters (the
session is never closed), it is a ``PoolConnection`` over urllib3. Either way the first answer on
a new connection is awaited at most ``connect_timeout`` once other connections are being
answered, so a server that serves one connection at a time is noticed (``Crowded``). requests is
imported only when the first connection opens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

from dotflow.delivery.answer import BODY_LIMIT, SNIPPET, Answer

if TYPE_CHECKING:
    import requests

    from dotflow.delivery.queue import Outcome

# Session headers not worth sending on every report: HTTP/1.1 keeps connections alive and any
# answer type is read the same way.
_DEFAULTS = ("connection", "accept")
# Seconds to connect, and to wait for a new connection's first answer while the server answers
# other connections (never more than the request's timeout): a server that has not taken a
# connection by then serves fewer at once than were opened.
CONNECT_TIMEOUT = 3.0


class Connection(Protocol):
    """One sender's keep-alive connection (``DirectConnection`` or ``PoolConnection``)."""

    def request(
        self, method: str, path: str, body: bytes | None, timeout: float, headers: dict[str, str]
    ) -> Answer: ...

    def close(self) -> None: ...


def segment(value: Any, what: str) -> str:
    """``value`` as one percent-encoded path segment that no id can turn into path syntax."""
    text = "" if value is None else str(value)
    if not text:
        raise ValueError(f"the {what} is empty")
    encoded = quote(text, safe="")
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")  # quote() leaves dots alone; "." or ".." would climb the path
    return encoded


def redirect_host(url: str, location: str | None) -> str:
    """The host (and port) a redirect points to, without userinfo, path or query."""
    if not location:
        return "no Location"
    try:
        parts = urlsplit(urljoin(url, location))
        host, port = parts.hostname, parts.port
    except ValueError:
        return "an invalid Location"
    if not host:
        return "an invalid Location"
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{host}:{port}" if port else host


class PingStatus(str, Enum):
    """What a ``ping()`` found. The values are the strings the CLI prints."""

    OK = "ok"  # a 2xx answer: the service is there and took the secret
    AUTH = "auth"  # the service is there and refused the token (401, 403; a notifier's 404)
    # the service is there, but the route probed does not exist for GET (ServerAPI: the contract
    # has only POST and PATCH routes), so the token could not be checked
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"  # no answer: connection refused, DNS, TLS or timeout
    ERROR = "error"  # any other answer (400, 500, a redirect, ...) or a local failure; see ``detail``


@dataclass(frozen=True)
class PingResult:
    """The outcome of one ``ping()``: a ``status`` and a short ``detail`` ("HTTP 401", "ConnectTimeout").

    True when nothing wrong was found: ``OK``, or ``REACHABLE`` (the token was not checked).
    """

    status: PingStatus
    detail: str

    def __bool__(self) -> bool:
        return self.status in (PingStatus.OK, PingStatus.REACHABLE)


def probe(
    transport: Transport,
    path: str,
    timeout: float,
    hide: Callable[[str], str],
    *,
    refused: Collection[int] = (401, 403),
    unchecked: Collection[int] = (),
    unchecked_note: str = "",
    headers: dict[str, str] | None = None,
) -> PingResult:
    """One synchronous ``GET`` of ``path``, its answer classified; never raises.

    ``OK`` on a 2xx answer, ``AUTH`` on a status in ``refused``, ``REACHABLE`` on one in
    ``unchecked`` (``unchecked_note`` says what could not be checked), ``UNREACHABLE`` on a
    connection error or timeout, ``ERROR`` otherwise. A redirect is not followed (``ERROR``):
    the secret must not leave the URL's host. ``hide`` redacts what a detail could echo;
    ``headers`` go with the request (a token that may change).
    """
    try:
        from urllib3.exceptions import HTTPError, SSLError
    except ImportError:
        return PingResult(PingStatus.ERROR, "requests is not installed: pip install requests")
    connection: Connection | None = None
    try:
        connection = transport.connect()
        answer = connection.request("GET", path, None, timeout, headers or {})
    except SSLError as exc:
        return PingResult(PingStatus.ERROR, f"TLS: {type(exc).__name__}")
    except HTTPError as exc:
        return PingResult(PingStatus.UNREACHABLE, type(exc).__name__)
    except Exception as exc:
        return PingResult(PingStatus.ERROR, type(exc).__name__)
    finally:
        if connection is not None:
            connection.close()
    status = answer.status
    if 200 <= status < 300:
        return PingResult(PingStatus.OK, f"HTTP {status}")
    if status in refused:
        return PingResult(PingStatus.AUTH, f"HTTP {status}")
    if status in unchecked:
        return PingResult(PingStatus.REACHABLE, f"HTTP {status}: {unchecked_note}".rstrip(": "))
    if 300 <= status < 400:
        target = hide(redirect_host(transport.url(path), answer.location))
        return PingResult(
            PingStatus.ERROR,
            f"HTTP {status}, a redirect to {target} that was not followed (the secret must not leave the URL's host)",
        )
    return PingResult(PingStatus.ERROR, f"HTTP {status}")


class Transport:
    """Makes the connections to one URL root, all sending JSON with the same extra ``headers``
    (ServerAPI's token header; none for the notify providers, whose secret is in the URL)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._base_url = base_url
        self._headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # the body is read raw and bounded: no decompression bombs
            **(headers or {}),
        }
        self._session = session
        self._prepared_base: str | None = None
        self.connect_timeout = connect_timeout
        self._direct: tuple[Any, ...] | None = None  # what every DirectConnection shares, made once
        self._answered = [0.0]  # see DirectConnection

    def url(self, path: str) -> str:
        """The full URL of ``path`` (already encoded): requests normalises the root once (IDNA
        host, quoting); the segments appended here must not be normalised again."""
        if self._prepared_base is None:
            import requests

            prepared = requests.Request("GET", self._base_url).prepare().url or self._base_url
            self._prepared_base = prepared.rstrip("/")
        return self._prepared_base + path

    def warm(self) -> None:
        """Import what connections need and resolve how to reach the URL, now, on the caller's
        thread: a sender or heartbeat thread that does it later, while a step that computes holds
        the interpreter, would send its first request late (requests' import is about 250 modules)."""
        import requests  # noqa: F401

        if self._session is None and self._direct is None:
            self._direct = self._direct_setup()
        if self._direct:
            from dotflow.delivery import _direct  # noqa: F401

    def connect(self) -> Connection:
        """A new connection: a direct one, or one through the injected session or a proxy."""
        import requests

        if self._session is not None:
            return PoolConnection(
                self.url(""), self._session, owned=False, headers=self._headers, connect_timeout=self.connect_timeout
            )
        if self._direct is None:
            self._direct = self._direct_setup()
        if not self._direct:  # a proxy carries the requests: requests' own machinery reaches it
            from dotflow.delivery._quickack import QuickAckAdapter

            session = requests.Session()
            session.mount("http://", QuickAckAdapter())
            session.mount("https://", QuickAckAdapter())
            return PoolConnection(
                self.url(""), session, owned=True, headers=self._headers, connect_timeout=self.connect_timeout
            )
        from dotflow.delivery._direct import DirectConnection

        host, port, prefix, headers, tls = self._direct
        return DirectConnection(host, port, prefix, headers, tls, self.connect_timeout, self._answered)

    def _direct_setup(self) -> tuple[Any, ...]:
        """Host, port, path prefix, header lines and TLS context of direct connections, as requests
        would reach the URL (its default headers, Basic auth from ``user:pass@``, the environment's
        CA bundle and client certificate); empty when a proxy applies to the URL."""
        import requests
        from requests.utils import select_proxy

        from dotflow.delivery._direct import header_block, tls_context

        base = self.url("")
        with requests.Session() as session:
            settings = session.merge_environment_settings(base, {}, None, None, None)
            if select_proxy(base, settings["proxies"]):
                return ()
            prepared = requests.Request("GET", base).prepare()
            parts = urlsplit(base)
            scheme = parts.scheme.lower()
            host = parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
            shown_host = f"[{host}]" if ":" in host else host
            if parts.port and parts.port != (443 if scheme == "https" else 80):
                shown_host = f"{shown_host}:{parts.port}"
            headers = {"Host": shown_host}
            headers.update((str(k), str(v)) for k, v in session.headers.items() if k.lower() not in _DEFAULTS)
            if "Authorization" in prepared.headers:  # user:pass@ in base_url: Basic auth, as requests sends it
                headers["Authorization"] = str(prepared.headers["Authorization"])
            headers.update(self._headers)
            tls = tls_context(settings["verify"], settings["cert"]) if scheme == "https" else None
        return host, port, parts.path.rstrip("/"), header_block(headers), tls


class PoolConnection:
    """One keep-alive connection through urllib3, for a proxy or an injected session (a direct
    connection is a ``DirectConnection``). Not thread-safe: one sender uses it. urllib3 bounds
    each read by the timeout, not the answer as a whole.

    requests decides how to reach the host: the session's mounted adapter, proxies, CA bundle
    and client certificate (from the session and the environment, resolved once, since every
    request goes to the same host). Each call then goes straight to that adapter's urllib3
    pool: a report costs about half the CPU of a full ``Session.send`` (no hooks, cookies,
    redirect machinery or response object), which is what lets thousands of reports keep up.
    """

    def __init__(
        self,
        base: str,
        session: requests.Session,
        *,
        owned: bool,
        headers: Mapping[str, str],
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        """``base`` is the root every path is appended to, as ``Transport.url("")`` gives it;
        ``headers`` go with every request, over the session's own."""
        import requests

        self._session = session
        self._owned = owned
        settings = session.merge_environment_settings(base, {}, None, None, None)
        probe = requests.Request("GET", base).prepare()
        adapter = session.get_adapter(base)
        self._pool = adapter.get_connection_with_tls_context(  # type: ignore[attr-defined]
            probe, settings["verify"], proxies=settings["proxies"], cert=settings["cert"]
        )
        # the path, or the whole URL when an HTTP proxy carries the request
        self._prefix = adapter.request_url(probe, settings["proxies"]).rstrip("/")  # type: ignore[attr-defined]
        # the session's headers but the two that only restate HTTP/1.1's defaults
        self._headers = {str(k): str(v) for k, v in session.headers.items() if k.lower() not in _DEFAULTS}
        if "Authorization" in probe.headers:  # user:pass@ in base_url: Basic auth, as requests sends it
            self._headers["Authorization"] = str(probe.headers["Authorization"])
        self._headers.update(headers)
        self._last_timeout: tuple[float, Any] = (-1.0, None)
        self._connect_timeout = connect_timeout

    def request(self, method: str, path: str, body: bytes | None, timeout: float, headers: dict[str, str]) -> Answer:
        """One HTTP call, never following a redirect. Raises urllib3's errors."""
        sent = {**self._headers, **headers}
        if body is not None:
            sent["Content-Length"] = str(len(body))
        # requests drops Authorization on a cross-host redirect but keeps X-User-Token, so following
        # one would hand the token to whatever host the Location names. The path is used as given:
        # re-normalising it would turn an id's %2E%2E back into "..", which climbs the path.
        response = self._pool.urlopen(
            method,
            self._prefix + path,
            body=body,
            headers=sent,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=False,
            timeout=self._timeout(timeout),
        )
        try:
            # one read: it returns at the body's end, or once past the bound
            data = response.read(BODY_LIMIT + 1, decode_content=False)
            if len(data) > BODY_LIMIT:
                response.close()  # the unread rest is never drained: the connection goes instead
            text = data[:SNIPPET].decode("utf-8", "replace")
            headers = response.headers
            return Answer(response.status, headers.get("Retry-After"), headers.get("Location"), text,
                          data[:BODY_LIMIT], headers.get("Dotflow-Protocol"), headers.get("Dotflow-Token"))
        finally:
            response.release_conn()

    def _timeout(self, seconds: float) -> Any:
        """urllib3's Timeout for ``seconds``, made once per distinct value (most calls share one)."""
        if self._last_timeout[0] != seconds:
            from urllib3 import Timeout

            # urllib3 bounds each read, not the whole answer: the read timeout is the request's
            self._last_timeout = (seconds, Timeout(connect=min(seconds, self._connect_timeout), read=seconds))
        return self._last_timeout[1]

    def close(self) -> None:
        if self._owned:
            with contextlib.suppress(Exception):  # best effort
                self._session.close()


class LaneConnection:
    """The one connection of a lane that does not go through a ``DeliveryQueue`` (a runner's
    heartbeats, its log batches): opened on first use, dropped after any failure so that the next
    request opens a new one. Not thread-safe: the lane's own thread uses it."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._connection: Connection | None = None

    def request(self, method: str, path: str, body: bytes | None, timeout: float, headers: dict[str, str]) -> Answer:
        """One request; raises what the connection raises (after dropping it)."""
        try:
            if self._connection is None:
                self._connection = self._connect()
            return self._connection.request(method, path, body, timeout, headers)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class HTTPChannel:
    """A ``DeliveryQueue`` channel over one connection: each payload goes to the provider's
    ``send(connection, payload, deadline)``, which makes its requests and judges the answers."""

    def __init__(self, connection: Connection, send: Callable[[Connection, Any, float | None], Outcome]) -> None:
        self._connection = connection
        self._send = send

    def send(self, payload: Any, deadline: float | None) -> Outcome:
        return self._send(self._connection, payload, deadline)

    def close(self) -> None:
        self._connection.close()
