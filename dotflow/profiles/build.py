"""Build the providers of a resolved profile. Each provider module is imported only when chosen."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dotflow.errors import ConfigError
from dotflow.imports import import_string
from dotflow.redact import describe, remember_secrets

if TYPE_CHECKING:
    from dotflow.abc.log import Log
    from dotflow.abc.metrics import Metrics
    from dotflow.abc.notify import Notify
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage
    from dotflow.abc.tracer import Tracer
    from dotflow.profiles.setting import Setting

Get = Callable[[str], Any]


def providers(settings: Mapping[str, Setting]) -> dict[str, Any]:
    """The providers a profile's settings choose, by their Config keyword, built in Config's order.

    ``ResolvedProfile.config()`` and ``Config.from_profile`` both pass this to ``Config``: one
    place decides which provider a profile makes, below both of them. The values the profile marks
    secret are remembered first: a step's error or a log line that echoes one is masked."""
    remember_secrets(*(s.value for s in settings.values() if s.secret and isinstance(s.value, str)))

    def get(key: str) -> Any:
        return settings[key].value

    def source(key: str) -> Any:
        return settings[key].source

    return {
        "storage": storage(get, source),
        "notify": notify(get, source),
        "log": log(get, source),
        "server": server(get, source),
        "tracer": tracer(get, source),
        "metrics": metrics(get, source),
    }


def storage(get: Get, source: Get) -> Storage:
    """The Storage named by ``storage.provider``."""
    provider = get("storage.provider")
    if provider in ("memory", "default"):
        from dotflow.providers.storage_default import StorageDefault

        return StorageDefault()
    if provider == "file":
        from dotflow.providers.storage_file import StorageFile

        return StorageFile(get("storage.path"))
    if provider in ("s3", "gcs"):
        if not get("storage.bucket"):
            raise ConfigError(
                f"storage.provider is {provider!r} (from {source('storage.provider')}) but storage.bucket "
                f"is not set; set bucket in the [storage] table or DOTFLOW_STORAGE_BUCKET"
            )
        if provider == "s3":
            from dotflow.providers.storage_s3 import StorageS3

            return StorageS3(
                bucket=get("storage.bucket"),
                prefix=get("storage.prefix"),
                region=get("storage.region"),
                endpoint_url=get("storage.endpoint_url"),
            )
        from dotflow.providers.storage_gcs import StorageGCS

        return StorageGCS(bucket=get("storage.bucket"), prefix=get("storage.prefix"), project=get("storage.project"))
    from dotflow.abc.storage import Storage

    return plugin("storage.provider", provider, Storage)


def server_provider(get: Get) -> str:
    """``server.provider`` with ``auto`` decided: ``api`` when a URL and token are set, else ``none``."""
    provider = get("server.provider")
    if provider == "auto":
        provider = "api" if get("server.base_url") and get("server.user_token") else "none"
    return str(provider)


def server(get: Get, source: Get) -> Server:
    """The Server named by ``server.provider`` (see ``server_provider`` for ``auto``)."""
    provider = server_provider(get)
    if provider == "none":
        from dotflow.providers.server_default import ServerDefault

        return ServerDefault()
    if provider == "api":
        for key, variable in (("server.base_url", "SERVER_BASE_URL"), ("server.user_token", "SERVER_USER_TOKEN")):
            if not get(key):
                raise ConfigError(
                    f"server.provider is 'api' (from {source('server.provider')}) but {key} is not set; "
                    f"set DOTFLOW_{key.replace('.', '_').upper()} or {variable}"
                )
        from dotflow.providers.server_api import ServerAPI
        from dotflow.providers.server_api.options import OPTIONS

        settings = {option.name: get(f"server.{option.name}") for option in OPTIONS}
        # a refused token's warning names where it came from (a file's ${DEV_TOKEN}, a variable)
        return ServerAPI(
            settings.pop("base_url"), settings.pop("user_token"), **settings, token_source=source("server.user_token")
        )
    from dotflow.abc.server import Server

    return plugin("server.provider", provider, Server)


