"""The keys a profile may set: their type, default, secrecy, environment variable and validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dotflow.errors import ConfigError
from dotflow.ids import workflow_id_problem
from dotflow.imports import is_import_string
from dotflow.lazy import LazyPattern
from dotflow.profiles.discover import ENV_PREFIX
from dotflow.providers.server_api.options import OPTIONS as SERVER_OPTIONS
from dotflow.redact import mask_credentials, origin
from dotflow.settings import OPTIONS as RUN_OPTIONS
from dotflow.settings import SECTION as RUN_SECTION
from dotflow.types import NOTIFIABLE

SECTIONS = ("server", "storage", "workflow", "notify", "log", "tracer", "metrics")

_HTTP_URL = LazyPattern(r"https?://[^/?#\s]+(?:[/?#]\S*)?", re.IGNORECASE)

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})

SERVER_PROVIDERS = ("auto", "none", "api")
STORAGE_PROVIDERS = ("memory", "default", "file", "s3", "gcs")
NOTIFY_PROVIDERS = ("none", "telegram", "discord", "apprise")
LOG_PROVIDERS = ("default", "opentelemetry", "sentry")
TRACER_PROVIDERS = ("none", "opentelemetry", "sentry")
METRICS_PROVIDERS = ("none", "opentelemetry")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_OUTPUTS = ("logger", "console", "file", "both")
LOG_FORMATS = ("simple", "json")
STATUSES = NOTIFIABLE  # a notifier's notification_type: the list NotifyTelegram & co. check too


class Key:
    """One setting: ``section.name``, its type and default, and how it is checked."""

    __slots__ = ("check", "default", "dotted", "env", "name", "secret", "section", "type")

    def __init__(
        self,
        section: str,
        name: str,
        type: type,
        default: Any = None,
        secret: bool = False,
        check: Callable[[Any], str | None] | None = None,
        env: str | None = None,
    ) -> None:
        self.section = section
        self.name = name
        self.type = type
        self.default = default
        self.secret = secret
        self.check = check
        self.dotted = f"{section}.{name}"
        self.env = env or f"{ENV_PREFIX}{section.upper()}_{name.upper()}"

    def __repr__(self) -> str:
        return f"Key({self.dotted!r}, {self.type.__name__}, default={self.show(self.default)})"

    def show(self, value: Any) -> str:
        """``value`` as it may appear in a message: ``'***'`` for a secret; a URL only up to its
        host (a token or password may sit in the rest), other text with URL credentials masked."""
        if self.secret:
            return "'***'"
        if isinstance(value, str) and "://" in value:
            return repr(origin(value))
        return repr(mask_credentials(value)) if isinstance(value, str) else repr(value)

    def convert(self, value: Any, where: str) -> Any:
        """Convert a file, environment or flag value to this key's type, or raise ConfigError.

        ``where`` starts the one-line message: a file place or ``DOTFLOW_X='...'``-style name.
        """
        converted = _CONVERTERS[self.type](value)
        if converted is _BAD:
            raise ConfigError(f"{where}: {self.show(value)} is not {_TYPE_WORDS[self.type]}")
        if self.check is not None:
            problem = self.check(converted)
            if problem:
                raise ConfigError(f"{where}: {self.show(converted)} {problem}")
        return converted


_BAD = object()


def _to_str(value: Any) -> Any:
    return value if isinstance(value, str) else _BAD


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):  # `keep_going = 1` in a file means what "1" means in a variable
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
    return _BAD


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if "_" in value or not value.isascii():  # int() reads "1_000" and "١٢" too; write it plainly
            return _BAD
        try:
            return int(value.strip())
        except ValueError:
            return _BAD
    return _BAD


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return _BAD
    if isinstance(value, str):
        if "_" in value or not value.isascii():  # float() reads "1_000" and "١٢" too; write it plainly
            return _BAD
        try:
            return float(value.strip())
        except ValueError:
            return _BAD
    return _BAD


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    str: _to_str,
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
}
_TYPE_WORDS = {
    str: "a string",
    bool: "a bool (true/false, 1/0, yes/no, on/off)",
    int: "an integer",
    float: "a number",
}


def _http_url(value: str) -> str | None:
    if not _HTTP_URL.fullmatch(value):
        return "is not an http or https URL (like 'https://example.com/api/v1')"
    return None


def _non_empty(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _one_of(names: tuple[str, ...], plugin: bool) -> Callable[[str], str | None]:
    allowed = ", ".join(names) + (" or pkg.module:Class" if plugin else "")

    def check(value: str) -> str | None:
        if value in names or (plugin and is_import_string(value, colon=True)):
            return None
        if plugin and ":" in value:
            return "is not an import string; write it as pkg.module:Class"
        return f"is not one of {allowed}"

    return check


KEYS: tuple[Key, ...] = (
    Key("server", "provider", str, "auto", check=_one_of(SERVER_PROVIDERS, True)),
    # ServerAPI's own settings, with its defaults and validators: the two cannot disagree
    *(Key("server", o.name, o.type, o.default, o.secret, o.check) for o in SERVER_OPTIONS),
    Key("storage", "provider", str, "memory", check=_one_of(STORAGE_PROVIDERS, True)),
    Key("storage", "path", str, ".output", check=_non_empty),
    Key("storage", "bucket", str, check=_non_empty),
    Key("storage", "prefix", str, "dotflow/"),
    Key("storage", "region", str),
    Key("storage", "endpoint_url", str, check=_http_url),
    Key("storage", "project", str),
    Key("workflow", "id", str, check=workflow_id_problem),
    Key("workflow", "name", str),
    # the run options (mode, keep_going, ...), each as dotflow.settings defines it
    *(Key(RUN_SECTION, o.name, o.type, o.default, check=o.check, env=o.env) for o in RUN_OPTIONS),
    # the 1.x provider families; each provider's own keys are read only when it is chosen
    Key("notify", "provider", str, "none", check=_one_of(NOTIFY_PROVIDERS, True)),
    Key("notify", "token", str, secret=True, check=_non_empty),  # telegram
    Key("notify", "chat_id", str, check=_non_empty),  # telegram
    Key("notify", "base_url", str, check=_http_url),  # telegram: another Bot API server (default Telegram's)
    Key("notify", "webhook_url", str, secret=True, check=_http_url),  # discord: the URL is the secret
    Key("notify", "urls", str, secret=True, check=_non_empty),  # apprise, comma-separated; they hold tokens
    Key("notify", "notification_type", str, check=_one_of(STATUSES, False)),  # notify only this status
    Key("notify", "show_result", bool, False),
    Key("log", "provider", str, "default", check=_one_of(LOG_PROVIDERS, True)),
    Key("log", "level", str, "INFO", check=_one_of(LOG_LEVELS, False)),
    Key("log", "output", str, "logger", check=_one_of(LOG_OUTPUTS, False)),
    Key("log", "path", str, ".output/flow.log", check=_non_empty),
    Key("log", "format", str, "simple", check=_one_of(LOG_FORMATS, False)),
    Key("log", "dsn", str, secret=True, check=_non_empty),  # sentry
    Key("tracer", "provider", str, "none", check=_one_of(TRACER_PROVIDERS, True)),
    Key("tracer", "service_name", str, "dotflow", check=_non_empty),  # opentelemetry
    Key("tracer", "dsn", str, secret=True, check=_non_empty),  # sentry
    Key("metrics", "provider", str, "none", check=_one_of(METRICS_PROVIDERS, True)),
    Key("metrics", "service_name", str, "dotflow", check=_non_empty),  # opentelemetry
)

# The keys only some providers of their table read: the providers (by the table's provider key).
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "notify.token": ("telegram",),
    "notify.chat_id": ("telegram",),
    "notify.base_url": ("telegram",),
    "notify.webhook_url": ("discord",),
    "notify.urls": ("apprise",),
    "log.dsn": ("sentry",),
    "tracer.service_name": ("opentelemetry",),
    "tracer.dsn": ("sentry",),
    "metrics.service_name": ("opentelemetry",),
}

BY_NAME: dict[str, Key] = {key.dotted: key for key in KEYS}
BY_SECTION: dict[str, dict[str, Key]] = {
    section: {key.name: key for key in KEYS if key.section == section} for section in SECTIONS
}

# Flags of `dotflow start` whose names differ from the key's: the storage's, the id's and each run option's.
FLAGS: dict[str, str] = {
    "storage.provider": "--storage",
    "storage.path": "--path",
    "workflow.id": "--workflow-id",
    **{option.key: option.flag for option in RUN_OPTIONS},
}


def flag_of(dotted: str) -> str:
    """The CLI flag that sets ``dotted`` (``--storage``, ``--server-base-url``, ...)."""
    return FLAGS.get(dotted) or "--" + dotted.replace(".", "-").replace("_", "-")
