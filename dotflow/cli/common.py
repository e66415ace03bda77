"""What every command shares: exit codes, logging set-up, the import path, JSON flags and the run flags."""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Callable, Optional, TypeVar

import typer

from dotflow.cli.streams import echo
from dotflow.errors import UsageError
from dotflow.interrupts import EXIT_FAILED as EXIT_FAILED  # noqa: F401  (the exit codes are owned there)
from dotflow.interrupts import EXIT_USAGE
from dotflow.logs import TRACEBACK_LOGGER
from dotflow.profiles.builtin import MANAGED
from dotflow.providers.log_default import StderrHandler
from dotflow.settings import OPTIONS, Option

_NESTING = 100  # levels of JSON nesting a flag may hold


# The options `dotflow start` and `dotflow schedule` share (a typer OptionInfo serves any number
# of commands): how the workflow is built, and the profile settings a flag overrides; the run
# options' flags come from dotflow.settings (with_run_flags).
STEP = typer.Option(None, "--step", "-s", help="One step to run: pkg.mod.fn or pkg.mod:fn.")
WORKFLOW = typer.Option(
    None, "--workflow", "-w", help="pkg.mod:factory (or pkg.mod.factory), a callable returning a ready DotFlow."
)
CALLBACK = typer.Option(None, "--callback", "-c", help="With --step: called as callback(task=...).")
INITIAL_CONTEXT = typer.Option(
    None, "--initial-context", "-i", help="With --step: the initial context, as JSON or a plain string."
)
PROFILE = typer.Option(None, "--profile", help="Profile to run with (see 'dotflow profile list').")
CONFIG = typer.Option(None, "--config", help="Path of the dotflow.toml to use.")
STORAGE = typer.Option(None, "--storage", "-o", help="memory, file, s3, gcs or pkg.mod:Class.")
PATH = typer.Option(None, "--path", "-p", help="Folder of the file storage.")
WORKFLOW_ID = typer.Option(None, "--workflow-id", help="Run under this fixed workflow id.")

Command = TypeVar("Command", bound=Callable[..., Any])


def run_flag(option: Option[Any], help: str | None = None) -> Any:
    """The typer option of a run option: ``--name`` (``--name/--no-name`` for a bool), its short
    form, its help (or ``help``). Left out, it is None: the profile decides. Given, it stays the
    text typed (a bool for a bool): the profile key converts and checks it, as it does a variable's."""
    spelling = f"{option.flag}/--no-{option.flag[2:]}" if option.type is bool else option.flag
    names = (spelling, option.short) if option.short else (spelling,)
    return typer.Option(None, *names, help=help or option.help)


def with_run_flags(**helps: str) -> Callable[[Command], Command]:
    """Give a command (``start``, ``schedule``) a flag for every run option of ``dotflow.settings``,
    listed after its ``workflow_id`` flag and passed into its ``**run_flags`` by name; ``helps``
    replaces an option's help where the command means more by it.

    typer reads a command's parameters from its signature, so the decorator writes them there: a
    new option needs no change to either command."""
    unknown = sorted(set(helps) - {option.name for option in OPTIONS})
    if unknown:
        raise TypeError(f"with_run_flags: no run option is named {unknown[0]!r}")

    def add(command: Command) -> Command:
        signature = inspect.signature(command)
        kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        at = [p.name for p in kept].index("workflow_id") + 1
        flags = [
            inspect.Parameter(
                option.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=run_flag(option, helps.get(option.name)),
                annotation=Optional[bool] if option.type is bool else Optional[str],
            )
            for option in OPTIONS
        ]
        command.__signature__ = signature.replace(parameters=[*kept[:at], *flags, *kept[at:]])  # type: ignore[attr-defined]
        return command

    return add


class CliHandler(StderrHandler):
    """The stderr handler the CLI puts on the ``dotflow`` logger: its class tells ``setup_logging``
    that it is already there, so a second call (a test running commands in-process) adds none."""


