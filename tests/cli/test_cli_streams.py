"""A stdout or stderr that cannot be written, through the real console script and a real shell:
``> /dev/full``, a closed descriptor (``>&-``), a step that closes ``sys.stdout`` or ``sys.stderr``.
The run goes on, its reports are delivered, the exit code is the workflow's, and no traceback or
"Exception ignored" shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")

TOKEN = "tok-streams-7c1d"
STREAM_STEPS = '''
import subprocess
import sys

from dotflow import DotFlow, action


@action
def quiet():
    return {"done": True}


@action
def fails():
    raise RuntimeError("step broke")


@action
def closes_stdout():
    sys.stdout.close()
    return 1


@action
def closes_stderr():
    sys.stderr.close()
    return 1


@action
def shell_echo():
    subprocess.run(["echo", "LEAKED-INTO-A-FILE"], check=True)
    return 2


def three():
    flow = DotFlow()
    flow.task.add(step=quiet).add(step=quiet).add(step=quiet)
    return flow


def stdout_closer():
    flow = DotFlow()
    flow.task.add(step=closes_stdout).add(step=quiet)
    return flow


def stderr_closer():
    flow = DotFlow()
    flow.task.add(step=closes_stderr).add(step=quiet).add(step=fails)
    return flow


def echoes():
    flow = DotFlow()
    flow.task.add(step=quiet).add(step=shell_echo)
    return flow
'''


@pytest.fixture
def shell(project: Path, tmp_path: Path):
    """Run ``dotflow ARGS REDIRECTS`` through /bin/sh in the project folder, holding streamsteps.py."""
    (project / "streamsteps.py").write_text(STREAM_STEPS)

    def run(args: str, redirects: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", "-c", f'"$0" {args} {redirects}', dotflow_exe()],
            cwd=project, env=clean_env(tmp_path, **(env or {})), capture_output=True, text=True, timeout=60,
        )

    return run


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_a_full_stdout_drops_the_summary_and_keeps_the_exit_code(shell):
    """`dotflow start > /dev/full`: the run completes (exit 0) or fails (exit 1) as its tasks did, and
    stderr holds one warning about stdout instead of a traceback."""
    ok = shell("start --step streamsteps.quiet -q", "> /dev/full")
    assert ok.returncode == 0, ok.stderr
    assert_clean(ok.stderr)
    assert ok.stderr.strip() == ("warning: cannot write to stdout (No space left on device); what goes there is "
                                 "dropped, and the exit code still tells how the command went")
    failed = shell("start --step streamsteps.fails -q", "> /dev/full")
    assert failed.returncode == 1, failed.stderr
    assert_clean(failed.stderr)
    assert "cannot write to stdout" in failed.stderr


def test_a_full_stdout_with_json_output_keeps_the_exit_code(shell):
    """`--output json > /dev/full`: the object is lost, the exit code is the workflow's."""
    result = shell("start --step streamsteps.quiet -q --output json", "> /dev/full")
    assert result.returncode == 0, result.stderr
    assert_clean(result.stderr)
    assert "cannot write to stdout" in result.stderr


@pytest.mark.parametrize("args", ["profile list", "profile show", "--version", "start --help"])
def test_other_commands_on_a_full_stdout_say_so_in_one_line(shell, args):
    """Every command's output to /dev/full: no traceback, at most one line about stdout."""
    result = shell(args, "> /dev/full")
    assert_clean(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "write" in result.stderr and "No space left on device" in result.stderr


def test_a_pipe_whose_reader_left_is_not_an_error(project, tmp_path):
    """`dotflow start | reader` where the reader closed the pipe before the summary: exit 0, nothing
    on stderr (the reader asked for no more, as `| head` does)."""
    (project / "streamsteps.py").write_text(STREAM_STEPS)
    read, write = os.pipe()
    os.close(read)  # no reader at all: every write gets EPIPE
    try:
        result = subprocess.run([dotflow_exe(), "start", "--step", "streamsteps.quiet", "-q"], cwd=project,
                                env=clean_env(tmp_path), stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_closed_stdout_still_runs_and_reports_a_managed_workflow(shell, httpserver):
    """`dotflow start >&-` under a backend's workflow id: every task runs and the backend hears them
    Completed, and the workflow too (it used to die before the first task, leaving them Not started)."""
    httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_json({"ok": True})
    env = {"SERVER_BASE_URL": httpserver.url_for("/api/v1"), "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-closed"}
    result = shell("start --workflow streamsteps:three", ">&-", env=env)
    assert result.returncode == 0, result.stderr
    assert_clean(result.stderr)
    bodies = [(request.path, json.loads(request.get_data() or b"{}")) for request, _ in httpserver.log]
    workflow = [body["status"] for path, body in bodies if path == "/api/v1/workflows/wf-closed" and "status" in body]
    assert workflow[-1] == "Completed", bodies
    tasks = {path: body["status"] for path, body in bodies if "/tasks/" in path and "status" in body}
    assert len(tasks) == 3 and set(tasks.values()) == {"Completed"}, bodies


def test_a_closed_stdout_is_not_reused_by_the_files_a_run_opens(shell, project):
    """With stdout closed, the log file the run opens does not become descriptor 1: a subprocess a
    step starts writes to /dev/null, not into the log file."""
    (project / "dotflow.toml").write_text('[log]\noutput = "file"\npath = "flow.log"\n')
    result = shell("start --workflow streamsteps:echoes", ">&-")
    assert result.returncode == 0, result.stderr
    log = (project / "flow.log").read_text()
    assert "shell_echo" in log and "LEAKED-INTO-A-FILE" not in log


def test_a_step_that_closes_stdout_leaves_the_summary(shell):
    """A step that closes sys.stdout: the run goes on and the summary still reaches stdout, exit 0."""
    result = shell("start --workflow streamsteps:stdout_closer -q")
    assert result.returncode == 0, result.stderr
    assert_clean(result.stderr)
    assert re.search(r"^workflow \S+: Completed in ", result.stdout, re.M), result.stdout


def test_a_step_that_closes_stderr_loses_log_lines_only(shell):
    """A step that closes sys.stderr: the later tasks still run and the summary shows them, the
    exit code is the workflow's (1: the last step fails), and the process does not die."""
    result = shell("start --workflow streamsteps:stderr_closer")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "lost sys.stderr" not in result.stderr
    assert re.search(r"1-\w+\s+streamsteps\.quiet\s+Completed", result.stdout), result.stdout
    assert re.search(r"2-\w+\s+streamsteps\.fails\s+Failed .*RuntimeError: step broke", result.stdout), result.stdout


def test_a_library_run_survives_a_step_closing_stderr(project, tmp_path):
    """LogDefault(output="console") in a plain script: a step that closes sys.stderr does not take
    the logging calls that follow, and so the run, down with it."""
    script = project / "lib_run.py"
    script.write_text(
        "from dotflow import Config, DotFlow\n"
        "from dotflow.providers import LogDefault\n"
        "import streamsteps\n"
        "flow = DotFlow(config=Config(log=LogDefault(output='console')))\n"
        "flow.task.add(step=streamsteps.closes_stderr).add(step=streamsteps.quiet)\n"
        "flow.start()\n"
        "print([task.status for task in flow.result_task()])\n"
    )
    (project / "streamsteps.py").write_text(STREAM_STEPS)
    result = subprocess.run([sys.executable, str(script)], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['Completed', 'Completed']"
