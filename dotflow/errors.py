"""The one error tree of dotflow: every mistake a user can make raises a DotflowError.

```text
    DotflowError                  every error dotflow raises on purpose; one line: what, where, what to do
    ├── UsageError                the library was called the wrong way
    │   ├── StepImportError       an import string names nothing importable
    │   └── StepPickleError       a step, its inputs or its result cannot cross to a worker process
    ├── ConfigError               a profile, dotflow.toml, variable or flag holds a bad value
    ├── MissingExtraError         an optional provider's package is missing (also an ImportError)
    ├── InputChangedError         resume found inputs that differ from the checkpoints'
    ├── StorageError              a storage could not read or write (the folder, the bucket, the SDK)
    ├── ServerError               a server provider could not be set up or reached when asked to
    ├── ExecutorError             the executor cannot start (a Dask scheduler unreachable) or lost contact
    │   └── WorkerDiedError       the worker process running a step died (recorded on the task)
    ├── RemoteStepError           a step's exception from a worker process that cannot be re-created here
    ├── StepTimeoutError          a step ran past its timeout (recorded on the task, not raised by start())
    ├── StepExitError             a step called sys.exit() (recorded on the task, not raised by start())
    └── Interrupted               a signal or the process's exit cut the task short (recorded on the task)
```
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DotflowError",
    "ExecutorError",
    "InputChangedError",
    "Interrupted",
    "MissingExtraError",
    "RemoteStepError",
    "ServerError",
    "StepExitError",
    "StepImportError",
    "StepPickleError",
    "StepTimeoutError",
    "StorageError",
    "TaskCancelled",
    "UsageError",
    "WorkerDiedError",
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


class StepPickleError(UsageError):
    """A step, its inputs or its result cannot be pickled to cross to or from a worker process
    (``executor="process"``, Dask, an Executor instance); the task fails and is not retried."""


class ExecutorError(DotflowError):
    """The executor of a run cannot start or lost contact: the process pool's helper process
    died, a Dask scheduler is unreachable, an Executor refused a call."""


class WorkerDiedError(ExecutorError):
    """The worker process (or Dask worker) running a step died mid-step; the attempt fails
    like a step error, so it is retried when attempts are left."""


class RemoteStepError(DotflowError):
    """A step raised, in a worker process, an exception that cannot be re-created here; the
    message names its type and keeps its text, and the worker's traceback is its cause."""



class TaskCancelled(DotflowError):
    """Raised by a step that stops because its cancellation was requested
    (``dotflow.current_task().cancel_requested()``): the task ends Cancelled, not Failed, and is
    not retried. The message, when given, is logged; the reason kept is the cancel request's."""


class Interrupted(DotflowError):
    """A signal (SIGTERM, Ctrl-C), the interpreter's exit or ``Manager.interrupt()`` ended the run
    before the task: what the task records (``TaskError.exception == "Interrupted"``, its message
    ``interrupted by SIGTERM``), from the CLI and from a library run alike, whatever exception
    carried the signal (KeyboardInterrupt, the CLI's RunInterrupted). Not raised by ``start()``."""
