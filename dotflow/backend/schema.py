"""The tables as the queries see them, at the latest schema version (``migrations`` builds them).

Times the backend stamps are seconds since the epoch (UTC) in floats, the same on SQLite and
PostgreSQL; JSON values are kept as text. A task's ``started_at`` and ``finished_at`` are the
runner's own text (local time, no zone), shown as it sent them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = 255  # the longest workflow or task id the backend takes

settings = Table(
    "backend_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", Text),
    Column("status", String(32), nullable=False),
    Column("managed", Boolean, nullable=False),  # made by POST /workflows without an id (a run token)
    Column("token_digest", String(64)),  # the run token's SHA-256, for a managed run
    Column("created_at", Float, nullable=False),
    Column("first_report_at", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    Column("protocol", Integer, nullable=False),  # 2 once the run sent a heartbeat or a run_attempt
    Column("interval", Float),  # the heartbeat interval in force
    Column("last_beat_at", Float),
    Column("beat_seq", BigInteger),
    Column("lease_until", Float),  # a version 2 run not ended by then is Crashed
    Column("gone", Boolean, nullable=False),  # its later reports are answered 410
    Column("run_attempt", Integer),
    Column("running", Text),  # JSON list: the tasks running at the last heartbeat
    Column("progress", Text),  # JSON object: task id -> the latest progress it reported
    Column("cancel", Text),  # JSON object: the operator's cancel, delivered with every heartbeat
    Column("cancel_delivered_at", Float),
    Column("log_dropped", BigInteger, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("workflow_id", String(ID), primary_key=True),
    Column("id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text),
    Column("group_name", Text),
    Column("retry_count", Integer),
    Column("duration", Float),
    Column("started_at", Text),
    Column("finished_at", Text),
    Column("error", Text),  # JSON: the last error
    Column("errors", Text),  # JSON list: every error
    Column("metadata", Text),  # JSON object
    Column("run_attempt", Integer),
    Column("body", Text, nullable=False),  # JSON: the task's last report, whole
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("workflow_id", String(ID), nullable=False),
    Column("task_id", String(ID)),  # None: the workflow's own
    Column("status", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("detail", Text),
)

logs = Table(
    "logs",
    metadata,
    Column("workflow_id", String(ID), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("task", String(ID)),
    Column("stream", String(16), nullable=False),
    Column("level", String(32)),
    Column("line", Text, nullable=False),
    Column("ts", String(64)),
    Column("truncated", Boolean, nullable=False),
    Column("received_at", Float, nullable=False),
)

retired_tokens = Table(
    "retired_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),  # a run token of an earlier attempt
    Column("workflow_id", String(ID), nullable=False),
    Column("run_attempt", Integer, nullable=False),  # the attempt it served
)
