"""ServerAPI's settings, each defined once: its type, default, validator, meaning and variable.

Everything else reads these definitions: ``ServerAPI(...)``'s defaults, ``ServerOptions``, the
profile schema's ``[server]`` keys, and the tests that hold the docs' tables to them. A validator
takes a value already of the setting's type and returns what is wrong with it (a phrase that
follows the value in a message), or None. ``ServerAPI`` and ``dotflow.toml`` both call these, so
the two can never disagree on what a setting accepts.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

from dotflow.errors import ConfigError
from dotflow.redact import Redactor, credential_parts, mask_url

EXAMPLE_URL = "https://example.com/api/v1"


def base_url_problem(url: str) -> str | None:
    """What is wrong with an API root URL: it must be http(s), have a host, hold no whitespace,
    and no query or fragment (ids are appended to it as path segments)."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "holds whitespace or a control character; remove it (percent-encode it inside a password)"
    from urllib.parse import urlsplit  # here, not at import: the profile schema imports this module

    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"is not a valid URL; expected one like {EXAMPLE_URL!r}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"must start with http:// or https://, like {EXAMPLE_URL!r}"
    if not host:
        return f"has no host; expected a URL like {EXAMPLE_URL!r}"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return f"must not hold a query or fragment ('?', '#'); give only the API root, like {EXAMPLE_URL!r}"
    return None


def token_problem(token: str) -> str | None:
    """What is wrong with a token: it goes in an HTTP header, so it must be printable ASCII."""
    if not token.strip():
        return f"is empty; set it to the token your server issued ({USER_TOKEN.env})"
    if any(not (" " <= ch <= "~") for ch in token.strip()):
        return (
            "holds a character that cannot go in an HTTP header (a control or non-ASCII character); "
            f"check {USER_TOKEN.env} for a stray newline or quote"
        )
    return None


# The longest duration any setting accepts, in seconds. Past it a value is a mistake (1e10 for 10), and
# far past it the clocks and waits it feeds overflow (``threading.TIMEOUT_MAX``): every report lost.
MAX_SECONDS = 3600.0


def _positive(value: float) -> str | None:
    if not (math.isfinite(value) and value > 0):
        return "must be a number greater than 0"
    if value > MAX_SECONDS:
        return f"must be a number greater than 0 and at most {MAX_SECONDS:g} (seconds)"
    return None


def _non_negative(value: float) -> str | None:
    if not (math.isfinite(value) and value >= 0):
        return "must be a number >= 0"
    if value > MAX_SECONDS:
        return f"must be a number from 0 to {MAX_SECONDS:g} (seconds)"
    return None


def _non_negative_int(value: int) -> str | None:
    return None if value >= 0 else "must be an integer >= 0"


def _connections(value: int) -> str | None:
    return None if 1 <= value <= 64 else "must be an integer from 1 to 64"


def _queue_size(value: int) -> str | None:
    return None if value >= 1 else "must be an integer >= 1"


#: When ServerAPI sends ``POST /workflows``: ``auto`` only for a workflow whose id was generated
#: here (an explicit id, a managed runner's above all, names a row the backend made already),
#: ``always`` for every workflow (a developer's backend told of a fixed ``workflow.id``), ``never``.
CREATE_WORKFLOW_CHOICES = ("auto", "always", "never")


def _create_workflow(value: str) -> str | None:
    return None if value in CREATE_WORKFLOW_CHOICES else f"is not one of {', '.join(CREATE_WORKFLOW_CHOICES)}"


#: The runner protocol versions ``server.protocol`` takes: ``auto`` uses version 2 from the first
#: answer that carries ``Dotflow-Protocol: 2``; ``1`` sends version 1's four calls only.
PROTOCOL_CHOICES = ("auto", "1", "2")


def _protocol(value: str) -> str | None:
    return None if value in PROTOCOL_CHOICES else f"is not one of {', '.join(PROTOCOL_CHOICES)}"


def _heartbeat_interval(value: float) -> str | None:
    return None if math.isfinite(value) and 1 <= value <= 300 else "must be a number of seconds from 1 to 300"


class Option(NamedTuple):
    """One setting of ServerAPI: ``ServerAPI(<name>=...)``, ``[server] <name>`` in a profile and
    ``DOTFLOW_SERVER_<NAME>`` in the environment. ``doc`` is its meaning as the docs' tables give
    it; ``env`` is the managed runner's own variable for it, when it has one."""

    name: str
    type: type
    default: Any
    check: Callable[[Any], str | None]
    doc: str
    secret: bool = False
    env: str | None = None


