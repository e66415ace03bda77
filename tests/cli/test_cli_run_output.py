"""What ``dotflow start`` shows about a run, through the real console script: the summary rows (error,
the user's own frame, attempts, where results are), -v / -vv, resume, --output json, and the
forms of --workflow and --initial-context."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe
from terminal_support import assert_one_line_error

import dotflow
from dotflow.text import user_frame

_PACKAGE = os.path.dirname(os.path.abspath(dotflow.__file__))  # dotflow/

JOB = '''
import json
import time

from dotflow import DotFlow, action


def lookup(data):
    return data["missing_key"]


@action(retry=2, retry_delay=0)
def flaky():
    return lookup({})


@action
def parse():
    return json.loads("{not json")


@action
def chatty():
    print("chatty printed this")
    return 1


@action
def slow_a():
    time.sleep(0.3)


@action
def slow_b():
    time.sleep(0.3)


@action
def extract(initial_context):
    print(f"extract ran with {initial_context.storage!r}")
    return [1, 2]


@action
def load(previous_context):
    print("load ran")
    return sum(previous_context.storage)


def etl():
    flow = DotFlow()
    flow.task.add(extract, initial_context={"n": 1}).add(load)
    return flow


def failures():
    flow = DotFlow()
    flow.task.add(flaky).add(parse)
    return flow


def chatty_then_flaky():
    flow = DotFlow()
    flow.task.add(chatty).add(flaky)
    return flow


def slow():
    flow = DotFlow()
    flow.task.add(slow_a).add(slow_b)
    return flow
'''

STORE = ("--storage", "file", "--path", "out")
CHECKPOINT = r"resumed \(checkpoint of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)"


def line_of(text: str) -> int:
    """The line number of ``text`` in job.py."""
    return next(number for number, line in enumerate(JOB.splitlines(), 1) if text in line)


KEY_LINE = line_of('return data["missing_key"]')
JSON_LINE = line_of('return json.loads("{not json")')


@pytest.fixture
def job(project: Path) -> Path:
    """The project folder, holding job.py too."""
    (project / "job.py").write_text(JOB)
    return project


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_failed_rows_show_the_error_the_users_frame_and_attempts(run_cli, job):
    """Each failed row holds its exception, the innermost frame in the user's file (not dotflow's,
    not the standard library's) and its attempts; with no -v there is no traceback anywhere."""
    result = run_cli("start", "-w", "job:failures", "--keep-going", "--workflow-id", "wf")
    assert result.returncode == 1, result.stderr
    assert re.search(rf"job\.flaky\s+Failed\s+2 attempts\s+\S+s\s+KeyError: 'missing_key' \(at job\.py:{KEY_LINE}\)$",
                     result.stdout, re.M), result.stdout
    assert re.search(rf"job\.parse\s+Failed\s+1 attempt\s+\S+s\s+JSONDecodeError: .* \(at job\.py:{JSON_LINE}\)$",
                     result.stdout, re.M), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_log_lines_name_the_step_and_carry_the_error(run_cli, job):
    """Log lines read 'ID <wf> - <step qualname> [<task id>] - <status>', a retry's with its error."""
    result = run_cli("start", "-s", "job.flaky", "--workflow-id", "wf")
    task = r"ID wf - flaky \[0-[0-9a-f]{8}\]"
    for status in ("Not started", "In progress", "Retry: KeyError: 'missing_key'", "Failed: KeyError: 'missing_key'"):
        assert re.search(rf"{task} - {re.escape(status)}$", result.stderr, re.M), (status, result.stderr)
    assert re.search(r"WARNING dotflow: ID wf - flaky \[\S+\] - Retry: KeyError", result.stderr)


