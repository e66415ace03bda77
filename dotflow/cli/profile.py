"""``dotflow profile``: list, show, check and init runner profiles, all read from the one resolver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli.common import add_import_paths, fail, setup_logging
from dotflow.cli.streams import echo
from dotflow.errors import ConfigError

if TYPE_CHECKING:
    from dotflow.profiles import ResolvedProfile

EXIT_UNREACHABLE = 3

app = typer.Typer(
    help="Inspect the runner profiles: where each value comes from, and whether it works.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_CONFIG_HELP = "Path of the dotflow.toml to use (default: found walking up from the current folder)."


_PROFILE_HELP = "Profile to use (default: the one that would be selected); the same as the NAME argument."


def _resolve(name: str | None, flag: str | None, config: str | None) -> ResolvedProfile:
    from dotflow.profiles import resolve

    if name is not None and flag is not None and name != flag:
        raise ConfigError(f"give the profile once: NAME {name!r} and --profile {flag!r} differ")
    setup_logging(quiet=True)  # warnings (unknown DOTFLOW_* variables, shadowed values) still show
    resolved = resolve(name or flag, config_path=config)
    if name is not None and resolved.selected_by == "flag":
        resolved.selected_by = "argument"  # `profile show dev`: the NAME argument chose it, not --profile
    return resolved


@app.command("list")
def list_profiles(config: Optional[str] = typer.Option(None, "--config", help=_CONFIG_HELP)) -> None:
    """Every profile and where it is defined; '*' marks the one that would be selected.

    When no profile can be selected, or the selected one does not resolve, the list is still
    printed and exits 0 (listing worked); the problem follows on stderr as a warning.
    """
    from dotflow.profiles import list_profiles as listing_of

    setup_logging(quiet=True)
    listing = listing_of(config_path=config)
    width = max(len(name) for name in listing.profiles)
    for name, where in listing.profiles.items():
        mark = "*" if name == listing.selected else " "
        echo(f"{mark} {name.ljust(width)}  {where}")
    if listing.selected is not None:
        echo(f"\nselected: {listing.selected} (by {listing.selected_by})")
    try:
        _resolve(None, None, config)  # also logs the warnings, such as a misspelt DOTFLOW_* variable
    except ConfigError as exc:
        why = "no profile can be selected" if listing.selected is None else "the selected profile does not resolve"
        echo(f"warning: {why}: {exc}", err=True)


@app.command("show")
def show(
    name: Optional[str] = typer.Argument(None, help="Profile to show (default: the one that would be selected)."),
    profile: Optional[str] = typer.Option(None, "--profile", help=_PROFILE_HELP),
    config: Optional[str] = typer.Option(None, "--config", help=_CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secret values instead of ***."),
) -> None:
    """The resolved settings of a profile and where each value came from."""
    resolved = _resolve(name, profile, config)
    data = resolved.as_dict(show_secrets=show_secrets)
    if as_json:
        echo(json.dumps(data, indent=2))
        return
    from dotflow.cli.output import echo_lines, profile_table

    echo_lines(profile_table(data, resolved.server_provider if resolved["server.provider"] == "auto" else None))


@app.command("check")
def check(
    name: Optional[str] = typer.Argument(None, help="Profile to check (default: the one that would be selected)."),
    profile: Optional[str] = typer.Option(None, "--profile", help=_PROFILE_HELP),
    config: Optional[str] = typer.Option(None, "--config", help=_CONFIG_HELP),
    ping: bool = typer.Option(
        False, "--ping", help="Also reach the server with the token, write to the storage, and reach the notifier."
    ),
) -> None:
    """Resolve a profile and build its providers; with --ping, reach them too.

    --ping sends one GET to the server, writes, reads and deletes a probe entry in a storage
    other than memory, and checks a Telegram or Discord notifier's secret without sending a
    message. Exit codes: 0 valid (and every one reached), 2 invalid, 3 one unreachable or refused.
    """
    resolved = _resolve(name, profile, config)
    add_import_paths(resolved)  # a project-local provider imports as it would under `dotflow start`
    built = resolved.config()
    # storage and server always; the other providers when the profile chose one
    chosen = [
        role for role in ("notify", "log", "tracer", "metrics")
        if not built.is_default(role) or (role == "log" and resolved["log.output"] != "logger")
    ]
    providers = ", ".join(f"{role} {getattr(built, role)!r}" for role in ("storage", "server", *chosen))
    echo(f"profile {resolved.name!r} is valid: {providers}")
    if not ping:
        return
    server_ping = getattr(built.server, "ping", None)
    notify_ping = getattr(built.notify, "ping", None)
    in_memory = built.is_default("storage")
    if server_ping is None and notify_ping is None and in_memory:
        raise ConfigError(f"profile {resolved.name!r} reports to no server, so there is nothing to ping; "
                          f"{_no_server_advice(resolved)}")
    failures = []
    if server_ping is None:
        echo(f"server: none to ping ({_no_server_advice(resolved)})")
    else:
        shown_url = resolved.as_dict()["settings"]["server.base_url"]["value"]  # token and password masked
        result = server_ping()
        code, message = ping_outcome(result.status, result.detail, shown_url)
        if code:
            failures.append(message)
        else:
            echo(message)
    if not in_memory:
        problem = _probe_storage(built.storage)
        if problem:
            failures.append(problem)
        else:
            echo(f"storage reached: {built.storage!r} took a probe entry, gave it back and deleted it")
    if notify_ping is not None:
        result = notify_ping()
        service = getattr(built.notify, "service", type(built.notify).__name__)
        if result:
            echo(f"notify reached: {service} accepted the secret ({result.detail}); no message was sent")
        elif str(result.status.value) == "auth":
            failures.append(f"{service} refused the notifier's secret ({result.detail}); "
                            "check notify.token or notify.webhook_url")
        elif str(result.status.value) == "unreachable":
            failures.append(f"could not reach {service} ({result.detail}); check the network")
        else:
            failures.append(f"{service} answered {result.detail} to the check of the notifier's secret")
    if failures:
        for message in failures[:-1]:
            fail(message, EXIT_UNREACHABLE)
        raise fail(failures[-1], EXIT_UNREACHABLE)


def _no_server_advice(resolved: ResolvedProfile) -> str:
    unset = [key for key in ("server.base_url", "server.user_token") if resolved[key] is None]
    if unset and resolved["server.provider"] == "auto":
        return (f"set {' and '.join(unset)} (DOTFLOW_{unset[0].replace('.', '_').upper()}"
                + (" and the like" if len(unset) > 1 else "") + ") to ping one")
    return f"server.provider is {resolved['server.provider']!r} (from {resolved.source('server.provider')})"


def _probe_storage(storage: Any) -> str | None:
    """Write, read back and delete one probe entry: what is wrong with the storage, or None."""
    import secrets

    from dotflow.context import Context
    from dotflow.errors import DotflowError
    from dotflow.redact import describe, one_line

    key = f"dotflow-ping-{secrets.token_hex(4)}"
    step = "write"
    try:
        storage.post(key, Context({"ping": key}))
        step = "read back"
        back = storage.get(key).storage
        step = "delete"
        storage.delete(key)
    except DotflowError as exc:  # a built-in storage's one line already says what to check
        return f"storage: could not {step} the probe entry {key!r}: {exc}"
    except Exception as exc:
        return f"storage: could not {step} the probe entry {key!r} in {storage!r} ({describe(exc)})"
    if back != {"ping": key}:
        return f"storage: {storage!r} gave back {one_line(repr(back), 80)} for the probe entry {key!r}"
    return None


def ping_outcome(status: Any, detail: str, shown_url: str) -> tuple[int, str]:
    """The exit code and message for a ``PingStatus`` (by its string value: 0 when the server
    answered, 3 when it could not be reached or refused the token)."""
    value = str(getattr(status, "value", status))
    if value == "ok":
        return 0, f"server reached and the token was accepted ({detail})"
    if value == "reachable":  # the server answered, but its answer says nothing about the token
        return 0, f"server reached ({detail})"
    if value == "auth":
        return EXIT_UNREACHABLE, f"the server refused the token ({detail}); check server.user_token"
    if value == "unreachable":
        return (
            EXIT_UNREACHABLE,
            f"could not reach the server at {shown_url} ({detail}); check server.base_url and the network",
        )
    return EXIT_UNREACHABLE, f"the server answered {detail}; check server.base_url"


_STARTER = """\
# dotflow.toml: runner profiles for this project. `dotflow profile show` prints what it resolves to.
# Precedence, lowest first: defaults < built-in profile < user file < this file's base tables
# < the selected profile's tables < environment variables (DOTFLOW_<SECTION>_<KEY>) < flags.
# Values may use $VAR, ${VAR}, ${VAR:-default} and ${VAR:?message}.
# A relative storage.path here is relative to this file's folder, wherever dotflow runs from.

