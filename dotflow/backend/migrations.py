"""The schema's versions: ordered migration functions, and the ``schema_version`` table that says
which ran. ``dotflow backend start`` applies the missing ones by itself, in one transaction (under
an advisory lock on PostgreSQL, so backends starting together migrate once); ``dotflow backend
check`` reads where a database stands.

A migration, once released, never changes: it builds the tables as they were at its version (its
own definitions, not ``schema``'s, which follow the latest). A new version appends a function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from dotflow.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "schema_version"
_LOCK_KEY = 0x646F74666C6F77  # "dotflow": the PostgreSQL advisory lock migrations hold


def _v1_tables(connection: Connection) -> None:
    """Version 1: runs, tasks, their transitions, log records, the backend's settings."""
    from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

    md = MetaData()
    Table("backend_settings", md, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
    Table(
        "workflows", md,
        Column("id", String(255), primary_key=True),
        Column("name", Text),
        Column("status", String(32), nullable=False),
        Column("managed", Boolean, nullable=False),
        Column("token_digest", String(64), unique=True),
        Column("created_at", Float, nullable=False),
        Column("first_report_at", Float),
        Column("started_at", Float),
        Column("finished_at", Float),
        Column("updated_at", Float, nullable=False),
        Column("protocol", Integer, nullable=False),
        Column("interval", Float),
        Column("last_beat_at", Float),
        Column("beat_seq", BigInteger),
        Column("lease_until", Float),
        Column("gone", Boolean, nullable=False),
        Column("run_attempt", Integer),
        Column("running", Text),
        Column("progress", Text),
        Column("cancel", Text),
        Column("cancel_delivered_at", Float),
        Column("log_dropped", BigInteger, nullable=False),
        Index("workflows_by_created", "created_at"),
        Index("workflows_by_status", "status", "created_at"),
        Index("workflows_by_lease", "lease_until"),
        Index("workflows_by_finished", "finished_at"),
    )
    Table(
        "tasks", md,
        Column("workflow_id", String(255), primary_key=True),
        Column("id", String(255), primary_key=True),
        Column("position", Integer, nullable=False),
        Column("status", String(32), nullable=False),
        Column("reason", Text),
        Column("group_name", Text),
        Column("retry_count", Integer),
        Column("duration", Float),
        Column("started_at", Text),
        Column("finished_at", Text),
        Column("error", Text),
        Column("errors", Text),
        Column("metadata", Text),
        Column("run_attempt", Integer),
        Column("body", Text, nullable=False),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
    )
    Table(
        "transitions", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("workflow_id", String(255), nullable=False),
        Column("task_id", String(255)),
        Column("status", String(32), nullable=False),
        Column("at", Float, nullable=False),
        Column("detail", Text),
        Index("transitions_by_run", "workflow_id", "id"),
    )
    Table(
        "logs", md,
        Column("workflow_id", String(255), primary_key=True),
        Column("seq", BigInteger, primary_key=True),
        Column("task", String(255)),
        Column("stream", String(16), nullable=False),
        Column("level", String(32)),
        Column("line", Text, nullable=False),
        Column("ts", String(64)),
        Column("truncated", Boolean, nullable=False),
        Column("received_at", Float, nullable=False),
        Index("logs_by_task", "workflow_id", "task", "seq"),
    )
    md.create_all(connection)


def _v2_retired_tokens(connection: Connection) -> None:
    """Version 2: the tokens of a run's earlier attempts (a relaunch makes a new one), so a report
    of an attempt that was given up is told its lease is gone."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    md = MetaData()
    Table(
        "retired_tokens", md,
        Column("digest", String(64), primary_key=True),
        Column("workflow_id", String(255), nullable=False, index=True),
        Column("run_attempt", Integer, nullable=False),
    )
    md.create_all(connection)


# Version N is MIGRATIONS[N - 1]; append, never edit.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1_tables, _v2_retired_tokens)
LATEST = len(MIGRATIONS)


class SchemaState(NamedTuple):
    """Where a database stands: its version (0 for an empty one) and the latest this code knows."""

    version: int
    latest: int

    @property
    def current(self) -> bool:
        return self.version == self.latest


def version_table() -> Table:
    """The schema_version table (one row: the version the database is at)."""
    from sqlalchemy import Column, Integer, MetaData, Table

    return Table(VERSION_TABLE, MetaData(), Column("version", Integer, nullable=False))


def read_version(connection: Connection) -> int:
    """The schema version of the database behind ``connection``; 0 when it has none yet."""
    from sqlalchemy import func, inspect, select

    if not inspect(connection).has_table(VERSION_TABLE):
        return 0
    version = connection.execute(select(func.max(version_table().c.version))).scalar()
    return int(version or 0)


def state(engine: Engine) -> SchemaState:
    """Where the database stands, read without changing it."""
    with engine.connect() as connection:
        return SchemaState(read_version(connection), LATEST)


def migrate(engine: Engine) -> tuple[int, int]:
    """Apply the migrations the database lacks; ``(version before, version after)``.

    ConfigError when the database is newer than this code (a later dotflow migrated it)."""
    from sqlalchemy import delete, insert

    from dotflow.backend.database import writing

    with writing(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        table = version_table()
        table.create(connection, checkfirst=True)
        before = read_version(connection)
        if before > LATEST:
            raise ConfigError(
                f"the database is at schema version {before}, newer than this dotflow's ({LATEST}): "
                "run the dotflow version that migrated it, or a later one"
            )
        for version in range(before + 1, LATEST + 1):
            MIGRATIONS[version - 1](connection)
        if before != LATEST:
            connection.execute(delete(table))
            connection.execute(insert(table).values(version=LATEST))
    return before, LATEST
