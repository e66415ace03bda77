"""``dotflow backend check``: whether the database is reachable and at this dotflow's schema version."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dotflow.backend.database import describe, open_engine, parse_url
from dotflow.backend.migrations import state


class CheckResult(NamedTuple):
    """What the check found: ``ok`` when the database is reachable and migrated, and one line to print."""

    ok: bool
    line: str


def check(db: str) -> CheckResult:
    """Look at the database ``db`` (a URL as ``--db`` takes it) without changing it."""
    url = parse_url(db)
    where = describe(url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return CheckResult(False, f"no database at {where} ('dotflow backend start' creates it)")
    engine = open_engine(url, pool_size=1)
    try:
        found = state(engine)
    except Exception as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else ""
        return CheckResult(False, f"cannot reach the database {where}: {type(exc).__name__}: {reason}")
    finally:
        engine.dispose()
    if found.version == 0:
        return CheckResult(False, f"{where} is reachable but holds no backend schema "
                                  f"('dotflow backend start' migrates it to version {found.latest})")
    if found.version < found.latest:
        return CheckResult(False, f"{where} is at schema version {found.version} of {found.latest} "
                                  "('dotflow backend start' migrates it)")
    if found.version > found.latest:
        return CheckResult(False, f"{where} is at schema version {found.version}, newer than this dotflow's "
                                  f"({found.latest}): use the dotflow that migrated it")
    return CheckResult(True, f"{where} is reachable and migrated (schema version {found.version})")
