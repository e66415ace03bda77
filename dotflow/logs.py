"""The format of dotflow's log lines: one ``ID <workflow> - <subject> - <event>`` line per event on
the ``dotflow`` logger, and the child logger that carries tracebacks."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("dotflow")

# Tracebacks go to this child logger at DEBUG, apart from the one-line records: `dotflow start -v`
# turns it on; an application can too (logging.getLogger("dotflow.traceback").setLevel("DEBUG")).
TRACEBACK_LOGGER = "dotflow.traceback"


def log_event(level: int, workflow_id: Any, subject: Any, event: str, exc_info: bool = False) -> None:
    """Log ``ID <workflow> - <subject> - <event>`` on the ``dotflow`` logger: the one format of
    every per-task and per-workflow line, so a log can be grepped by workflow id."""
    logger.log(level, "ID %s - %s - %s", workflow_id, subject, event, exc_info=exc_info)
