"""The ``dotflow backend start`` process: where its data lives, the operator token, the listening
socket, the banner, and uvicorn serving the application until SIGTERM or Ctrl-C.

The socket is bound before the banner is printed, so the banner tells the real port (``--port 0``
picks a free one) and a client that read it can connect at once. On SIGTERM or SIGINT uvicorn
stops taking connections, lets the requests under way end, and the sweeper stops and the database
connections close; then the process ends as the signal asks (uvicorn raises it again once the
shutdown is done: exit status 143 for SIGTERM, 130 for Ctrl-C).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotflow.backend import tokens
from dotflow.backend.app import AppOptions, create_app
from dotflow.backend.database import default_url, describe, open_engine, parse_url
from dotflow.backend.migrations import migrate
from dotflow.backend.places import TOKEN_FILE, TOKEN_VARIABLE, data_dir
from dotflow.backend.store import Store
from dotflow.errors import ConfigError

logger = logging.getLogger("dotflow.backend")


@dataclass(frozen=True)
class StartOptions:
    """``dotflow backend start``'s flags."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: str | None = None
    keep_days: float | None = None
    public_url: str | None = None
    access_log: bool = False


def default_db(env: Mapping[str, str] | None = None) -> str:
    """The database ``--db`` names when it is not given: the embedded SQLite file."""
    return default_url(data_dir(os.environ if env is None else env))


def operator_token(store: Store, env: Mapping[str, str], folder: Path) -> list[str]:
    """Set the store's operator token: ``DOTFLOW_BACKEND_TOKEN``, else the one an earlier start
    generated, else a new one (kept hashed in the database, and whole in a file readable by its
    owner alone). The banner's lines about it; the token is in them only when it was just made."""
    chosen = env.get(TOKEN_VARIABLE)
    if chosen:
        problem = tokens.chosen_token_problem(chosen)
        if problem:
            raise ConfigError(f"{TOKEN_VARIABLE} {problem}")
        store.use_operator_token(chosen)
        return [f"  log in:      with the operator token in {TOKEN_VARIABLE}"]
    path = folder / TOKEN_FILE
    stored = store.stored_operator_digest()
    if stored is not None:
        store.use_operator_digest(stored)
        if path.is_file():
            return [f"  log in:      with the operator token in {path}"]
        return [f"  log in:      with the operator token generated on the first start (its file {path} is gone;",
                f"               set {TOKEN_VARIABLE} to choose a new one)"]
    token = tokens.new_operator_token()
    if not store.keep_operator_digest(token):  # another backend on this database made one first
        return operator_token(store, env, folder)
    _write_secret(path, token)
    store.use_operator_token(token)
    return [f"  operator token (made now, shown this once): {token}",
            f"  log in:      with that token; it is kept in {path} (readable by you alone),",
            f"               or set {TOKEN_VARIABLE} to choose your own"]


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (text + "\n").encode("ascii"))
    finally:
        os.close(fd)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv4 or IPv6); ConfigError saying why it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} is not an address this machine has ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(options: StartOptions, *, env: Mapping[str, str] | None = None,
          out: Callable[[str], None] = print) -> None:
    """Run the backend until a signal stops it."""
    import uvicorn

    env = os.environ if env is None else env
    folder = data_dir(env)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data, and maybe the token: the user's alone
    url = parse_url(options.db or default_url(folder))
    if options.keep_days is not None and options.keep_days <= 0:
        raise ConfigError(f"--keep-days {options.keep_days:g}: give a number of days above 0")
    engine = open_engine(url)
    try:
        before, after = migrate(engine)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"cannot open the database {describe(url)}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:300]}") from None
    store = Store(engine)
    login = operator_token(store, env, folder)
    sock = bind(options.host, options.port)
    address = _url(sock)
    public = options.public_url.rstrip("/") if options.public_url else address
    schema = "created" if before == 0 else (f"migrated from {before}" if before != after else "up to date")
    from dotflow import __version__

    lines = [
        f"dotflow backend {__version__} listening on {address}",
        f"  runner API:  {public}/api/v1  (POST /api/v1/workflows makes a managed run and its env)",
        f"  data:        {describe(url)}  (schema version {after}, {schema})",
        f"  page:        {public}/",
        *login,
    ]
    if not _is_loopback(options.host):
        lines.append(f"  warning: listening on {options.host}, beyond this machine, over plain HTTP: tokens cross "
                     "the network in clear; put a TLS proxy in front")
    _log_to_stderr(options.access_log)
    # the banner once uvicorn handles SIGTERM (the socket listens already): a client or a test that
    # read it may connect, or stop the backend, at once
    app = create_app(store, AppOptions(public_url=options.public_url, keep_days=options.keep_days,
                                       on_start=lambda: out("\n".join(lines)),
                                       on_stop=lambda: out("dotflow backend stopped")))
    config = uvicorn.Config(app, log_config=None, access_log=options.access_log, lifespan="on",
                            server_header=False, timeout_graceful_shutdown=10, proxy_headers=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _log_to_stderr(access_log: bool) -> None:
    """One line per error (and per request with ``--access-log``) on stderr; uvicorn's start-up
    chatter stays below the level shown, the banner having said it all."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name, level in (("dotflow.backend", logging.INFO), ("uvicorn.error", logging.WARNING),
                        ("uvicorn.access", logging.INFO if access_log else logging.WARNING)):
        chosen = logging.getLogger(name)
        chosen.handlers[:] = [handler]
        chosen.setLevel(level)
        chosen.propagate = False
