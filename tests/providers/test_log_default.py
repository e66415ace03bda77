"""LogDefault and the Log contract through real DotFlow runs: the outputs, the text and JSON record
shapes, the level filter, bad arguments, no leaked logger, and custom Log subclasses written the 1.x way."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dotflow import Config, DotFlow, action
from dotflow.abc.log import Log, exception_name
from dotflow.errors import UsageError
from dotflow.providers import LogDefault

WORKFLOW = "wf-log"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (DEBUG|INFO|WARNING|ERROR) \[dotflow\]: (.*)$")


@action
def ok() -> int:
    return 1


@action(retry=2, retry_delay=0)
def flaky() -> None:
    raise ConnectionError("no route to db")


def run(log: Log, steps: tuple[Any, ...] = (ok, flaky)) -> list[str]:
    """Run ``steps`` (keep_going) with ``log``; the task ids."""
    flow = DotFlow(config=Config(log=log), workflow_id=WORKFLOW)
    flow.task.add(list(steps))
    flow.start(keep_going=True)
    return [task.task_id for task in flow.result_task()]


def records(text: str) -> list[tuple[str, str]]:
    """``(level, message)`` of each 1.x-format line of ``text``."""
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match is not None, line
        found.append((match.group(1), match.group(2)))
    return found


def expected_simple(good: str, failing: str) -> list[tuple[str, str]]:
    """What a run of (ok, flaky) logs in the simple format at INFO (each task named by step and id)."""
    good, failing = f"ok [{good}]", f"flaky [{failing}]"
    return [
        ("INFO", f"ID {WORKFLOW} - {good} - Not started"),
        ("INFO", f"ID {WORKFLOW} - {failing} - Not started"),
        ("INFO", f"ID {WORKFLOW} - {good} - In progress"),
        ("INFO", f"ID {WORKFLOW} - {good} - Completed"),
        ("INFO", f"ID {WORKFLOW} - {failing} - In progress"),
        ("WARNING", f"ID {WORKFLOW} - {failing} - Retry: ConnectionError: no route to db"),
        ("INFO", f"ID {WORKFLOW} - {failing} - In progress"),
        ("ERROR", f"ID {WORKFLOW} - {failing} - Failed: ConnectionError: no route to db"),
    ]


# -- outputs -------------------------------------------------------------------------------------


def test_console_writes_1x_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """output="console" (the 1.x default) writes one ``time - LEVEL [dotflow]: ID <wf> - <task> - <status>``
    line per status change to stderr, nothing to stdout; the reason follows Retry and Failed."""
    good, failing = run(LogDefault())
    out, err = capsys.readouterr()
    assert out == ""
    assert records(err) == expected_simple(good, failing)


def test_console_follows_a_redirected_stderr() -> None:
    """A LogDefault made before stderr is redirected writes to the redirected stream."""
    log = LogDefault(output="console")
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        run(log, (ok,))
    assert len(records(buffer.getvalue())) == 3


def test_file_appends_to_path_making_its_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """output="file" makes the path's folders, writes nothing to the console, and appends run after run."""
    path = tmp_path / "deep" / "er" / "flow.log"
    log = LogDefault(output="file", path=str(path))
    assert not path.exists()  # opened on the first record
    good, failing = run(log)
    run(LogDefault(output="file", path=path))  # a PathLike path, a second instance: appended
    log.flush()
    assert capsys.readouterr() == ("", "")
    assert records(path.read_text(encoding="utf-8")) == expected_simple(good, failing) * 2


def test_both_writes_the_same_lines_to_the_file_and_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """output="both" writes every record to the file and to stderr."""
    path = tmp_path / "flow.log"
    good, failing = run(LogDefault(output="both", path=str(path)))
    err = capsys.readouterr().err
    assert records(err) == records(path.read_text(encoding="utf-8")) == expected_simple(good, failing)


def test_logger_output_hands_records_to_the_dotflow_logger_attaching_nothing(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """output="logger" (Config()'s default) logs on the standard ``dotflow`` logger and attaches no handler."""
    assert repr(Config().log) == "LogDefault(level='INFO', output='logger', format='simple')"
    caplog.set_level(logging.INFO, logger="dotflow")
    good, failing = run(LogDefault(output="logger"))
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "dotflow" and "workflow" not in
             r.getMessage()]
    assert [line for line in lines if line in expected_simple(good, failing)] == expected_simple(good, failing)
    assert logging.getLogger("dotflow").handlers == [] and capsys.readouterr() == ("", "")


# -- the JSON format -----------------------------------------------------------------------------


