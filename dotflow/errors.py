"""The one error tree of dotflow: every mistake a user can make raises a DotflowError."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DotflowError",
    "InputChangedError",
    "MissingExtraError",
    "StepExitError",
    "StepImportError",
    "StepTimeoutError",
    "UsageError",
]


class DotflowError(Exception):
    """Root of every error dotflow raises on purpose.

    The message is one line that says what went wrong, where, and what to do.
    """


class UsageError(DotflowError):
    """The library was called the wrong way: a missing ``@action``, an unknown mode,
    a callback that is not callable."""


class StepImportError(UsageError):
    """An import string (``pkg.mod.fn`` or ``pkg.mod:fn``) names nothing importable."""


class ConfigError(DotflowError):
    """A profile, a ``dotflow.toml``, an environment variable or a flag holds a bad value."""


class MissingExtraError(DotflowError):
    """An optional provider needs a package that is not installed; the message gives the pip line."""


class InputChangedError(DotflowError):
    """``start(resume=True, on_input_change="raise")`` found inputs that differ from the checkpoints'."""


class StepTimeoutError(DotflowError):
    """A step ran past its ``timeout``; the attempt is abandoned and not retried."""


class StepExitError(DotflowError):
    """A step called ``sys.exit()``; that fails the step rather than ending the whole run."""