# default_profile = "dev"

[storage]
provider = "file"        # memory, file, s3, gcs, or pkg.mod:Class
path = ".output"          # next to this file

[workflow]
mode = "sequential"      # sequential, background, parallel, sequential_group
keep_going = false
resume = false           # true needs a fixed id (below) and a storage other than memory
# executor = "process"     # where steps run: thread (default), process, dask, tcp://scheduler:8786
# max_workers = 4          # steps at once (threads or processes); unset, the CPU count
# id = "my-pipeline"       # a fixed workflow id; unset, each run gets a fresh one

# [server]                 # report status to an HTTP backend
# base_url = "${DEV_BASE_URL:-http://localhost:8000/api/v1}"
# user_token = "${DEV_TOKEN}"   # a secret: never printed unless --show-secrets
# timeout = 15

# [profiles.prod.storage]    # `dotflow start --profile prod ...`
# provider = "s3"
# bucket = "${DATA_BUCKET:?set DATA_BUCKET to the bucket for prod runs}"
"""


@app.command("init")
def init(
    config: Path = typer.Option(Path("dotflow.toml"), "--config", help="Where to write the file."),
) -> None:
    """Write a commented starter dotflow.toml. Never overwrites an existing file."""
    try:
        with config.open("x", encoding="utf-8") as handle:
            handle.write(_STARTER)
    except FileExistsError:
        raise ConfigError(f"{config} already exists; edit it, or pass --config to write elsewhere") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {config}: {exc.strerror}") from None
    echo(f"wrote {config}; see it resolved with: dotflow profile show")