def test_json_records_parse_and_hold_the_documented_keys(tmp_path: Path) -> None:
    """format="json" writes one JSON object a line: timestamp, level, workflow_id, task_id, status,
    and duration once finished, retry_count once retried, error {exception, message} on Retry and Failed."""
    path = tmp_path / "flow.jsonl"
    good, failing = run(LogDefault(output="file", path=path, format="json"))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(row["task_id"], row["status"], row["level"]) for row in rows] == [
        (good, "Not started", "INFO"),
        (failing, "Not started", "INFO"),
        (good, "In progress", "INFO"),
        (good, "Completed", "INFO"),
        (failing, "In progress", "INFO"),
        (failing, "Retry", "WARNING"),
        (failing, "In progress", "INFO"),
        (failing, "Failed", "ERROR"),
    ]
    for row in rows:
        assert {"timestamp", "level", "workflow_id", "task_id", "status"} <= set(row) and row["workflow_id"] == WORKFLOW
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["timestamp"])
    completed, retry, failed = rows[3], rows[5], rows[7]
    assert isinstance(completed["duration"], float) and "error" not in completed and "retry_count" not in completed
    assert "duration" not in rows[0] and "retry_count" not in rows[0]
    assert retry["retry_count"] == 1 and retry["error"] == {"exception": "ConnectionError", "message": "no route to db"}
    assert failed["error"] == {"exception": "ConnectionError", "message": "no route to db"}
    assert isinstance(failed["duration"], float) and failed["retry_count"] == 1


def test_json_on_the_console_is_one_bare_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    """On stderr too a JSON record is the whole line, with no text around it."""
    run(LogDefault(format="json"), (ok,))
    rows = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [row["status"] for row in rows] == ["Not started", "In progress", "Completed"]


# -- levels and arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "levels"),
    [("DEBUG", {"INFO", "WARNING", "ERROR"}), ("info", {"INFO", "WARNING", "ERROR"}),
     ("WARNING", {"WARNING", "ERROR"}), (logging.ERROR, {"ERROR"})],
)
def test_level_is_the_lowest_level_written(level: Any, levels: set[str], capsys: pytest.CaptureFixture[str]) -> None:
    """level (a name in any case, or a logging constant) drops every record below it."""
    run(LogDefault(level=level))
    assert {found for found, _ in records(capsys.readouterr().err)} == levels


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "LOUD"}, "LogDefault(level='LOUD'); use one of: DEBUG, INFO, WARNING, ERROR"),
        ({"level": 15}, "LogDefault(level=15); use one of"),
        ({"output": "printer"}, "LogDefault(output='printer'); use one of: console, file, both, logger"),
        ({"format": "xml"}, "LogDefault(format='xml'); use one of: simple, json"),
    ],
)
def test_a_bad_argument_is_a_one_line_usage_error(kwargs: dict[str, Any], message: str) -> None:
    """A bad level, output or format raises a one-line UsageError giving the allowed values."""
    with pytest.raises(UsageError) as caught:
        LogDefault(**kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unwritable_path_is_a_usage_error(tmp_path: Path) -> None:
    """A path that is a folder, or under a file, is refused when the LogDefault is made."""
    (tmp_path / "file").write_text("x")
    for path in (tmp_path, tmp_path / "file" / "flow.log"):
        with pytest.raises(UsageError, match="cannot write there"):
            LogDefault(output="file", path=path)


def test_a_fifo_as_the_path_is_a_usage_error(tmp_path: Path) -> None:
    """A FIFO at the path (appending to it would wait for a reader, and so hang the run at its first
    record) is refused when the LogDefault is made, in one line."""
    fifo = tmp_path / "flow.log"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"it is a FIFO; give the path of a regular file$"):
        LogDefault(output="file", path=fifo)


def test_a_fifo_put_at_the_path_later_fails_the_records_without_waiting(tmp_path: Path) -> None:
    """A FIFO put at the path after the LogDefault was made: the records are lost (logging reports
    each) and the run completes at once, in a real process that would otherwise wait for ever."""
    script = (
        "import os, sys\n"
        "from dotflow import Config, DotFlow, action\n"
        "from dotflow.providers import LogDefault\n"
        "log = LogDefault(output='file', path=sys.argv[1])\n"
        "os.mkfifo(sys.argv[1])\n"
        "flow = DotFlow(config=Config(log=log))\n"
        "flow.task.add(step=action(lambda: 1))\n"
        "flow.start()\n"
        "print(flow.result_task()[0].status)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "flow.log")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Completed"
    assert "a FIFO, not a regular file" in result.stderr


def test_instances_leak_no_logger_and_close_their_file(tmp_path: Path) -> None:
    """Making and dropping 300 LogDefaults adds nothing to logging's registry (1.x added a logger
    each, for good), and a dropped instance's file is closed."""
    before = set(logging.Logger.manager.loggerDict)
    for index in range(100):
        for output in ("console", "file", "both"):
            LogDefault(output=output, path=tmp_path / f"{index % 3}.log").info(message="x")
    log = LogDefault(output="file", path=tmp_path / "kept.log")
    log.info(message="opened")
    (handler,) = log._logger.handlers
    assert isinstance(handler, logging.FileHandler) and handler.stream is not None
    del log
    gc.collect()
    assert handler.stream is None
    assert set(logging.Logger.manager.loggerDict) == before


def test_repr_shows_the_settings(tmp_path: Path) -> None:
    """repr() gives the arguments, path only when a file is written."""
    assert repr(LogDefault()) == "LogDefault(level='INFO', output='console', format='simple')"
    path = str(tmp_path / "f.log")
    assert repr(LogDefault("debug", "both", path, "json")) == (
        f"LogDefault(level='DEBUG', output='both', path={path!r}, format='json')"
    )


# -- the Log contract, 1.x style -----------------------------------------------------------------


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))


