"""Every query of the backend: what a runner reports, what an operator asks, the Crashed rule and
pruning. HTTP knows nothing of SQL and this module nothing of HTTP: it raises :class:`UnknownRun`,
:class:`RunGone`, :class:`RunEnded` or :class:`BadReport`, which the API turns into answers.

Each call is one transaction. A report of an unknown run made with the operator token records
the run (a runner under a developer's token with a fixed ``workflow.id`` sends no
``POST /workflows``); with a run token the run always exists, for the token belongs to it.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import delete, func, insert, select, update

from dotflow.backend import schema, statuses, tokens
from dotflow.backend.database import reading, writing
from dotflow.errors import DotflowError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, RowMapping
    from sqlalchemy.sql.schema import Table

# The runner's default heartbeat interval: a version 2 run that sent no heartbeat within 3 times
# this of its first report is Crashed too.
DEFAULT_INTERVAL = 15.0
INTERVAL_MIN, INTERVAL_MAX = 1.0, 300.0
LEASE_FACTOR = 3
DEFAULT_CANCEL_REASON = "cancelled by the operator"
DEFAULT_CANCEL_GRACE = 10.0
MAX_GRACE = 3600.0
MAX_REASON = 1000  # characters of a cancel's reason
MAX_NAME = 1000  # characters of a run's name
LINE_MAX = 16 * 1024  # characters of a log line kept (the runner cuts at 8 KiB already)
MAX_RECORDS = 5000  # log records in one batch (the runner sends at most 1,000)
LIST_LIMIT = 100  # runs one GET /workflows answers by default
LOGS_LIMIT = 1000  # log records one GET .../logs answers by default
_STREAMS = frozenset({"stdout", "stderr", "logging", "dotflow"})
_POSITION = re.compile(r"^(\d{1,9})-")
_STEP_LINE = re.compile(r"^(\S{1,200}) \[([^\]]{1,255})\] - ")
_SETTING_OPERATOR = "operator_token_sha256"
_SETTING_SESSION = "session_secret"
_SETTING_SWEPT = "swept_at"
# Seconds without a sweep (every backend down, paused, or its database away) past which the time
# nobody looked is added to the leases of live runs: their beats had nowhere to go meanwhile.
SWEEP_GAP = 2.0

W, T, X, L, R = schema.workflows, schema.tasks, schema.transitions, schema.logs, schema.retired_tokens


class UnknownRun(DotflowError):
    """No run has that id (or the caller's token may not see it)."""


class RunGone(DotflowError):
    """The run's lease is gone: it was declared Crashed, or cancelled before it began; its reports come too late."""


class LeaseTaken(RunGone):
    """The report comes under the token of an attempt a relaunch replaced: the work went to another runner."""


class RunEnded(DotflowError):
    """The run already has a terminal status, so it cannot be cancelled."""


class BadReport(DotflowError):
    """A request body the backend cannot take; the message says what is wrong."""


class Principal(NamedTuple):
    """Who a token is: the operator (every run), or one run's token (that run alone; ``retired``
    when it served an attempt a relaunch replaced, whose reports are refused)."""

    operator: bool
    workflow_id: str | None = None
    retired: bool = False

    def may_see(self, workflow_id: str) -> bool:
        return self.operator or self.workflow_id == workflow_id


OPERATOR = Principal(True)


def utc(seconds: float | None) -> str | None:
    """A time the backend stamped, as RFC 3339 UTC text with a ``Z``."""
    if seconds is None:
        return None
    stamp = datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def bounded_interval(value: Any, fallback: float) -> float:
    """A heartbeat interval within 1 to 300 s; ``fallback`` for what is not a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return fallback
    return min(INTERVAL_MAX, max(INTERVAL_MIN, float(value)))


def _shown(value: Any) -> str:
    """A value a request sent, as an error message may quote it: its repr, at most 100 characters."""
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _check_id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadReport(f"{what} must be a string")
    text = str(value)
    if not text or len(text) > schema.ID:
        raise BadReport(f"{what} must be 1 to {schema.ID} characters long")
    return text


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _which_start(stored: str | None, body: dict[str, Any]) -> str:
    """Whether a task's report comes from the ``"same"`` start of the task as its stored report
    (the same ``created_at``, and no later ``started_at``), from a ``"new"`` one (a restarted or
    relaunched container makes its tasks again; a second ``start()`` starts them again), or
    ``"unknown"`` (a report without those times)."""
    try:
        before = json.loads(stored) if stored else None
    except ValueError:
        before = None
    if not isinstance(before, dict):
        return "unknown"
    made, made_before = body.get("created_at"), before.get("created_at")
    if not isinstance(made, str) or not isinstance(made_before, str):
        return "unknown"
    if made != made_before:
        return "new"
    started, started_before = body.get("started_at"), before.get("started_at")
    if isinstance(started, str) and (not isinstance(started_before, str) or started > started_before):
        return "new"  # the runner's own clock and format on both sides: ISO text compares in time order
    return "same"


def _insert_ignoring(connection: Connection, table: Table, rows: list[dict[str, Any]] | dict[str, Any],
                     keys: list[str]) -> int:
    """Insert, skipping rows whose key exists; the number of rows inserted (counted from RETURNING:
    psycopg's rowcount is -1 for such an INSERT)."""
    statement: Any
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        statement = postgresql_insert(table).on_conflict_do_nothing(index_elements=keys)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
    result = connection.execute(statement.returning(table.c[keys[0]]), rows)
    return len(result.all())


class Store:
    """The backend's data, over one SQLAlchemy engine. ``clock`` gives the time (seconds since the epoch)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._operator_digest: str | None = None

    # -- tokens ---------------------------------------------------------------------------------

    def use_operator_token(self, token: str) -> None:
        """The operator token from now on (its digest is all that is kept)."""
        self._operator_digest = tokens.digest(token)

    def stored_operator_digest(self) -> str | None:
        """The digest of the operator token generated by an earlier start, if any."""
        with reading(self.engine) as connection:
            value = connection.execute(
                select(schema.settings.c.value).where(schema.settings.c.key == _SETTING_OPERATOR)
            ).scalar()
        return None if value is None else str(value)

    def keep_operator_digest(self, token: str) -> bool:
        """Store the digest of a generated operator token; False when another start stored one first."""
        with writing(self.engine) as connection:
            added = _insert_ignoring(connection, schema.settings, {"key": _SETTING_OPERATOR,
                                                                  "value": tokens.digest(token)}, ["key"])
        return added == 1

    def use_operator_digest(self, value: str) -> None:
        """The operator token is the one whose digest an earlier start stored."""
        self._operator_digest = value

    def session_secret(self) -> bytes:
        """The random secret the page's session cookies are signed with: made by the first start,
        shared by every backend on the database."""
        with writing(self.engine) as connection:
            _insert_ignoring(connection, schema.settings, {"key": _SETTING_SESSION, "value": secrets.token_hex(32)},
                             ["key"])
            value = connection.execute(
                select(schema.settings.c.value).where(schema.settings.c.key == _SETTING_SESSION)
            ).scalar_one()
        return bytes.fromhex(str(value))

    @property
    def operator_digest(self) -> str | None:
        """The operator token's digest (what the page's sessions are bound to)."""
        return self._operator_digest

    def authorize(self, token: str | None) -> Principal | None:
        """Who ``token`` is; None for no token or an unknown one."""
        if not token or len(token) > tokens.MAX_LENGTH:
            return None
        presented = tokens.digest(token)
        if self._operator_digest is not None and tokens.same_digest(self._operator_digest, presented):
            return OPERATOR
        if not token.startswith(tokens.RUN_PREFIX):
            return None
        with reading(self.engine) as connection:
            row = connection.execute(select(W.c.id, W.c.token_digest).where(W.c.token_digest == presented)).first()
            if row is None:
                retired = connection.execute(select(R.c.workflow_id, R.c.digest).where(R.c.digest == presented)).first()
                if retired is not None and tokens.same_digest(str(retired.digest), presented):
                    return Principal(False, str(retired.workflow_id), retired=True)
                return None
        if not tokens.same_digest(str(row.token_digest), presented):
            return None
        return Principal(False, str(row.id))

    # -- runs an operator makes ------------------------------------------------------------------

    def create_run(self, name: str | None) -> tuple[str, str]:
        """A managed run, not started: ``(its id, its token)``. The token is shown once and not kept."""
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise BadReport(f"name must be a string of at most {MAX_NAME} characters")
        workflow_id, token, now = str(uuid.uuid4()), tokens.new_run_token(), self.clock()
        with writing(self.engine) as connection:
            connection.execute(insert(W).values(self._new_run(workflow_id, now, name=name, managed=True,
                                                               token_digest=tokens.digest(token))))
            self._transition(connection, workflow_id, None, statuses.NOT_STARTED, now, "created by the operator")
        return workflow_id, token

    def record_workflow(self, workflow_id: Any, name: Any) -> bool:
        """A workflow a runner made (``POST /workflows`` with its id); False when it is known already."""
        workflow_id = _check_id(workflow_id, "id")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise BadReport(f"name must be a string of at most {MAX_NAME} characters")
        now = self.clock()
        with writing(self.engine) as connection:
            added = _insert_ignoring(connection, W, self._new_run(workflow_id, now, name=name, first_report_at=now),
                                     ["id"])
            if added:
                self._transition(connection, workflow_id, None, statuses.NOT_STARTED, now, "created by the runner")
        return added == 1

    @staticmethod
    def _new_run(workflow_id: str, now: float, **values: Any) -> dict[str, Any]:
        row = {"id": workflow_id, "status": statuses.NOT_STARTED, "managed": False, "created_at": now,
               "updated_at": now, "protocol": 1, "gone": False, "log_dropped": 0}
        row.update(values)
        return row

    # -- what a runner reports -------------------------------------------------------------------

    def _run_for_report(self, connection: Connection, workflow_id: str, who: Principal, now: float) -> RowMapping:
        """The run a report is about, recorded if the operator reports on an unknown one; raises
        UnknownRun or RunGone. Notes the first report's time."""
        if not who.may_see(workflow_id):
            raise UnknownRun(workflow_id)
        if who.retired:
            raise LeaseTaken(workflow_id)
        # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes already): the sweeper cannot
        # declare the run Crashed between this read and the report's writes
        locked = select(W).where(W.c.id == workflow_id).with_for_update()
        row = connection.execute(locked).mappings().first()
        if row is None:
            if not who.operator:
                raise UnknownRun(workflow_id)
            if _insert_ignoring(connection, W, self._new_run(workflow_id, now, first_report_at=now), ["id"]):
                self._transition(connection, workflow_id, None, statuses.NOT_STARTED, now, "created by the runner")
            row = connection.execute(locked).mappings().one()
        if row["gone"]:
            raise RunGone(workflow_id)
        if row["first_report_at"] is None:
            connection.execute(update(W).where(W.c.id == workflow_id).values(first_report_at=now))
        return row

    def _speaks_v2(self, connection: Connection, row: RowMapping, now: float) -> None:
        """The run showed it speaks version 2 (a run_attempt, a log batch): its lease starts, if no
        heartbeat started it."""
        if row["protocol"] == 2:
            return
        since = row["first_report_at"] if row["first_report_at"] is not None else now
        connection.execute(
            update(W).where(W.c.id == row["id"]).values(
                protocol=2, lease_until=func.coalesce(W.c.lease_until, since + LEASE_FACTOR * DEFAULT_INTERVAL)
            )
        )

    @staticmethod
    def _update_run(connection: Connection, workflow_id: str, values: Mapping[str, Any]) -> None:
        connection.execute(update(W).where(W.c.id == workflow_id).values(**values))

    def set_workflow_status(self, workflow_id: str, body: Any, who: Principal) -> None:
        """``PATCH /workflows/{id}``: the run's status."""
        status = body.get("status") if isinstance(body, dict) else None
        if status not in statuses.WORKFLOW_STATUSES:
            raise BadReport(f"status must be one of {sorted(statuses.WORKFLOW_STATUSES)}, not {_shown(status)}")
        now = self.clock()
        with writing(self.engine) as connection:
            row = self._run_for_report(connection, workflow_id, who, now)
            if row["status"] in statuses.TERMINAL and status not in statuses.TERMINAL:
                # A late copy of a report its terminal status replaced. A new start of the run (its
                # body cannot say which) shows in its tasks, and in its own next terminal status:
                # taking its In progress would let a late copy reopen a run for good.
                return
            values: dict[str, Any] = {"status": status, "updated_at": now}
            if status == statuses.IN_PROGRESS and row["started_at"] is None:
                values["started_at"] = now
            if status in statuses.TERMINAL:
                values["finished_at"] = now
                if row["started_at"] is None:
                    values["started_at"] = row["first_report_at"] or now
            self._update_run(connection, workflow_id, values)
            if status != row["status"]:
                self._transition(connection, workflow_id, None, status, now, None)

    def create_task(self, workflow_id: str, body: Any, raw: str, who: Principal) -> bool:
        """``POST /workflows/{id}/tasks``: a task; False when it is known already (answered 409)."""
        if not isinstance(body, dict):
            raise BadReport("the body must be a JSON object (the task)")
        task_id = _check_id(body.get("id", body.get("task_id")), "id")
        values = self._task_values(body, raw)
        now = self.clock()
        with writing(self.engine) as connection:
            row = self._run_for_report(connection, workflow_id, who, now)
            if values["run_attempt"] is not None:
                self._speaks_v2(connection, row, now)
            return self._add_task(connection, workflow_id, task_id, values, now)

    def update_task(self, workflow_id: str, task_id: str, body: Any, raw: str, who: Principal) -> None:
        """``PATCH /workflows/{id}/tasks/{task}``: a task's new state (recorded even if its POST was lost)."""
        if not isinstance(body, dict):
            raise BadReport("the body must be a JSON object (the task)")
        task_id = _check_id(task_id, "the task id")
        values = self._task_values(body, raw)
        now = self.clock()
        with writing(self.engine) as connection:
            row = self._run_for_report(connection, workflow_id, who, now)
            if values["run_attempt"] is not None:
                self._speaks_v2(connection, row, now)
            found = connection.execute(
                select(T.c.status, T.c.body).where(T.c.workflow_id == workflow_id, T.c.id == task_id)
            ).first()
            if found is None:
                self._add_task(connection, workflow_id, task_id, values, now)
                return
            before = found.status
            if before in statuses.TERMINAL and values["status"] not in statuses.TERMINAL \
                    and _which_start(found.body, body) == "same":
                return  # a late copy of a report the task's terminal status replaced: kept as it is
            if values["metadata"] is None:
                del values["metadata"]  # the runner sends it once there is some; keep what came
            connection.execute(update(T).where(T.c.workflow_id == workflow_id, T.c.id == task_id)
                               .values(updated_at=now, **values))
            if values["status"] != before:
                self._transition(connection, workflow_id, task_id, values["status"], now, values["reason"])

    def _add_task(self, connection: Connection, workflow_id: str, task_id: str, values: dict[str, Any],
                  now: float) -> bool:
        found = _POSITION.match(task_id)
        if found:
            position = int(found.group(1))
        else:
            position = int(connection.execute(select(func.count()).select_from(T)
                                              .where(T.c.workflow_id == workflow_id)).scalar() or 0)
        added = _insert_ignoring(connection, T, {"workflow_id": workflow_id, "id": task_id, "position": position,
                                                 "created_at": now, "updated_at": now, **values},
                                 ["workflow_id", "id"])
        if added:
            self._transition(connection, workflow_id, task_id, values["status"], now, values["reason"])
        return added == 1

    @staticmethod
    def _task_values(body: dict[str, Any], raw: str) -> dict[str, Any]:
        status = body.get("status")
        if status not in statuses.TASK_STATUSES:
            raise BadReport(f"status must be one of {sorted(statuses.TASK_STATUSES)}, not {_shown(status)}")
        error, errors, metadata = body.get("error"), body.get("errors"), body.get("metadata")
        reason = body.get("reason")
        if reason is None and isinstance(error, dict) and status != "Completed":
            reason = _text_or_none(error.get("message"))
        return {
            "status": status,
            "reason": _text_or_none(reason),
            "group_name": _text_or_none(body.get("group_name")),
            "retry_count": _int_or_none(body.get("retry_count")),
            "duration": _number_or_none(body.get("duration")),
            "started_at": _text_or_none(body.get("started_at")),
            "finished_at": _text_or_none(body.get("finished_at")),
            "error": _dumps(error) if isinstance(error, dict) else None,
            "errors": _dumps(errors) if isinstance(errors, list) else None,
            "metadata": _dumps(metadata) if isinstance(metadata, dict) else None,
            "run_attempt": _int_or_none(body.get("run_attempt")),
            "body": raw,
        }

    def heartbeat(self, workflow_id: str, body: Any, who: Principal) -> dict[str, Any]:
        """``POST /workflows/{id}/heartbeat``: renew the lease; the answer's body (the interval, a cancel)."""
        if not isinstance(body, dict):
            raise BadReport("the body must be a JSON object (the heartbeat)")
        now = self.clock()
        with writing(self.engine) as connection:
            row = self._run_for_report(connection, workflow_id, who, now)
            interval = bounded_interval(body.get("interval"), row["interval"] or DEFAULT_INTERVAL)
            progress = _loads(row["progress"]) or {}
            if isinstance(body.get("progress"), dict):
                progress.update((str(k), v) for k, v in body["progress"].items() if isinstance(v, dict))
            running = body.get("running")
            values: dict[str, Any] = {
                "protocol": 2,
                "interval": interval,
                "last_beat_at": now,
                "beat_seq": _int_or_none(body.get("seq")),
                "lease_until": now + LEASE_FACTOR * interval,
                "running": _dumps([str(task) for task in running]) if isinstance(running, list) else None,
                "progress": _dumps(progress),
                "updated_at": now,
            }
            attempt = _int_or_none(body.get("run_attempt"))
            if attempt is not None:
                values["run_attempt"] = attempt
            cancel = _loads(row["cancel"])
            if cancel is not None and row["cancel_delivered_at"] is None:
                values["cancel_delivered_at"] = now
            self._update_run(connection, workflow_id, values)
        answer: dict[str, Any] = {"interval": interval}
        if cancel is not None:
            answer["cancel"] = {"tasks": cancel.get("tasks"), "reason": cancel["reason"], "grace": cancel["grace"]}
        return answer

    def add_logs(self, workflow_id: str, body: Any, who: Principal) -> int:
        """``POST /workflows/{id}/logs``: keep a batch of records (a ``seq`` seen before is kept once);
        the number of records new to the backend."""
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise BadReport('the body must be {"records": [...], "dropped": N}')
        if len(records) > MAX_RECORDS:
            raise BadReport(f"a batch holds at most {MAX_RECORDS} records, not {len(records)}")
        now = self.clock()
        rows = [self._log_row(workflow_id, record, now) for record in records]
        dropped = _int_or_none(body.get("dropped")) or 0
        with writing(self.engine) as connection:
            row = self._run_for_report(connection, workflow_id, who, now)
            self._speaks_v2(connection, row, now)
            added = _insert_ignoring(connection, L, rows, ["workflow_id", "seq"]) if rows else 0
            if dropped > 0:
                self._update_run(connection, workflow_id, {"log_dropped": W.c.log_dropped + dropped})
        return added

    @staticmethod
    def _log_row(workflow_id: str, record: Any, now: float) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise BadReport("each log record must be a JSON object")
        seq = _int_or_none(record.get("seq"))
        if seq is None or seq < 0 or seq > 2**62:
            raise BadReport("each log record needs a seq: a whole number from 0")
        line = record.get("line")
        line = line if isinstance(line, str) else ("" if line is None else _dumps(line))
        truncated = record.get("truncated") is True or len(line) > LINE_MAX
        stream = record.get("stream")
        task = record.get("task")
        level, ts = record.get("level"), record.get("ts")
        return {
            "workflow_id": workflow_id,
            "seq": seq,
            "task": str(task)[: schema.ID] if isinstance(task, (str, int)) and not isinstance(task, bool) else None,
            "stream": stream if stream in _STREAMS else "stdout",
            "level": level[:32] if isinstance(level, str) else None,
            "line": line[:LINE_MAX],
            "ts": ts[:64] if isinstance(ts, str) else None,
            "truncated": truncated,
            "received_at": now,
        }

    # -- what an operator does -------------------------------------------------------------------

    def cancel(self, workflow_id: str, body: Any) -> dict[str, Any]:
        """Ask a run to stop: delivered with its next heartbeat. A run that never reported is
        Cancelled at once (its runner, if it starts, is answered 410 and stops). The cancel as stored."""
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise BadReport('the body must be a JSON object: {"reason": "...", "grace": 10, "tasks": null}')
        reason = body.get("reason")
        if reason is None:
            reason = DEFAULT_CANCEL_REASON
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise BadReport(f"reason must be a non-empty string of at most {MAX_REASON} characters")
        grace = body.get("grace", DEFAULT_CANCEL_GRACE)
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not 0 <= grace <= MAX_GRACE:
            raise BadReport(f"grace must be a number of seconds from 0 to {MAX_GRACE:g}")
        chosen = body.get("tasks")
        if chosen is not None and (not isinstance(chosen, list) or not chosen
                                   or not all(isinstance(t, str) and t for t in chosen)):
            raise BadReport("tasks must be null (the whole run) or a non-empty list of task ids")
        now = self.clock()
        cancel = {"tasks": chosen, "reason": reason, "grace": grace, "requested_at": now}
        with writing(self.engine) as connection:
            row = connection.execute(select(W).where(W.c.id == workflow_id)).mappings().first()
            if row is None:
                raise UnknownRun(workflow_id)
            if row["status"] in statuses.TERMINAL:
                raise RunEnded(f"the run already ended: {row['status']}")
            values: dict[str, Any] = {"cancel": _dumps(cancel), "cancel_delivered_at": None, "updated_at": now}
            if row["first_report_at"] is None and chosen is None:
                values.update(status=statuses.CANCELLED, gone=True, finished_at=now)
                self._transition(connection, workflow_id, None, statuses.CANCELLED, now, reason)
            connection.execute(update(W).where(W.c.id == workflow_id).values(**values))
        return self._shown_cancel(cancel, None)

    @staticmethod
    def _shown_cancel(cancel: Mapping[str, Any], delivered: float | None) -> dict[str, Any]:
        return {"tasks": cancel.get("tasks"), "reason": cancel.get("reason"), "grace": cancel.get("grace"),
                "requested_at": utc(cancel.get("requested_at")), "delivered_at": utc(delivered)}

    def relaunch(self, workflow_id: str) -> tuple[str, int]:
        """Give a run that ended without completing (Crashed, Failed, Cancelled) to a new attempt:
        ``(its new token, the attempt's number)``. The run is Not started again under the same id,
        with no lease until its new runner shows version 2; the old token is retired, so reports
        of the old attempt are refused (a heartbeat's 409 stops a runner that is still alive)."""
        now = self.clock()
        token = tokens.new_run_token()
        with writing(self.engine) as connection:
            row = connection.execute(select(W).where(W.c.id == workflow_id).with_for_update()).mappings().first()
            if row is None:
                raise UnknownRun(workflow_id)
            if row["status"] not in (statuses.CRASHED, statuses.FAILED, statuses.CANCELLED):
                raise RunEnded(f"a run that ended Crashed, Failed or Cancelled is relaunched, not {row['status']}")
            attempt = (row["run_attempt"] or 1) + 1
            if row["token_digest"] is not None:
                _insert_ignoring(connection, R, {"digest": row["token_digest"], "workflow_id": workflow_id,
                                                 "run_attempt": attempt - 1}, ["digest"])
            self._update_run(connection, workflow_id, {
                "status": statuses.NOT_STARTED, "token_digest": tokens.digest(token), "run_attempt": attempt,
                "gone": False, "protocol": 1, "first_report_at": None, "started_at": None, "finished_at": None,
                "lease_until": None, "last_beat_at": None, "beat_seq": None, "running": None, "cancel": None,
                "cancel_delivered_at": None, "updated_at": now})
            why = f"relaunched: run attempt {attempt}"
            self._transition(connection, workflow_id, None, statuses.NOT_STARTED, now, why)
        return token, attempt

    # -- the backend's own work ------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """The Crashed rule: every version 2 run whose lease ran out, and its unfinished tasks,
        become Crashed; the ids of those runs."""
        now = self.clock()
        with writing(self.engine) as connection:
            self._lengthen_leases_after_a_gap(connection, now)
            crashed = connection.execute(
                update(W)
                .where(W.c.protocol == 2, W.c.gone.is_(False), W.c.lease_until < now,
                       W.c.status.in_([statuses.NOT_STARTED, statuses.IN_PROGRESS]))
                .values(status=statuses.CRASHED, gone=True, finished_at=now, updated_at=now)
                .returning(W.c.id, W.c.last_beat_at, W.c.interval)
            ).all()
            for run in crashed:
                interval = run.interval or DEFAULT_INTERVAL
                if run.last_beat_at is None:
                    why = f"no heartbeat within {LEASE_FACTOR} x {interval:g} s of its first report"
                else:
                    why = f"no heartbeat since {utc(run.last_beat_at)} ({LEASE_FACTOR} x {interval:g} s)"
                self._transition(connection, run.id, None, statuses.CRASHED, now, why)
                unfinished = connection.execute(
                    select(T.c.id).where(T.c.workflow_id == run.id, T.c.status.not_in(statuses.TERMINAL))
                ).scalars().all()
                if unfinished:
                    connection.execute(
                        update(T).where(T.c.workflow_id == run.id, T.c.id.in_(unfinished))
                        .values(status=statuses.CRASHED, reason=why, updated_at=now)
                    )
                    for task_id in unfinished:
                        self._transition(connection, run.id, task_id, statuses.CRASHED, now, why)
        return [str(run.id) for run in crashed]

    @staticmethod
    def _lengthen_leases_after_a_gap(connection: Connection, now: float) -> None:
        """Note this sweep's time; after a gap of more than SWEEP_GAP since the last one (by any
        backend on the database), lengthen the lease of every live version 2 run by the gap, so a
        run is not declared Crashed for beats it sent while no backend could take them."""
        key = schema.settings.c.key
        last = connection.execute(select(schema.settings.c.value).where(key == _SETTING_SWEPT)).scalar()
        if last is None:
            _insert_ignoring(connection, schema.settings, {"key": _SETTING_SWEPT, "value": repr(now)}, ["key"])
            return
        connection.execute(update(schema.settings).where(key == _SETTING_SWEPT).values(value=repr(now)))
        try:
            gap = now - float(last)
        except ValueError:
            return
        if gap > SWEEP_GAP:
            connection.execute(
                update(W).where(W.c.protocol == 2, W.c.gone.is_(False), W.c.lease_until.is_not(None),
                                W.c.status.in_([statuses.NOT_STARTED, statuses.IN_PROGRESS]))
                .values(lease_until=W.c.lease_until + gap)
            )

    def prune(self, keep_days: float) -> int:
        """Delete the runs that ended more than ``keep_days`` days ago, with everything of theirs;
        how many runs went."""
        before = self.clock() - keep_days * 86400
        gone = 0
        while True:
            with writing(self.engine) as connection:
                ids = connection.execute(
                    select(W.c.id).where(W.c.finished_at < before, W.c.status.in_(statuses.TERMINAL)).limit(500)
                ).scalars().all()
                if not ids:
                    return gone
                for table in (L, X, T, R):
                    connection.execute(delete(table).where(table.c.workflow_id.in_(ids)))
                connection.execute(delete(W).where(W.c.id.in_(ids)))
                gone += len(ids)

    # -- reading ---------------------------------------------------------------------------------

    def list_runs(self, who: Principal, status: str | None = None, limit: int = LIST_LIMIT,
                  before: float | None = None) -> list[dict[str, Any]]:
        """The runs, newest first: all of them for the operator, its own for a run token."""
        query = select(W).order_by(W.c.created_at.desc(), W.c.id).limit(limit)
        if status is not None:
            query = query.where(W.c.status == status)
        if before is not None:
            query = query.where(W.c.created_at < before)
        if not who.operator:
            query = query.where(W.c.id == who.workflow_id)
        with reading(self.engine) as connection:
            runs = connection.execute(query).mappings().all()
            counts: dict[str, dict[str, int]] = {}
            ids = [run["id"] for run in runs]
            if ids:
                for workflow_id, task_status, count in connection.execute(
                    select(T.c.workflow_id, T.c.status, func.count()).where(T.c.workflow_id.in_(ids))
                    .group_by(T.c.workflow_id, T.c.status)
                ):
                    counts.setdefault(workflow_id, {})[task_status] = int(count)
        now = self.clock()
        return [{**self._run_summary(run, now), "tasks": counts.get(run["id"], {})} for run in runs]

    def _run_summary(self, run: RowMapping, now: float) -> dict[str, Any]:
        started, finished = run["started_at"], run["finished_at"]
        duration = None if started is None else (finished if finished is not None else now) - started
        cancel = _loads(run["cancel"])
        return {
            "id": run["id"],
            "name": run["name"],
            "status": run["status"],
            "managed": bool(run["managed"]),
            "protocol": run["protocol"],
            "created_at": utc(run["created_at"]),
            "started_at": utc(started),
            "finished_at": utc(finished),
            "duration": None if duration is None else round(max(0.0, duration), 3),
            "run_attempt": run["run_attempt"],
            "heartbeat": None if run["last_beat_at"] is None and run["lease_until"] is None else {
                "last_at": utc(run["last_beat_at"]),
                "seq": run["beat_seq"],
                "interval": run["interval"],
                "lease_until": utc(run["lease_until"]),
            },
            "cancel": None if cancel is None else self._shown_cancel(cancel, run["cancel_delivered_at"]),
            "log_dropped": run["log_dropped"],
        }

    def run_detail(self, workflow_id: str, who: Principal) -> dict[str, Any]:
        """One run with its tasks, each with its history of transitions, error, progress and metadata."""
        if not who.may_see(workflow_id):
            raise UnknownRun(workflow_id)
        with reading(self.engine) as connection:
            run = connection.execute(select(W).where(W.c.id == workflow_id)).mappings().first()
            if run is None:
                raise UnknownRun(workflow_id)
            rows = connection.execute(
                select(*[c for c in T.c if c.name != "body"]).where(T.c.workflow_id == workflow_id)
                .order_by(T.c.position, T.c.created_at, T.c.id)
            ).mappings().all()
            history = self._histories(connection.execute(
                select(X).where(X.c.workflow_id == workflow_id).order_by(X.c.id)
            ).mappings().all())
        progress = _loads(run["progress"]) or {}
        running = set(_loads(run["running"]) or [])
        detail = self._run_summary(run, self.clock())
        detail["history"] = history.get(None, [])
        detail["tasks"] = [
            {**self._task_shown(row), "progress": progress.get(row["id"]), "running": row["id"] in running,
             "history": history.get(row["id"], [])}
            for row in rows
        ]
        return detail

    def task_detail(self, workflow_id: str, task_id: str, who: Principal) -> dict[str, Any]:
        """One task: as the run's detail shows it, plus its last report whole (``report``)."""
        if not who.may_see(workflow_id):
            raise UnknownRun(workflow_id)
        with reading(self.engine) as connection:
            row = connection.execute(
                select(T).where(T.c.workflow_id == workflow_id, T.c.id == task_id)
            ).mappings().first()
            if row is None:
                raise UnknownRun(f"{workflow_id} {task_id}")
            history = self._histories(connection.execute(
                select(X).where(X.c.workflow_id == workflow_id, X.c.task_id == task_id).order_by(X.c.id)
            ).mappings().all())
            progress = connection.execute(select(W.c.progress).where(W.c.id == workflow_id)).scalar()
        return {**self._task_shown(row), "progress": (_loads(progress) or {}).get(task_id),
                "history": history.get(task_id, []), "report": _loads(row["body"])}

    @staticmethod
    def _task_shown(row: RowMapping) -> dict[str, Any]:
        return {
            "id": row["id"],
            "position": row["position"],
            "status": row["status"],
            "reason": row["reason"],
            "group_name": row["group_name"],
            "retry_count": row["retry_count"],
            "duration": row["duration"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "error": _loads(row["error"]),
            "errors": _loads(row["errors"]) or [],
            "metadata": _loads(row["metadata"]),
            "run_attempt": row["run_attempt"],
            "updated_at": utc(row["updated_at"]),
        }

    @staticmethod
    def _histories(rows: Iterable[RowMapping]) -> dict[str | None, list[dict[str, Any]]]:
        found: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(row["task_id"], []).append(
                {"status": row["status"], "at": utc(row["at"]), "detail": row["detail"]}
            )
        return found

    def log_records(self, workflow_id: str, who: Principal, task: str | None = None, after: int | None = None,
                    limit: int = LOGS_LIMIT) -> dict[str, Any]:
        """A run's log records in ``seq`` order: of one task, after a ``seq``, at most ``limit``."""
        if not who.may_see(workflow_id):
            raise UnknownRun(workflow_id)
        query = select(L).where(L.c.workflow_id == workflow_id).order_by(L.c.seq).limit(limit)
        if task is not None:
            query = query.where(L.c.task == task)
        if after is not None:
            query = query.where(L.c.seq > after)
        with reading(self.engine) as connection:
            dropped = connection.execute(select(W.c.log_dropped).where(W.c.id == workflow_id)).first()
            if dropped is None:
                raise UnknownRun(workflow_id)
            rows = connection.execute(query).mappings().all()
        records = [
            {"seq": row["seq"], "ts": row["ts"], "task": row["task"], "stream": row["stream"],
             "level": row["level"], "line": row["line"], "truncated": bool(row["truncated"]),
             "received_at": utc(row["received_at"])}
            for row in rows
        ]
        return {"records": records, "dropped": int(dropped[0] or 0),
                "last_seq": records[-1]["seq"] if records else after}

    def latest_lines(self, workflow_id: str, per_task: int) -> dict[str | None, list[dict[str, Any]]]:
        """Each task's last ``per_task`` log records (the run's own lines under None), oldest first."""
        ranked = select(L, func.row_number().over(partition_by=L.c.task, order_by=L.c.seq.desc()).label("rank")) \
            .where(L.c.workflow_id == workflow_id).subquery()
        with reading(self.engine) as connection:
            rows = connection.execute(
                select(ranked).where(ranked.c.rank <= per_task).order_by(ranked.c.seq)
            ).mappings().all()
        found: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(row["task"], []).append(
                {"seq": row["seq"], "stream": row["stream"], "level": row["level"], "line": row["line"]}
            )
        return found

    def step_names(self, workflow_id: str) -> dict[str, str]:
        """Each task's step, as the engine's first line about it names it (``extract [0-ab12cd34] -
        In progress``): the protocol's task bodies carry no step name."""
        first = select(L.c.task, func.min(L.c.seq).label("seq")).where(
            L.c.workflow_id == workflow_id, L.c.stream == "dotflow", L.c.task.is_not(None)
        ).group_by(L.c.task).subquery()
        with reading(self.engine) as connection:
            rows = connection.execute(
                select(L.c.task, L.c.line).join(first, (L.c.task == first.c.task) & (L.c.seq == first.c.seq))
                .where(L.c.workflow_id == workflow_id)
            ).all()
        names = {}
        for task, line in rows:
            found = _STEP_LINE.match(line)
            if found and found.group(2) == task:
                names[str(task)] = found.group(1)
        return names

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _transition(connection: Connection, workflow_id: str, task_id: str | None, status: str, at: float,
                    detail: str | None) -> None:
        connection.execute(insert(X).values(workflow_id=workflow_id, task_id=task_id, status=status, at=at,
                                            detail=None if detail is None else detail[:MAX_REASON]))