def test_v_prints_each_failed_tasks_traceback_on_stderr(run_cli, job):
    """-v prints the full traceback of every failed task on stderr, down to the user's own line."""
    result = run_cli("start", "-v", "-w", "job:failures", "--keep-going")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout
    blocks = re.split(r"^--- ", result.stderr, flags=re.M)[1:]
    assert [block.split(" ", 1)[0] for block in blocks] == ["job.flaky", "job.parse"], result.stderr
    for block, line, source in ((blocks[0], KEY_LINE, 'data["missing_key"]'), (blocks[1], JSON_LINE, "json.loads")):
        assert "Traceback (most recent call last):" in block
        assert re.search(rf'File ".*job\.py", line {line}, in \w+\n\s+return {re.escape(source)}', block), block


def test_vv_logs_debug_lines_of_attempts_and_of_the_reporter(run_cli, job):
    """-vv logs at DEBUG: each failed attempt, and the server reporter's retries against a refused port."""
    env = {
        "SERVER_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v1",
        "SERVER_USER_TOKEN": "tok-debug",
        "DOTFLOW_SERVER_FLUSH_TIMEOUT": "1",
        "DOTFLOW_SERVER_RETRIES": "1",
    }
    result = run_cli("start", "-vv", "-s", "job.flaky", env=env)
    assert result.returncode == 1
    assert re.search(r"DEBUG dotflow: ID \S+ - flaky \[\S+\] - attempt 1 failed", result.stderr), result.stderr
    assert re.search(r"DEBUG dotflow: dotflow server: server unreachable", result.stderr), result.stderr
    quiet = run_cli("start", "-s", "job.flaky", env=env)
    assert " DEBUG dotflow:" not in quiet.stderr and "attempt 1 failed" not in quiet.stderr


@pytest.mark.parametrize(
    ("flags", "last_line"),
    [
        (STORE, "results: stored in StorageFile(path='out')"),
        ((), "results: kept in memory only (StorageDefault); pick a storage to keep them: --storage file"),
    ],
    ids=["file", "memory"],
)
def test_summary_ends_with_where_the_results_are(run_cli, job, flags, last_line):
    """The summary's last line says where the results are stored, or that they stay in memory only."""
    result = run_cli("start", "-q", "-s", "job.chatty", *flags)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == last_line


def test_a_second_resume_shows_every_task_resumed_with_its_checkpoint_time(run_cli, job):
    """Run twice with --resume: the second summary shows each task 'resumed (checkpoint of <time>)', runs
    neither step, and the log says 'resumed from the checkpoint written <time>' for each."""
    args = ("start", "-w", "job:etl", *STORE, "--workflow-id", "wf", "--resume")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "extract ran" in first.stdout and "resumed" not in first.stdout
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "extract ran" not in second.stdout and "load ran" not in second.stdout
    rows = re.findall(rf"^  \S+  job\.(\w+)\s+{CHECKPOINT}", second.stdout, re.M)
    assert rows == ["extract", "load"], second.stdout
    logged = re.findall(r"- (\w+) \[\S+\] - resumed from the checkpoint written (\S+ \S+)", second.stderr)
    assert [name for name, _ in logged] == ["extract", "load"], second.stderr
    assert all(f"checkpoint of {when[:19]})" in second.stdout for _, when in logged)


def test_on_input_change_raise_refuses_and_reset_runs_again(run_cli, job):
    """After --initial-context changes, --on-input-change raise exits 2 with one line and runs nothing,
    and --on-input-change reset runs the step again."""
    args = ("start", "-s", "job.extract", *STORE, "--workflow-id", "wf", "--resume", "-q")
    assert run_cli(*args, "-i", '{"n": 1}').returncode == 0
    refused = run_cli(*args, "-i", '{"n": 2}', "--on-input-change", "raise")
    assert_one_line_error(refused, "inputs changed")
    assert "extract ran" not in refused.stdout
    reset = run_cli(*args, "-i", '{"n": 2}', "--on-input-change", "reset")
    assert reset.returncode == 0, reset.stderr
    assert "extract ran with {'n': 2}" in reset.stdout
    assert re.search(r"job\.extract\s+Completed\s+1 attempt", reset.stdout)


