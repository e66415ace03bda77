"""Run settings: every option of a run written once, and ``RunSettings``, the checked options of one run.

An option (``mode``, ``keep_going``, ...) is one ``Option`` in ``RunSettings``' class body: its
default, its type and checks, its doc, its flag and its help. The profile's ``[workflow]`` keys
(``dotflow.profiles.schema``), the flags of ``dotflow start`` and ``dotflow schedule``
(``dotflow.cli.common``) and ``DotFlow.start`` all read it from here, so adding an option is one
entry here, plus its docs and tests (and, since a Python signature is written out,
its parameter of ``DotFlow.start``).

This module is imported by ``DotFlow`` and by the profile schema, so it imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Callable, Generic, TypeVar, overload

from dotflow.errors import UsageError
from dotflow.execution.executors import check_executor, executor_problem, max_workers_problem
from dotflow.types import VALID_POLICIES, TypeExecution

__all__ = ["OPTIONS", "RUN_DEFAULTS", "UNSET", "Option", "RunSettings", "is_unset", "profile_or"]

T = TypeVar("T")

SECTION = "workflow"  # the profile table whose keys the run options are
MODES = TypeExecution.ALL


class _Unset:
    """A run option's argument left out: the workflow's run default decides. ``shown`` is what a
    signature shows for it."""

    __slots__ = ("shown",)

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown


UNSET: Any = _Unset("UNSET")
"""A run option left out of ``DotFlow.start``: the workflow's run defaults decide (the resolved
profile's values, else each option's own default). None cannot say it: ``max_workers=None`` is a
value (the CPU count), which wins over a profile's. ``start()``'s signature shows each option's
as ``profile_or(<its default>)``, which means the same."""


def profile_or(default: Any) -> Any:
    """``DotFlow.start``'s default for a run option, as its signature shows it: the workflow's run
    default, which is the resolved profile's value, else ``default`` (the option's own, as
    ``RUN_DEFAULTS`` has it). Passed or left as it is, it counts as not given, as ``UNSET`` does:
    the value comes from the run defaults, never from this argument."""
    return _Unset(f"profile_or({default!r})")


def is_unset(value: Any) -> bool:
    """Whether ``value`` is a run option left out (``UNSET``, or a ``profile_or(...)`` default)."""
    return isinstance(value, _Unset)


class Option(Generic[T]):
    """One run option, as ``RunSettings`` declares it; its ``name`` is the attribute's.

    - ``default``: the value when neither ``start()`` nor the profile gives one.
    - ``type`` (``str``, ``bool`` or ``int``) and ``check``: a file's, a variable's or a flag's
      value is converted to ``type``, then ``check(value)`` says what is wrong with it (None: nothing),
      giving the profile's message (``dotflow.toml:7: 'x' is not one of ...``).
    - ``accept``: turns ``start()``'s argument (or the default it falls back on) into the run's
      value, or raises the UsageError ``start()`` gives. A profile's values pass it too.
    - ``none_is_unset``: ``start(name=None)`` means the default, not the value None.
    - ``doc``: what the option does, as the docs' key table says it.
    - ``help`` and ``short``: the flag's help and its one-letter form. The flag is ``--name`` with
      dashes (``--name/--no-name`` for a bool); the profile key is ``workflow.name``, and the
      environment variable ``DOTFLOW_WORKFLOW_NAME``.
    """

    __slots__ = ("accept", "check", "default", "doc", "help", "name", "none_is_unset", "short", "type")

    def __init__(
        self,
        default: T,
        type: type,
        accept: Callable[[Any], T],
        *,
        doc: str,
        help: str,
        check: Callable[[Any], str | None] | None = None,
        short: str | None = None,
        none_is_unset: bool = False,
    ) -> None:
        self.name = ""  # set when RunSettings' class body is done (__set_name__)
        self.default = default
        self.type = type
        self.accept = accept
        self.check = check
        self.doc = doc
        self.help = help
        self.short = short
        self.none_is_unset = none_is_unset

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def key(self) -> str:
        """The profile key: ``workflow.max_workers``."""
        return f"{SECTION}.{self.name}"

    @property
    def env(self) -> str:
        """The environment variable of the profile key: ``DOTFLOW_WORKFLOW_MAX_WORKERS``."""
        return f"DOTFLOW_{SECTION.upper()}_{self.name.upper()}"

    @property
    def flag(self) -> str:
        """The flag of ``dotflow start`` and ``dotflow schedule``: ``--max-workers``."""
        return "--" + self.name.replace("_", "-")

    @overload
    def __get__(self, instance: None, owner: type) -> Option[T]: ...

    @overload
    def __get__(self, instance: RunSettings, owner: type) -> T: ...

    def __get__(self, instance: RunSettings | None, owner: type) -> Option[T] | T:
        # RunSettings keeps each value in its instance dict, under the option's name, which a
        # descriptor without __set__ gives way to: this serves the class (RunSettings.mode) and mypy
        if instance is None:
            return self
        return instance[self.name]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Option({self.key!r}, default={self.default!r})"


def _mode(value: Any) -> str:
    if value not in MODES:
        raise UsageError(f"unknown mode {value!r}; use one of: {', '.join(MODES)}")
    return str(value)


def _policy(value: Any) -> Any:
    if value not in VALID_POLICIES:
        raise UsageError(f"on_input_change={value!r}; use one of: {', '.join(VALID_POLICIES)}")
    return value


def _max_workers(value: Any) -> Any:
    problem = None if value is None else max_workers_problem(value)
    if problem:
        raise UsageError(f"max_workers={value!r} {problem}")
    return value


def _one_of(names: tuple[str, ...]) -> Callable[[Any], str | None]:
    allowed = ", ".join(names)

    def check(value: Any) -> str | None:
        return None if value in names else f"is not one of {allowed}"

    return check


class RunSettings(Mapping[str, Any]):
    """The options of one run, checked, and immutable.

    ``RunSettings(**options)`` checks each value as ``DotFlow.start`` does, with its messages; an
    option left out has its default. ``RunSettings.from_arguments(defaults, **arguments)`` is what
    ``start()`` does: an argument left ``UNSET`` takes its value from ``defaults``. A RunSettings is
    also a read-only mapping of the options by name (``dict(settings)``, ``flow.start(**settings)``).
    """

    mode: Option[str] = Option(
        TypeExecution.SEQUENTIAL, str, _mode, check=_one_of(MODES), short="-m",
        doc="how the tasks run: sequential, background, parallel or sequential_group",
        help="sequential, background, parallel or sequential_group.",
    )
    keep_going: Option[bool] = Option(
        False, bool, bool,
        doc="run the remaining tasks after a failure",
        help="Run the remaining tasks after a failure.",
    )
    resume: Option[bool] = Option(
        False, bool, bool,
        doc="skip the tasks whose result is already stored, and feed that result on",
        help="Skip tasks whose result is already stored.",
    )
    on_input_change: Option[str] = Option(
        "reuse", str, _policy, check=_one_of(VALID_POLICIES),
        doc="with resume, when the tasks' inputs changed since the checkpoints: reuse (with a warning), "
            "reset (run everything again) or raise",
        help="With --resume, when the inputs changed: reuse, reset or raise.",
    )
    executor: Option[Any] = Option(
        "thread", str, check_executor, check=executor_problem, none_is_unset=True,
        doc="where the step calls run: thread, process, dask, a Dask scheduler address (tcp://host:8786), "
            "or (in Python) a concurrent.futures.Executor",
        help="Where steps run: thread, process, dask or a Dask scheduler tcp://host:8786.",
    )
    max_workers: Option[int | None] = Option(
        None, int, _max_workers, check=max_workers_problem,
        doc="steps run at once (threads or processes); unset, the CPU count",
        help="Steps run at once (threads or processes); default: the CPU count.",
    )

    def __init__(self, **options: Any) -> None:
        unknown = [name for name in options if name not in _BY_NAME]
        if unknown:
            raise TypeError(f"RunSettings() got an unknown option {unknown[0]!r}; they are: {', '.join(_BY_NAME)}")
        values = {option.name: option.accept(options.get(option.name, option.default)) for option in OPTIONS}
        self.__dict__.update(values)

    @classmethod
    def from_arguments(cls, defaults: Mapping[str, Any], **arguments: Any) -> RunSettings:
        """The settings of a run given ``arguments`` (``start()``'s): each one left unset (``UNSET``,
        ``profile_or(...)``, or None for an option where None means unset) takes its value from ``defaults`` (the
        workflow's: its profile's, or ``RUN_DEFAULTS``); then every value is checked."""
        values = {option.name: defaults[option.name] for option in OPTIONS}
        for name, value in arguments.items():
            option = _BY_NAME.get(name)
            if is_unset(value) or (value is None and option is not None and option.none_is_unset):
                continue
            values[name] = value
        return cls(**values)

    def __getitem__(self, name: str) -> Any:
        if name not in _BY_NAME:
            raise KeyError(name)
        return self.__dict__[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_BY_NAME)

    def __len__(self) -> int:
        return len(_BY_NAME)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RunSettings are immutable; make others with RunSettings(...) or from_arguments()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RunSettings are immutable")

    def __repr__(self) -> str:
        return f"RunSettings({', '.join(f'{name}={value!r}' for name, value in self.items())})"


OPTIONS: tuple[Option[Any], ...] = tuple(value for value in vars(RunSettings).values() if isinstance(value, Option))
"""Every run option, in the order of the profile's key table (and of ``dotflow profile show``)."""
_BY_NAME: dict[str, Option[Any]] = {option.name: option for option in OPTIONS}

RUN_DEFAULTS = RunSettings()
"""``start()``'s options when no profile gives them (an explicit ``config``, or nothing to
resolve): each option's default."""
