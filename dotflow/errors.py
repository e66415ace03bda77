"""The one error tree of dotflow: every mistake a user can make raises a DotflowError.

::

    DotflowError                  every error dotflow raises on purpose; one line: what, where, what to do
    ├── UsageError                the library was called the wrong way
    │   └── StepImportError       an import string names nothing importable
    ├── ConfigError               a profile, dotflow.toml, variable or flag holds a bad value
    ├── MissingExtraError         an optional provider's package is missing (also an ImportError)
    ├── InputChangedError         resume found inputs that differ from the checkpoints'
    ├── StorageError              a storage could not read or write (the folder, the bucket, the SDK)
    ├── ServerError               a server provider could not be set up or reached when asked to
    ├── StepTimeoutError          a step ran past its timeout (recorded on the task, not raised by start())
    └── StepExitError             a step called sys.exit() (recorded on the task, not raised by start())
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DotflowError",
    "InputChangedError",
    "MissingExtraError",
    "ServerError",
    "StepExitError",
    "StepImportError",
    "StepTimeoutError",
    "StorageError",
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


class MissingExtraError(DotflowError, ImportError):
    """An optional provider needs a package that is not installed; the message gives the pip line.

    It is also an ``ImportError``, so code that guards an optional import keeps working."""


class InputChangedError(DotflowError):
    """``start(resume=True, on_input_change="raise")`` found inputs that differ from the checkpoints'."""


class StorageError(DotflowError):
    """A storage could not read or write: an unusable folder, a missing bucket, an SDK failure."""


class ServerError(DotflowError):
    """A server provider could not be set up, or reached when the caller asked to (``ping``).
    Delivery failures during a run are never raised: they are logged and counted."""


class StepTimeoutError(DotflowError):
    """A step ran past its ``timeout``; the attempt is abandoned and not retried."""


class StepExitError(DotflowError):
    """A step called ``sys.exit()``; that fails the step rather than ending the whole run."""