def test_on_input_change_rejects_an_unknown_value(run_cli, job):
    """--on-input-change takes reuse, reset or raise; anything else exits 2 with one line listing them."""
    assert_one_line_error(run_cli("start", "-s", "job.chatty", "--on-input-change", "sometimes"),
                          "'sometimes'", "reuse, reset, raise")


def test_json_results_name_the_storage_or_are_null(run_cli, job):
    """--output json's "results" is a value a program can test: the storage's repr when the results
    are stored, null when they are kept in memory only (then "results_note" says so; it is null
    otherwise). It held a sentence either way."""
    stored = json.loads(run_cli("start", "-s", "job.chatty", "--output", "json", "-o", "file", "-p", "out").stdout)
    assert (stored["results"], stored["results_note"]) == ("StorageFile(path='out')", None)
    memory = json.loads(run_cli("start", "-s", "job.chatty", "--output", "json").stdout)
    assert memory["results"] is None and memory["results_note"].startswith("kept in memory only (StorageDefault)")


def test_json_output_is_exactly_one_object(run_cli, job):
    """--output json: stdout is one JSON object (no summary, no step prints) with the run and each
    task, a failure's error as {exception, message, where}; the exit code is 1 for the failure."""
    result = run_cli("start", "-w", "job:chatty_then_flaky", "--output", "json", "--workflow-id", "wf")
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("\n") == 1
    data = json.loads(result.stdout)
    assert set(data) == {"workflow_id", "status", "duration", "results", "results_note", "tasks"}
    assert (data["workflow_id"], data["status"]) == ("wf", "Failed")
    assert isinstance(data["duration"], float) and data["results"] is None
    assert data["results_note"].startswith("kept in memory only")
    ok, failed = data["tasks"]
    assert set(ok) == set(failed) == {"id", "step", "status", "attempts", "duration", "resumed", "checkpoint_time",
                                      "error", "reason"}
    assert (ok["step"], ok["status"], ok["attempts"], ok["resumed"], ok["error"]) == (
        "job.chatty", "Completed", 1, False, None)
    assert re.fullmatch(r"1-[0-9a-f]{8}", failed["id"])
    assert (failed["step"], failed["status"], failed["attempts"]) == ("job.flaky", "Failed", 2)
    assert failed["error"] == {"exception": "KeyError", "message": "'missing_key'",
                               "where": f"job.py:{KEY_LINE}"}
    assert "chatty printed this" in result.stderr  # the step's print, kept off stdout


def test_json_output_keeps_worker_process_prints_off_stdout(run_cli, job):
    """--output json with --executor process: a step's print in a worker process reaches stderr, not stdout."""
    result = run_cli("start", "-s", "job.chatty", "--output", "json", "--executor", "process")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tasks"][0]["status"] == "Completed"
    assert "chatty printed this" in result.stderr