BASE_URL = Option(
    "base_url", str, None, base_url_problem, "the API root, like https://example.com/api/v1", env="SERVER_BASE_URL"
)
USER_TOKEN = Option(
    "user_token",
    str,
    None,
    token_problem,
    "the token your server issued, sent as X-User-Token",
    secret=True,
    env="SERVER_USER_TOKEN",
)
TIMEOUT = Option("timeout", float, 15.0, _positive, "seconds per request (cut to the deadline during a flush)")
FLUSH_TIMEOUT = Option(
    "flush_timeout", float, 10.0, _non_negative, "seconds to deliver what is pending at exit or on `flush()`"
)
SIGNAL_FLUSH_TIMEOUT = Option("signal_flush_timeout", float, 5.0, _non_negative, "the same after SIGTERM or SIGINT")
RETRIES = Option("retries", int, 5, _non_negative_int, "attempts of one report after its first")
BACKOFF_MAX = Option("backoff_max", float, 30.0, _positive, "cap on one wait between attempts, seconds")
MAX_CONNECTIONS = Option(
    "max_connections", int, 4, _connections, "keep-alive connections (1 to 64), one sender thread each"
)
QUEUE_SIZE = Option(
    "queue_size", int, 10_000, _queue_size, "reports queued before the oldest non-terminal ones are dropped"
)
CREATE_WORKFLOW = Option(
    "create_workflow",
    str,
    "auto",
    _create_workflow,
    "when to send `POST /workflows`: `auto` (only for an id generated here, so never in managed mode), "
    "`always`, `never`",
)

PROTOCOL = Option(
    "protocol",
    str,
    "auto",
    _protocol,
    "the runner protocol: `auto` (version 2 once the backend answers with `Dotflow-Protocol: 2`), `1`, `2`",
    env="SERVER_PROTOCOL",
)
HEARTBEAT_INTERVAL = Option(
    "heartbeat_interval",
    float,
    15.0,
    _heartbeat_interval,
    "seconds between heartbeats (version 2; 1 to 300), until the backend's answer says otherwise",
)

LOG_BUFFER = Option(
    "log_buffer", int, 50_000, _queue_size,
    "log records (version 2) waiting to be sent before the oldest are dropped and counted",
)

# In ServerAPI's parameter order, which ServerOptions' fields follow.
OPTIONS: tuple[Option, ...] = (
    BASE_URL,
    USER_TOKEN,
    TIMEOUT,
    FLUSH_TIMEOUT,
    SIGNAL_FLUSH_TIMEOUT,
    RETRIES,
    BACKOFF_MAX,
    MAX_CONNECTIONS,
    QUEUE_SIZE,
    CREATE_WORKFLOW,
    PROTOCOL,
    HEARTBEAT_INTERVAL,
    LOG_BUFFER,
)
BY_NAME = {option.name: option for option in OPTIONS}


class ServerOptions(NamedTuple):
    """ServerAPI's validated settings, one field per ``OPTIONS`` entry, in order, with its default.
    Build it with ``ServerOptions.of(...)``.

    A NamedTuple rather than a frozen dataclass: the profile schema imports this module, and
    ``dataclasses`` (with ``inspect``) was the biggest cost of the first ``DotFlow()``."""

    base_url: str
    user_token: str
    timeout: float = TIMEOUT.default
    flush_timeout: float = FLUSH_TIMEOUT.default
    signal_flush_timeout: float = SIGNAL_FLUSH_TIMEOUT.default
    retries: int = RETRIES.default
    backoff_max: float = BACKOFF_MAX.default
    max_connections: int = MAX_CONNECTIONS.default
    queue_size: int = QUEUE_SIZE.default
    create_workflow: str = CREATE_WORKFLOW.default
    protocol: str = PROTOCOL.default
    heartbeat_interval: float = HEARTBEAT_INTERVAL.default
    log_buffer: int = LOG_BUFFER.default

    @classmethod
    def of(cls, **values: Any) -> ServerOptions:
        """Check and normalise each value (strings stripped, ints as floats where a number is
        wanted); raise ConfigError naming the first bad one, without echoing a secret."""
        token = values.get("user_token")
        hide = Redactor(token.strip() if isinstance(token, str) else None)
        converted: dict[str, Any] = {}
        for name in cls._fields:
            option = BY_NAME[name]
            value = values.get(name, option.default)
            converted[name] = _convert(option, value, hide)
        converted["base_url"] = converted["base_url"].rstrip("/")
        return cls(**converted)

    def __repr__(self) -> str:
        shown = mask_url(self.base_url, self.user_token)
        return f"ServerOptions(base_url={shown!r}, user_token='***', timeout={self.timeout!r})"


def _convert(option: Option, value: Any, hide: Redactor) -> Any:
    if option is PROTOCOL and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # `protocol = 2` in a dotflow.toml
    if option.type is str:
        if not isinstance(value, str):
            if option.secret:
                what = "the token your server issued"
            elif option is BASE_URL:
                what = f"a URL like {EXAMPLE_URL!r}"
            else:
                what = (option.check("") or "").removeprefix("is ")
            raise ConfigError(f"ServerAPI {option.name} must be a string ({what}), got {type(value).__name__}")
        value = value.strip()
    elif option.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"ServerAPI {option.name}={value!r} is invalid; it must be a number")
        value = float(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"ServerAPI {option.name}={value!r} is invalid; it must be an integer")
    problem = option.check(value)
    if problem:
        shown = "'***'" if option.secret else repr(hide(mask_url(value)) if isinstance(value, str) else value)
        raise ConfigError(f"ServerAPI {option.name} {shown} {problem}")
    return value


def credentials_of(options: ServerOptions) -> Redactor:
    """The Redactor that hides these options' secrets: the token and the URL's userinfo, which the
    process remembers from now on (``dotflow.redact.remember_secrets``)."""
    return Redactor.remembering(options.user_token, *credential_parts(options.base_url))
