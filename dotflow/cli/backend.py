"""``dotflow backend``: run the reference backend of managed runs, and check its database.

The backend's libraries (the extra ``dotflow[backend]``) are imported when a command runs, never
when the CLI registers this group (``dotflow --help`` lists it)."""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any, Optional

import typer

from dotflow.cli.common import EXIT_FAILED
from dotflow.cli.streams import echo
from dotflow.errors import MissingExtraError

app = typer.Typer(
    help="Run the reference backend of managed runs: it stores their reports, keeps their heartbeat "
    "leases, cancels them, and shows them.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

# the imports the extra brings, each as Python names it
_EXTRA = ("starlette", "uvicorn", "sqlalchemy", "jinja2", "platformdirs")
_DB_HELP = ("Database URL: sqlite:///path/file.db or postgresql://user@host/db "
            "(default: a SQLite file in the user data directory).")


def _backend(module: str) -> Any:
    """``dotflow.backend.<module>``, or MissingExtraError with the pip line when the extra is missing."""
    missing = []
    for name in _EXTRA:
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingExtraError(
            f"dotflow backend needs the extra 'backend' ({', '.join(missing)} missing): pip install 'dotflow[backend]'"
        )
    return import_module(f"dotflow.backend.{module}")


@app.command("start")
def start(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on (0: any free one)."),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    keep_days: Optional[float] = typer.Option(
        None, "--keep-days", help="Delete runs that ended more than N days ago (default: keep them all)."
    ),
    public_url: Optional[str] = typer.Option(
        None, "--public-url", help="The backend's URL as runners reach it (default: the URL each request used)."
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log one line per request on stderr."),
) -> None:
    """Serve the runner API, the operator API and the page until SIGTERM or Ctrl-C."""
    server = _backend("server")
    options = server.StartOptions(host=host, port=port, db=db, keep_days=keep_days, public_url=public_url,
                                  access_log=access_log)
    try:
        server.serve(options, out=echo)
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it shut down cleanly
        raise typer.Exit(130) from None


@app.command("new-run")
def new_run(
    name: Optional[str] = typer.Option(None, "--name", help="The run's name, shown on the page."),
    url: Optional[str] = typer.Option(None, "--url", help="The backend's URL (default: http://127.0.0.1:8765)."),
    as_json: bool = typer.Option(False, "--json", help="Print the backend's whole answer as JSON."),
) -> None:
    """Make a managed run on a running backend and print its container's environment as export
    lines: eval "$(dotflow backend new-run --name demo)" then dotflow start --step ..."""
    import os

    from dotflow.backend.client import new_run as make
    from dotflow.backend.client import shell_lines
    from dotflow.backend.places import DEFAULT_URL, TOKEN_VARIABLE, operator_token
    from dotflow.errors import ServerError

    token = operator_token(os.environ)
    if token is None:
        echo(f"error: no operator token: set {TOKEN_VARIABLE} (or start the backend once, which makes one)", err=True)
        raise typer.Exit(EXIT_FAILED)
    try:
        made = make(url or DEFAULT_URL, token, name)
    except ServerError as exc:
        echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    echo(json.dumps(made, indent=2) if as_json else shell_lines(made["env"]))


@app.command("check")
def check(db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    """Tell whether the database is reachable and migrated (exit 0), or what is wrong (exit 1)."""
    server = _backend("server")
    found = _backend("check").check(db or server.default_db())
    echo(found.line, err=not found.ok)
    if not found.ok:
        raise typer.Exit(EXIT_FAILED)