def notify(get: Get, source: Get) -> Notify | None:
    """The Notify named by ``notify.provider`` (None: Config's default, no notifications)."""
    provider = get("notify.provider")
    if provider == "none":
        return None
    common = {"notification_type": get("notify.notification_type"), "show_result": get("notify.show_result")}
    if provider == "telegram":
        _require(get, source, "notify.provider", ("notify.token", "notify.chat_id"))
        from dotflow.providers.notify_telegram import NotifyTelegram

        if get("notify.base_url"):  # another Bot API server (a local one, a proxy)
            common["base_url"] = get("notify.base_url")
        return NotifyTelegram(token=get("notify.token"), chat_id=get("notify.chat_id"), **common)
    if provider == "discord":
        _require(get, source, "notify.provider", ("notify.webhook_url",))
        from dotflow.providers.notify_discord import NotifyDiscord

        return NotifyDiscord(webhook_url=get("notify.webhook_url"), **common)
    if provider == "apprise":
        _require(get, source, "notify.provider", ("notify.urls",))
        from dotflow.providers.notify_apprise import NotifyApprise

        urls = [url.strip() for url in get("notify.urls").split(",") if url.strip()]
        return NotifyApprise(urls=urls, **common)
    from dotflow.abc.notify import Notify

    return plugin("notify.provider", provider, Notify)  # type: ignore[no-any-return]


def log(get: Get, source: Get) -> Log | None:
    """The Log named by ``log.provider``; ``default`` is LogDefault with the ``[log]`` keys."""
    provider = get("log.provider")
    if provider == "default":
        from dotflow.providers.log_default import LogDefault

        return LogDefault(level=get("log.level"), output=get("log.output"), path=get("log.path"),
                          format=get("log.format"))
    if provider == "sentry":
        from dotflow.providers.log_sentry import LogSentry

        return LogSentry(dsn=get("log.dsn"))
    if provider == "opentelemetry":
        from dotflow.providers.log_opentelemetry import LogOpenTelemetry

        return LogOpenTelemetry()
    from dotflow.abc.log import Log

    return plugin("log.provider", provider, Log)  # type: ignore[no-any-return]


def tracer(get: Get, source: Get) -> Tracer | None:
    """The Tracer named by ``tracer.provider`` (None: no tracing)."""
    provider = get("tracer.provider")
    if provider == "none":
        return None
    if provider == "opentelemetry":
        from dotflow.providers.tracer_opentelemetry import TracerOpenTelemetry

        return TracerOpenTelemetry(service_name=get("tracer.service_name"))
    if provider == "sentry":
        from dotflow.providers.tracer_sentry import TracerSentry

        return TracerSentry(dsn=get("tracer.dsn"))
    from dotflow.abc.tracer import Tracer

    return plugin("tracer.provider", provider, Tracer)  # type: ignore[no-any-return]


def metrics(get: Get, source: Get) -> Metrics | None:
    """The Metrics named by ``metrics.provider`` (None: no metrics)."""
    provider = get("metrics.provider")
    if provider == "none":
        return None
    if provider == "opentelemetry":
        from dotflow.providers.metrics_opentelemetry import MetricsOpenTelemetry

        return MetricsOpenTelemetry(service_name=get("metrics.service_name"))
    from dotflow.abc.metrics import Metrics

    return plugin("metrics.provider", provider, Metrics)  # type: ignore[no-any-return]


def _require(get: Get, source: Get, chooser: str, keys: tuple[str, ...]) -> None:
    """One ConfigError naming every key the chosen provider needs and is not set."""
    missing = [key for key in keys if not get(key)]
    if missing:
        names = ", ".join(f"{key} (DOTFLOW_{key.replace('.', '_').upper()})" for key in missing)
        verb = "are" if len(missing) > 1 else "is"
        raise ConfigError(f"{chooser} is {get(chooser)!r} (from {source(chooser)}) but {names} {verb} not set")


def plugin(key: str, spec: str, contract: type) -> Any:
    """Import ``pkg.mod:Class``, check it makes a ``contract``, and instantiate it with no arguments.

    The string is checked before anything is imported, and each failure has its own one-line error.
    """
    head = f"{key} {spec!r}"
    target = import_string(spec, label=key, error=ConfigError, colon=True, forms="pkg.module:Class")
    attribute = spec.partition(":")[2]
    expected = f"{contract.__module__}.{contract.__name__}"
    # only a class implementing the contract is ever called: a string naming any callable
    # ("os:abort", "sys:exit", "builtins:breakpoint") must not run it
    if not isinstance(target, type):
        raise ConfigError(f"{head}: {attribute} is not a class (it is a {type(target).__name__}); "
                          f"name a subclass of {expected}")
    if not issubclass(target, contract):
        raise ConfigError(f"{head}: {attribute} is not a subclass of {expected}")
    try:
        instance = target()
    except BaseException as exc:  # noqa: BLE001 - even sys.exit() in its __init__ is one line, not an exit
        raise ConfigError(f"{head}: {attribute}() raised {describe(exc)}") from None
    if not isinstance(instance, contract):
        raise ConfigError(f"{head}: {attribute}() returned a {type(instance).__name__}, not a {expected}")
    return instance
