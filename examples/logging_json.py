"""Status records as JSON lines in a file: ``python examples/logging_json.py [PATH]``.

``LogDefault(output="file", format="json")`` appends one JSON object per task status change to
PATH (by default ``flow.jsonl`` in a temporary folder); this script reads them back and prints::

    INFO    Not started
    INFO    In progress
    WARNING Retry retry_count=1 error=ConnectionError: the database is waking up
    INFO    In progress retry_count=1
    INFO    Completed retry_count=1 duration=yes

``output="console"`` writes the same to stderr, ``"both"`` to both, and ``format="simple"`` gives
1.x's ``<time> - INFO [dotflow]: ID <workflow> - <task> - <status>`` lines.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from dotflow import Config, DotFlow, action
from dotflow.providers import LogDefault

calls = {"connect": 0}


@action(retry=2, retry_delay=0.05)
def connect():
    """Fails once, then connects."""
    calls["connect"] += 1
    if calls["connect"] == 1:
        raise ConnectionError("the database is waking up")
    return "connected"


def main(path: Path) -> None:
    log = LogDefault(output="file", path=path, format="json")
    flow = DotFlow(config=Config(log=log))
    flow.task.add(connect)
    flow.start()
    log.flush()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        extras = []
        if "retry_count" in record:
            extras.append(f"retry_count={record['retry_count']}")
        if "error" in record:
            extras.append(f"error={record['error']['exception']}: {record['error']['message']}")
        if "duration" in record:
            extras.append("duration=yes")
        print(f"{record['level']:<7} {' '.join([record['status'], *extras])}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder) / "flow.jsonl")
