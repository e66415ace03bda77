"""How the backend reaches its database: the URL an operator writes, the driver it gets, and the
transactions every write goes through.

``--db`` takes ``sqlite:///path/file.db`` or ``postgresql://user@host/db`` written as they are; the
backend picks the driver (the standard library's sqlite3, psycopg 3 for PostgreSQL). SQLite runs
in WAL mode, and every write transaction starts with ``BEGIN IMMEDIATE``: a transaction that read
and then writes could otherwise fail at once when another connection wrote in between, instead of
waiting its turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotflow.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

SQLITE_FILE = "backend.sqlite3"
_WRITE = "dotflow_write"  # the execution option that makes a SQLite transaction BEGIN IMMEDIATE
_BUSY_SECONDS = 30  # how long a SQLite connection waits for another one's write to end


def default_url(data_dir: Path) -> str:
    """The embedded database: a SQLite file in the backend's data folder."""
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def parse_url(text: str) -> URL:
    """The SQLAlchemy URL for ``--db``, with the driver the backend uses; ConfigError naming the
    allowed forms for anything else."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"--db {shown(text)!r} is not a database URL: use sqlite:///path/to/file.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError("--db sqlite:// needs a file (sqlite:///path/to/file.db): an in-memory database "
                              "would be lost at exit and is not shared between connections")
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"--db {shown(text)!r}: the backend runs on sqlite or postgresql, not {backend!r} "
        "(sqlite:///path/to/file.db, postgresql://user@host/dbname)"
    )


def shown(text: str) -> str:
    """A database URL as it may be printed: its password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a URL>" if "@" in text else text


def describe(url: URL) -> str:
    """Where the data is, for the banner: the SQLite file's path, or the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database or "").resolve())
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def open_engine(url: URL, *, pool_size: int = 10) -> Engine:
    """An engine for ``url`` (from :func:`parse_url`). A SQLite file's folder is created."""
    from sqlalchemy import create_engine, event

    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    Path(url.database or "").resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": _BUSY_SECONDS, "check_same_thread": False},
                           pool_size=pool_size, max_overflow=pool_size)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # the driver's own transaction handling is off: the "begin" hook below emits BEGIN itself
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_SECONDS * 1000}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction meant to write: committed at the end, rolled back on error."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in a read-only transaction (one snapshot for every query in it)."""
    with engine.connect() as connection:
        with connection.begin():
            yield connection