def test_json_output_of_a_resumed_run(run_cli, job):
    """--output json marks a task restored from its checkpoint: resumed true, 0 attempts, and
    the time its checkpoint was written; a task that ran has no checkpoint time."""
    args = ("start", "-s", "job.chatty", *STORE, "--workflow-id", "wf", "--resume", "--output", "json")
    first = json.loads(run_cli(*args).stdout)
    assert first["tasks"][0]["checkpoint_time"] is None
    data = json.loads(run_cli(*args).stdout)
    assert [(task["resumed"], task["attempts"]) for task in data["tasks"]] == [(True, 0)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", data["tasks"][0]["checkpoint_time"])


def test_unknown_output_format_is_a_usage_error(run_cli, job):
    """--output xml exits 2 with one line listing text and json."""
    assert_one_line_error(run_cli("start", "-s", "job.chatty", "--output", "xml"), "'xml'", "text, json")


def test_v_is_the_version_at_the_top_and_verbosity_on_start(run_cli, job):
    """`dotflow -v` prints the version (exit 0); `dotflow start -v` is verbosity and runs the step."""
    version = run_cli("-v")
    assert version.returncode == 0 and re.fullmatch(r"dotflow \S+\n", version.stdout)
    run = run_cli("start", "-v", "-s", "job.chatty")
    assert run.returncode == 0 and "chatty printed this" in run.stdout and "dotflow " not in run.stdout[:8]


def test_dotflow_alone_prints_the_help_and_exits_0(run_cli, job):
    """Plain `dotflow` prints the help, listing the commands, and exits 0, as 1.x printed its
    description; an unknown command is still a usage error (exit 2)."""
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dotflow") and "start" in result.stdout and "checkpoints" in result.stdout
    assert run_cli("nope").returncode == 2


def test_truncated_json_initial_context_names_the_position(run_cli, job):
    """An --initial-context that starts like JSON but is cut short exits 2, one line naming the position."""
    assert_one_line_error(run_cli("start", "-s", "job.extract", "-i", '{"a": 1,'),
                          "--initial-context", "line 1 column 9")


def test_deeply_nested_initial_context_is_one_line(run_cli, job):
    """A 1000-deep [[[...]]] --initial-context exits 2 with one line, not a RecursionError traceback."""
    line = assert_one_line_error(run_cli("start", "-s", "job.extract", "-i", "[" * 1000 + "]" * 1000),
                                 "--initial-context", "nested")
    assert "RecursionError" not in line


def test_project_package_imports_from_a_subfolder_in_either_workflow_form(tmp_path):
    """From a subfolder of the dotflow.toml's folder, the project's package imports, and --workflow
    pkg.mod.factory runs the same tasks as pkg.mod:factory."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "dotflow.toml").write_text('[storage]\nprovider = "memory"\n')
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "steps.py").write_text(
        "from dotflow import DotFlow, action\n\n@action\ndef hello():\n    print('hello from pkg')\n\n"
        "def build():\n    flow = DotFlow()\n    flow.task.add(hello)\n    return flow\n"
    )

    def rows(form: str) -> list[str]:
        result = subprocess.run([dotflow_exe(), "start", "-q", "--workflow", form], cwd=root / "sub",
                                env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "hello from pkg" in result.stdout
        # each task's row but its duration, which varies from run to run
        return [line.rsplit(None, 1)[0] for line in result.stdout.splitlines() if line.startswith("  ")]

    dotted = rows("pkg.steps.build")
    assert dotted == rows("pkg.steps:build")
    assert re.match(r"  0-[0-9a-f]{8}  pkg\.steps\.hello  Completed", dotted[0])


def test_user_frame_tells_a_sibling_folder_from_the_dotflow_package():
    """A user's file in a folder whose name merely starts like dotflow's own (dotflow-etl) is the user's frame."""
    sibling = f"{_PACKAGE}-etl/steps.py"
    traceback = (
        "Traceback (most recent call last):\n"
        f'  File "{_PACKAGE}/execution/step.py", line 67, in call\n    result = target(**kwargs)\n'
        f'  File "{sibling}", line 3, in extract\n    return 1 / 0\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert user_frame(traceback).endswith("dotflow-etl/steps.py:3")
    assert user_frame(traceback.replace(sibling, f"{_PACKAGE}/inner.py")) == ""


def test_json_output_masks_credentials_in_an_error_message(run_cli, project):
    """An exception whose text holds a URL's user:password or its query string: --output json
    shows it masked, as the summary does."""
    url = "https://bob:hunter2@api.example.com/v1?api_key=SECRET123"
    (project / "leaky.py").write_text(f"from dotflow import action\n\n@action\ndef fetch():\n"
                                      f"    raise RuntimeError('GET {url} failed')\n")
    result = run_cli("start", "-s", "leaky.fetch", "--output", "json")
    assert result.returncode == 1
    message = json.loads(result.stdout)["tasks"][0]["error"]["message"]
    assert "hunter2" not in message and "SECRET123" not in message and "api.example.com/v1" in message
    assert "hunter2" not in result.stderr and "SECRET123" not in result.stderr
