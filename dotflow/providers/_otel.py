"""The OpenTelemetry SDK for the three otel providers: the import check, the resource, and
which provider (given, the application's global one, or a new one) receives dotflow's data."""

from __future__ import annotations

from typing import Any, Callable

from dotflow.errors import MissingExtraError, UsageError

INSTALL = "pip install 'dotflow[otel]'"


def require(owner: str) -> None:
    """Raise MissingExtraError naming the pip line when the OpenTelemetry SDK is missing."""
    try:
        import opentelemetry.sdk.resources  # noqa: F401
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"{owner} needs the OpenTelemetry SDK: {INSTALL}") from None


def resource(service_name: str, owner: str) -> Any:
    if not isinstance(service_name, str) or not service_name.strip():
        raise UsageError(f"{owner}(service_name={service_name!r}): expected a non-empty string such as 'my-pipeline'")
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": service_name})


def version() -> str:
    from dotflow import __version__

    return __version__


def is_unset(provider: Any) -> bool:
    """Whether a global provider is still the API's placeholder (nothing was installed)."""
    return "Proxy" in type(provider).__name__


def choose(
    given: Any,
    wired: bool,
    current: Callable[[], Any],
    build: Callable[[], Any],
    install: Callable[[Any], None],
) -> Any:
    """The provider to use, in this order:

    1. ``given`` (the ``*_provider=`` argument), left as it is;
    2. a new one when ``wired`` (an exporter or reader was passed: it goes to that one only);
    3. the application's global provider, when it installed one (as ``opentelemetry-instrument``
       does): dotflow's data then goes wherever the rest of the application's goes;
    4. a new one, installed as the global provider, as dotflow 1.x did, so that processors the
       application adds to the global provider later receive dotflow's data.
    """
    if given is not None:
        return given
    if wired:
        return build()
    installed = current()
    if not is_unset(installed):
        return installed
    provider = build()
    install(provider)
    return provider


def force_flush(provider: Any, timeout: float | None) -> None:
    from dotflow.providers._telemetry import seconds_to_millis

    flush = getattr(provider, "force_flush", None)  # the API's no-op providers have none
    if flush is not None:
        flush(seconds_to_millis(timeout))
