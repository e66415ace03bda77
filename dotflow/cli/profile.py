"""``dotflow profile``: list, show, check and init runner profiles, all read from the one resolver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli.common import add_import_paths, fail, setup_logging
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
    return resolve(name or flag, config_path=config)


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
        typer.echo(f"{mark} {name.ljust(width)}  {where}")
    if listing.selected is not None:
        typer.echo(f"\nselected: {listing.selected} (by {listing.selected_by})")
    try:
        _resolve(None, None, config)  # also logs the warnings, such as a misspelt DOTFLOW_* variable
    except ConfigError as exc:
        why = "no profile can be selected" if listing.selected is None else "the selected profile does not resolve"
        typer.echo(f"warning: {why}: {exc}", err=True)


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
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"profile:     {data['profile']} (selected by {data['selected_by']})")
    typer.echo(f"files:       {', '.join(data['files']) or '(none)'}")
    typer.echo("")
    rows = [(key, _display(entry["value"]), entry["source"]) for key, entry in data["settings"].items()]
    if resolved["server.provider"] == "auto":  # say what auto turned into
        rows[0] = (rows[0][0], f"auto (= {resolved.server_provider})", rows[0][2])
    key_width = max(len(row[0]) for row in rows)
    value_width = min(max(len(row[1]) for row in rows), 48)
    typer.echo(f"{'key'.ljust(key_width)}  {'value'.ljust(value_width)}  source")
    for key, value, source in rows:
        typer.echo(f"{key.ljust(key_width)}  {value.ljust(value_width)}  {source}")


@app.command("check")
def check(
    name: Optional[str] = typer.Argument(None, help="Profile to check (default: the one that would be selected)."),
    profile: Optional[str] = typer.Option(None, "--profile", help=_PROFILE_HELP),
    config: Optional[str] = typer.Option(None, "--config", help=_CONFIG_HELP),
    ping: bool = typer.Option(False, "--ping", help="Also reach the server with the token."),
) -> None:
    """Resolve a profile and build its providers; with --ping, reach its server too.

    Exit codes: 0 valid, 2 invalid, 3 server unreachable or token refused.
    """
    resolved = _resolve(name, profile, config)
    add_import_paths(resolved)  # a project-local provider imports as it would under `dotflow start`
    built = resolved.config()
    typer.echo(f"profile {resolved.name!r} is valid: storage {built.storage!r}, server {built.server!r}")
    if not ping:
        return
    pinger = getattr(built.server, "ping", None)
    if pinger is None:
        unset = [key for key in ("server.base_url", "server.user_token") if resolved[key] is None]
        advice = (
            f"set {' and '.join(unset)} (DOTFLOW_{unset[0].replace('.', '_').upper()}"
            + (" and the like" if len(unset) > 1 else "") + ") to ping one"
            if unset and resolved["server.provider"] == "auto"
            else f"server.provider is {resolved['server.provider']!r} (from {resolved.source('server.provider')})"
        )
        raise ConfigError(f"profile {resolved.name!r} reports to no server, so there is nothing to ping; {advice}")
    result = pinger()
    shown_url = resolved.as_dict()["settings"]["server.base_url"]["value"]  # token and password masked
    code, message = ping_outcome(result.status, result.detail, shown_url)
    if code:
        raise fail(message, code)
    typer.echo(message)


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
    typer.echo(f"wrote {config}; see it resolved with: dotflow profile show")


def _display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
