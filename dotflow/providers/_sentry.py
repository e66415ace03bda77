"""The sentry-sdk for LogSentry and TracerSentry: the import check and one ``sentry_sdk.init``,
with the DSN (a secret) kept out of every message."""

from __future__ import annotations

from typing import Any

from dotflow.errors import MissingExtraError, UsageError
from dotflow.redact import Redactor

INSTALL = "pip install 'dotflow[sentry]'"


def require(owner: str) -> Any:
    """The ``sentry_sdk`` module, or MissingExtraError naming the pip line."""
    try:
        import sentry_sdk
    except ImportError:
        raise MissingExtraError(f"{owner} needs sentry-sdk: {INSTALL}") from None
    return sentry_sdk


def init(
    owner: str, sentry_sdk: Any, dsn: str | None, options: dict[str, Any], defaults: dict[str, Any]
) -> Redactor:
    """Call ``sentry_sdk.init(dsn=..., **options)`` as 1.x did (an option left None takes its
    value from ``defaults``), unless the client already running was started with the same DSN
    (LogSentry and TracerSentry given one DSN share one client). With no ``dsn`` nothing is
    initialised: the application's own ``sentry_sdk.init`` is used, and options are refused.
    Returns the Redactor that hides the DSN in any text."""
    redact = Redactor.remembering(dsn, _public_key(dsn))
    options = {key: value for key, value in options.items() if value is not None}
    if dsn is None:
        extra = sorted(options)
        if extra:
            raise UsageError(
                f"{owner}({', '.join(f'{key}=...' for key in extra)}) without dsn=: these go to sentry_sdk.init, "
                "which runs only with a dsn; pass dsn=, or call sentry_sdk.init() yourself"
            )
        return redact
    if not isinstance(dsn, str) or not dsn.strip():
        raise UsageError(f"{owner}(dsn=...) must be a non-empty string such as 'https://<key>@<host>/<project>'")
    if sentry_sdk.get_client().dsn == dsn:
        return redact
    try:
        sentry_sdk.init(dsn=dsn, **{**defaults, **options})
    except Exception as exc:
        from dotflow.redact import describe

        raise UsageError(f"{owner}(dsn=***) was refused by sentry_sdk.init: {redact(describe(exc))}") from None
    return redact


def _public_key(dsn: str | None) -> str | None:
    """The key part of ``https://<key>[:<secret>]@host/1``: it is what identifies the project."""
    if not isinstance(dsn, str) or "@" not in dsn or "://" not in dsn:
        return None
    return dsn.split("://", 1)[1].rsplit("@", 1)[0] or None
