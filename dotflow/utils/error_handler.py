"""An exception's text and traceback as str (1.x's ``dotflow.utils.error_handler``)."""

from __future__ import annotations

__all__ = ["message_error", "traceback_error"]


def traceback_error(error: BaseException) -> str:
    """The formatted traceback of ``error``, without a trailing newline."""
    import traceback as _traceback

    return "".join(_traceback.format_exception(type(error), error, error.__traceback__)).rstrip()


def message_error(error: BaseException) -> str:
    """The exception's message, ``str(error)``."""
    return str(error)
