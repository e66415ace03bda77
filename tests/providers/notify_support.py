"""Shared parts of the notify tests: steps, a run through the public API, and log capture.

Imported as ``import notify_support`` (tests/ has no ``__init__.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from dotflow import Config, DotFlow, action
from dotflow.abc.notify import Notify

WORKFLOW = "wf-notify"


@action
def ok() -> dict[str, int]:
    return {"answer": 42}


@action
def bad() -> None:
    raise ValueError("bad_value in *column* [3]")


# the delay lets the Retry message go out before Failed comes: a queued Retry would be replaced by it
@action(retry=2, retry_delay=0.5)
def flaky() -> None:
    raise ConnectionError("flaky")


def run(notify: Notify, steps: Iterable[Callable[..., Any]] = (ok,), workflow_id: str = WORKFLOW) -> DotFlow:
    """Add ``steps`` to a DotFlow reporting to ``notify`` and run them all (keep_going); no flush."""
    flow = DotFlow(config=Config(notify=notify), workflow_id=workflow_id)
    flow.task.add(list(steps))
    flow.start(keep_going=True)
    return flow


def task_ids(flow: DotFlow) -> list[str]:
    return [task.task_id for task in flow.result_task()]


def every_line(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record of the client side, from any logger and at any level, formatted with
    its traceback (the test backend's own access log, werkzeug's, shows what it received)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    return "\n".join(handler.format(record) for record in caplog.records if not record.name.startswith("werkzeug"))


def capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    """Capture DEBUG and up from every logger: dotflow's, urllib3's, apprise's."""
    caplog.set_level(logging.DEBUG)
    for name in ("dotflow", "urllib3", "apprise"):
        caplog.set_level(logging.DEBUG, logger=name)


class Script:
    """A pytest-httpserver backend answering from a list of ``(status, json body, headers)``, then
    ``then`` for every later request; each request is recorded with its arrival time."""

    def __init__(
        self,
        httpserver: Any,
        answers: Iterable[tuple[int, Any, dict[str, str]]] = (),
        then: tuple[int, Any, dict[str, str]] = (200, {"ok": True}, {}),
    ) -> None:
        import re
        import threading

        self.answers = list(answers)
        self.then = then
        self.calls: list[tuple[float, str, Any]] = []  # (monotonic time, path, parsed JSON body)
        self._lock = threading.Lock()
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    def _answer(self, request: Any) -> Any:
        import json
        from time import monotonic

        from werkzeug.wrappers import Response

        with self._lock:
            self.calls.append((monotonic(), request.full_path.rstrip("?"), json.loads(request.get_data() or b"null")))
            status, body, headers = self.answers.pop(0) if self.answers else self.then
        return Response(json.dumps(body), status, headers, content_type="application/json")

    @property
    def bodies(self) -> list[Any]:
        return [body for _, _, body in self.calls]

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]