def test_a_1x_subclass_setting_logger_level_and_format_works() -> None:
    """A Log subclass that sets ``_logger``, ``_level`` and ``_format`` in __init__ (1.x's documented
    way) gets its records, filtered by its level and in its format, from a real run."""
    from dotflow.abc.log import LEVELS

    class LogStructured(Log):
        def __init__(self, level: str = "INFO", format: str = "simple") -> None:
            self._level = LEVELS.get(level.upper(), logging.INFO)
            self._format = format
            self._logger = logging.getLogger("tests.log_structured")
            self._logger.setLevel(self._level)
            self._logger.handlers.clear()
            self._logger.propagate = False
            self.handler = ListHandler()
            self._logger.addHandler(self.handler)

    log = LogStructured(level="WARNING", format="json")
    run(log)
    assert [(level, json.loads(line)["status"]) for level, line in log.handler.lines] == [
        (logging.WARNING, "Retry"),
        (logging.ERROR, "Failed"),
    ]


def test_a_1x_subclass_overriding_format_text_works() -> None:
    """A subclass overriding ``_format_text(level, **kwargs)`` (1.x's other documented way) is used."""

    class LogCustomFormat(Log):
        def __init__(self) -> None:
            self._logger = logging.getLogger("tests.log_custom_format")
            self._logger.setLevel(logging.INFO)
            self._logger.propagate = False
            self.handler = ListHandler()
            self._logger.handlers = [self.handler]

        def _format_text(self, level: int, **kwargs: Any) -> str:
            task = kwargs["task"]
            return f"[{task.workflow_id}] task:{task.task_id} {task.status}"

    log = LogCustomFormat()
    (task_id,) = run(log, (ok,))
    assert [line for _, line in log.handler.lines] == [
        f"[{WORKFLOW}] task:{task_id} {status}" for status in ("Not started", "In progress", "Completed")
    ]


def test_a_subclass_overriding_the_methods_gets_each_status_by_level() -> None:
    """A subclass overriding info/warning/error is called with ``task=`` at 1.x's levels."""

    class Recorder(Log):
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def info(self, **kwargs: Any) -> None:
            self.calls.append(("info", kwargs["task"].status))

        def warning(self, **kwargs: Any) -> None:
            self.calls.append(("warning", kwargs["task"].status))

        def error(self, **kwargs: Any) -> None:
            self.calls.append(("error", kwargs["task"].status))

    log = Recorder()
    run(log, (flaky,))
    assert log.calls == [("info", "Not started"), ("info", "In progress"), ("warning", "Retry"),
                         ("info", "In progress"), ("error", "Failed")]


def test_a_log_without_a_task_formats_its_keywords() -> None:
    """Called without ``task=``, the simple format gives key=value pairs and json an object of them."""
    handler = ListHandler()
    log = LogDefault(output="logger")
    log._logger = logging.Logger("tests.no_task")
    log._logger.addHandler(handler)
    log.info(message="hello", n=2)
    log._format = "json"
    log.warning(message="hello")
    assert handler.lines[0] == (logging.INFO, "message=hello n=2")
    assert json.loads(handler.lines[1][1])["message"] == "hello"


def test_exception_name_takes_the_1x_string_or_the_exception() -> None:
    """A TaskError's exception is named the same whether it holds the class name (1.x) or the exception."""
    assert exception_name("ValueError") == exception_name(ValueError("x")) == "ValueError"


def test_log_record_and_its_error_are_1x_records_of_keyword_fields() -> None:
    """LogRecord and LogRecordError (1.x's custom-log guide) take fields by keyword, default and dump them."""
    from dotflow.abc.log import LogRecord, LogRecordError

    assert (LogRecordError().exception, LogRecordError().message) == ("", "")
    record = LogRecord(workflow_id="wf-1", task_id="t", duration=0.0)
    assert (record.timestamp, record.level, record.retry_count, record.error) == ("", "", None, None)
    assert json.loads(record.model_dump_json(exclude_none=True)) == {
        "timestamp": "", "level": "", "workflow_id": "wf-1", "task_id": "t", "status": "", "duration": 0.0}
    record.error = LogRecordError(exception="ValueError", message="broken")
    assert record.model_dump()["error"] == {"exception": "ValueError", "message": "broken"}
    assert record.model_dump()["retry_count"] is None
    with pytest.raises(TypeError, match="no field 'colour'"):
        LogRecord(colour="red")


def test_json_format_writes_a_log_record() -> None:
    """The json format's line is a LogRecord's dump: a subclass reading LogRecord's fields reads every key."""
    from dotflow.abc.log import LogRecord

    class Task:
        workflow_id, task_id, status, duration, retry_count, errors = "wf", "t-1", "Completed", 0.5, 0, []

    line = json.loads(Log()._format_json(logging.INFO, task=Task()))
    assert set(line) <= set(LogRecord().model_dump())
    assert (line["workflow_id"], line["status"], line["duration"]) == ("wf", "Completed", 0.5)