def setup_logging(quiet: bool = False, verbosity: int = 0) -> None:
    """Send the ``dotflow`` logger to stderr: INFO and up; WARNING and up when ``quiet``;
    with ``verbosity`` 1 the tracebacks of failures too, with 2 DEBUG (reporting included).

    The library attaches no handler; the CLI is the application, so it does."""
    logger = logging.getLogger("dotflow")
    if not any(isinstance(h, CliHandler) for h in logger.handlers):
        handler = CliHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s dotflow: %(message)s"))
        logger.addHandler(handler)
    level = logging.DEBUG if verbosity >= 2 else logging.WARNING if quiet else logging.INFO
    logger.setLevel(level)
    logging.getLogger(TRACEBACK_LOGGER).setLevel(logging.DEBUG if verbosity >= 1 else logging.CRITICAL)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: <message>`` as one line on stderr and return the Exit to raise."""
    echo(f"error: {message}", err=True)
    return typer.Exit(code)


def report_failed_quietly(
    resolved: Any, flow: Any = None, problem: BaseException | None = None, profile: str | None = None
) -> None:
    """Tell a managed backend that the run could not start (``report_failed_start``; with no
    ``resolved`` profile, ``report_unresolvable`` for ``profile`` from the managed-runner variables), without
    the 'workflow - Failed' log line: the ``error:`` line that follows says why, as the one line."""
    logger = logging.getLogger("dotflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))  # lost reports still warn
    try:
        if resolved is None:
            report_unresolvable(os.environ, profile, problem)
        else:
            report_failed_start(resolved, flow, problem)
    finally:
        logger.setLevel(level)


def report_failed_start(
    resolved: Any, flow: Any = None, problem: BaseException | None = None
) -> None:
    """When a run under a backend's workflow id (managed mode) cannot even start, tell the backend
    Failed, so its row does not wait forever. Best effort: the error that stopped the start is
    what the user reads."""
    if resolved["workflow.id"] is None or resolved.server_provider == "none":
        return
    from dotflow.execution.run import abandon
    from dotflow.workflow import DotFlow

    try:
        if flow is None or flow.workflow_id != resolved["workflow.id"] or not flow.reporter.remote:
            flow = DotFlow(profile=resolved)  # the profile's server and id, no tasks
        abandon(flow.reporter, flow.task.queue, problem)
        flow.flush()
    except Exception:  # the start already failed for a reason the user will read
        pass


def report_unresolvable(env: Mapping[str, str], profile: str | None, problem: BaseException | None = None) -> None:
    """When the profile itself cannot be resolved (a broken dotflow.toml, an unset variable) under
    the three managed-runner variables, with no other profile asked for, tell that backend Failed
    with the variables alone (and ServerAPI's defaults): its row must not wait forever on a run
    that never started. Best effort."""
    base_url, token, workflow_id = (env.get(name) for name in ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID"))
    asked = profile or env.get("DOTFLOW_PROFILE")
    if not (base_url and token and workflow_id) or asked not in (None, "", MANAGED):
        return
    from dotflow.config import Config
    from dotflow.execution.run import abandon
    from dotflow.providers.server_api import ServerAPI
    from dotflow.workflow import DotFlow

    try:
        flow = DotFlow(config=Config(server=ServerAPI(base_url, token)), workflow_id=workflow_id)
        abandon(flow.reporter, (), problem)
        flow.flush()
    except Exception:  # the error the user reads is the resolution's
        pass


def add_import_paths(resolved: Any = None) -> None:
    """Put the current folder, and the folder of the project's dotflow.toml, first on ``sys.path``,
    so a project's own modules (steps, providers) import from anywhere inside the project, the
    same way for every command."""
    folders = [os.getcwd()]
    project_file = getattr(resolved, "project_file", None)
    if project_file:
        folders.append(os.path.dirname(project_file))
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def parse_json_flag(raw: str | None, flag: str) -> Any:
    """A flag's value as JSON; text that does not look like JSON stays a string, as in 1.x.

    Text that starts like JSON (``{``, ``[`` or ``"``) but is not is a UsageError naming the
    position, rather than silently becoming a string; so is JSON nested too deep to be sane.
    """
    if raw is None:
        return None
    import json

    looks_like_json = raw.lstrip()[:1] in ("{", "[", '"')
    if looks_like_json and _nesting(raw) > _NESTING:
        raise UsageError(f"{flag}: the JSON is nested more than {_NESTING} levels deep; pass flatter data")
    try:
        return json.loads(raw)
    except RecursionError:
        raise UsageError(f"{flag}: the JSON is nested too deeply; pass flatter data") from None
    except ValueError as exc:
        if looks_like_json:
            raise UsageError(f"{flag}: invalid JSON: {exc}; quote the value for the shell, or fix it") from None
        return raw


def _nesting(text: str) -> int:
    """The deepest bracket nesting of ``text`` outside strings (an upper bound of JSON depth)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
