"""The delivery guarantees end to end: a plain ``python pipeline.py`` configured only by the managed-runner
variables, and ``dotflow start``, each against every mode of the fault-injection server.

For every mode both runs must: run their steps and return from ``start()`` as fast as without a server;
exit within the flush bound plus a margin; deliver every terminal status when the server is healthy or
recovers within the retry window; and print neither the token nor a traceback. Then SIGTERM and SIGINT
in library runs, and the big case: thousands of tasks against a Nagle-on dev server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, dotflow_exe
from fault_server import FaultServer

TOKEN = "tok-Rel1ab1l1ty-7d0c9e"
STEP_SECONDS = 0.1
STEPS = 3
MARGIN = 3.0  # seconds of slack on a busy 2-core machine

PIPELINE = f'''
import json, os, sys, time
from dotflow import DotFlow, action

@action
def step():
    time.sleep(float(os.environ.get("STEP_SECONDS", "{STEP_SECONDS}")))

def build(tasks=None):
    flow = DotFlow()
    for _ in range(tasks or int(os.environ.get("TASKS", "{STEPS}"))):
        flow.task.add(step=step)
    return flow

if __name__ == "__main__":
    flow = build(int(sys.argv[1]))
    started = time.monotonic()
    manager = flow.start(mode=sys.argv[2])
    if sys.argv[2] == "background":
        manager.wait()
    print(json.dumps({{"start_s": time.monotonic() - started}}), flush=True)
'''

# mode: (server options, extra environment, whether every terminal status must arrive)
MODES: dict[str, tuple[dict[str, Any], dict[str, str], bool]] = {
    "healthy": ({}, {}, True),
    "nodelay": ({}, {}, True),
    "slow": ({"delay": 2.0}, {}, True),
    "unavailable": ({"fail_first": 3}, {}, True),
    "blackhole": ({}, {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2", "DOTFLOW_SERVER_TIMEOUT": "1"}, False),
    "refused": ({}, {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2"}, False),
    "unauthorized": ({}, {}, False),
    "reset": ({}, {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2"}, False),
    "stall": ({}, {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2", "DOTFLOW_SERVER_TIMEOUT": "1"}, False),
    "error": ({}, {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2"}, False),
    "redirect": ({}, {}, False),
    "single": ({}, {}, True),
    "strict": ({}, {}, True),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A project folder holding pipeline.py."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.py").write_text(PIPELINE)
    return project


class Run:
    """One child process and what it showed."""

    def __init__(self, proc: subprocess.Popen[str], began: float, workflow_id: str) -> None:
        self.proc = proc
        self.began = began
        self.workflow_id = workflow_id
        self.seconds = 0.0
        self.stdout = self.stderr = ""

    def wait(self, timeout: float = 60) -> Run:
        self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        self.seconds = time.monotonic() - self.began
        return self

    @property
    def start_seconds(self) -> float | None:
        for line in self.stdout.splitlines():
            if line.startswith("{"):
                return float(json.loads(line)["start_s"])
        return None


def _spawn(command: list[str], folder: Path, server: FaultServer, extra: dict[str, str], **env: str) -> Run:
    workflow_id = f"wf-{uuid.uuid4().hex[:12]}"
    environment = clean_env(
        folder, SERVER_BASE_URL=server.url, SERVER_USER_TOKEN=TOKEN, WORKFLOW_ID=workflow_id, **extra, **env
    )
    proc = subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    return Run(proc, time.monotonic(), workflow_id)


@pytest.fixture
def servers() -> Iterator[Any]:
    started: list[FaultServer] = []

    def start(mode: str, **options: Any) -> FaultServer:
        server = FaultServer(mode, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("mode", list(MODES))
def test_every_fault_mode_through_the_library_and_the_cli(mode: str, folder: Path, servers: Any) -> None:
    """The library run and ``dotflow start`` side by side (each with its own server) in one fault mode."""
    options, extra, delivered = MODES[mode]
    library_server, cli_server = servers(mode, **options), servers(mode, **options)
    library = _spawn([sys.executable, "pipeline.py", str(STEPS), "sequential"], folder, library_server, extra)
    cli = _spawn([dotflow_exe(), "start", "--workflow", "pipeline:build", "--output", "json"], folder, cli_server,
                 extra)
    flush_bound = float(extra.get("DOTFLOW_SERVER_FLUSH_TIMEOUT", "10"))
    for run in (library.wait(), cli.wait()):
        output = run.stdout + run.stderr
        assert TOKEN not in output and "Traceback" not in output, output
        assert run.seconds < STEPS * STEP_SECONDS + flush_bound + MARGIN, (run.seconds, output)
    assert library.proc.returncode == 0, library.stderr
    assert cli.proc.returncode == 0, cli.stderr  # the workflow's exit code never depends on the server
    # the steps ran as fast as without a server: start() returned right after them
    assert library.start_seconds is not None and library.start_seconds < STEPS * STEP_SECONDS + 0.5
    # and the workflow's duration is the steps' time, not the time its reports took to deliver
    assert json.loads(cli.stdout.splitlines()[-1])["duration"] < STEPS * STEP_SECONDS + 0.5, cli.stdout
    for run, server in ((library, library_server), (cli, cli_server)):
        finals = server.final_statuses(run.workflow_id)
        if delivered:
            assert sorted(finals.values()) == ["Completed"] * STEPS, (mode, finals, run.stderr)
            assert server.workflow_statuses(run.workflow_id) == ["In progress", "Completed"]
        else:
            assert finals == {} and "report(s) lost" in run.stderr, run.stderr


@pytest.mark.parametrize("mode", ["sequential", "parallel", "background"])
def test_sigterm_in_a_library_run_leaves_every_task_failed(mode: str, folder: Path, servers: Any) -> None:
    """SIGTERM while a step runs: the running and unstarted tasks and the workflow are reported Failed
    ("interrupted by SIGTERM"), the reports are flushed, and the process exits 143 within the signal bound."""
    backend = servers("healthy")
    run = _spawn([sys.executable, "pipeline.py", "3", mode], folder, backend, {}, STEP_SECONDS="30")
    assert backend.wait_for(lambda s: "In progress" in s.workflow_statuses(run.workflow_id), timeout=20)
    assert backend.wait_for(lambda s: any(v == ["Not started", "In progress"] or "In progress" in v
                                          for v in s.task_statuses(run.workflow_id).values()), timeout=20)
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
    assert run.proc.returncode == 143, run.stderr
    assert time.monotonic() - sent < 5.0 + MARGIN  # signal_flush_timeout defaults to 5 s
    assert sorted(backend.final_statuses(run.workflow_id).values()) == ["Failed"] * 3
    assert backend.workflow_statuses(run.workflow_id)[-1] == "Failed"
    last = [r.body for r in backend.requests() if r.route == "task" and r.status == 200][-1]
    assert last["errors"][-1]["message"] == "interrupted by SIGTERM"
    assert TOKEN not in run.stdout + run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("runner", ["library", "cli"])
def test_sigterm_records_one_error_type_from_the_library_and_the_cli(runner: str, folder: Path, servers: Any) -> None:
    """SIGTERM mid-run: every task's error reaches the backend as Interrupted, "interrupted by
    SIGTERM", from a plain script and from `dotflow start` alike (they said KeyboardInterrupt and
    RunInterrupted)."""
    backend = servers("healthy")
    args = ([sys.executable, "pipeline.py", "2", "sequential"] if runner == "library"
            else [dotflow_exe(), "start", "--workflow", "pipeline:build", "-q"])
    run = _spawn(args, folder, backend, {}, STEP_SECONDS="30", TASKS="2")
    assert backend.wait_for(lambda s: any("In progress" in v for v in s.task_statuses(run.workflow_id).values()),
                            timeout=20)
    run.proc.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
    assert run.proc.returncode == 143, run.stderr
    assert sorted(backend.final_statuses(run.workflow_id).values()) == ["Failed"] * 2
    failed = [r.body for r in backend.requests() if r.route == "task" and r.status == 200 and r.body.get("errors")]
    errors = {(body["errors"][-1]["exception"], body["errors"][-1]["message"]) for body in failed}
    assert errors == {("Interrupted", "interrupted by SIGTERM")}, failed


def test_sigint_in_a_library_run_reports_failed_through_keyboardinterrupt(folder: Path, servers: Any) -> None:
    """Ctrl-C while a step runs: KeyboardInterrupt unwinds through start(), the tasks and the workflow
    are reported Failed ("interrupted by SIGINT") before the process ends."""
    backend = servers("healthy")
    run = _spawn([sys.executable, "pipeline.py", "2", "sequential"], folder, backend, {}, STEP_SECONDS="30")
    assert backend.wait_for(lambda s: any("In progress" in v for v in s.task_statuses(run.workflow_id).values()),
                            timeout=20)
    run.proc.send_signal(signal.SIGINT)
    run.wait(timeout=30)
    assert run.proc.returncode in (-signal.SIGINT, 130)
    assert sorted(backend.final_statuses(run.workflow_id).values()) == ["Failed"] * 2
    assert backend.workflow_statuses(run.workflow_id)[-1] == "Failed"
    last = [r.body for r in backend.requests() if r.route == "task" and r.status == 200][-1]
    assert last["errors"][-1]["message"] == "interrupted by SIGINT"


SIGNAL_CHECKS = '''
import os, signal, sys, json
sys.path.insert(0, os.getcwd())
from pipeline import build

def own(signum, frame):
    print("own handler", flush=True)

if sys.argv[1] == "own":
    signal.signal(signal.SIGTERM, own)
flow = build(1)
flow.start()
print(json.dumps({"restored": signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, own)}), flush=True)
'''


@pytest.mark.parametrize("handler", ["default", "own"])
def test_the_sigterm_handler_lasts_only_for_the_run(handler: str, folder: Path, servers: Any) -> None:
    """After start() SIGTERM's handler is what it was; an application's own handler is never replaced."""
    (folder / "checks.py").write_text(SIGNAL_CHECKS)
    backend = servers("nodelay")
    run = _spawn([sys.executable, "checks.py", handler], folder, backend, {}, STEP_SECONDS="0").wait()
    assert run.proc.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {"restored": True}


@pytest.mark.parametrize(("tasks", "mode", "server_mode"), [(5_000, "sequential", "healthy"),
                                                           (500, "parallel", "healthy"),
                                                           (20_000, "sequential", "healthy"),
                                                           (200, "sequential", "single")])
def test_thousands_of_tasks_against_a_nagle_on_server_all_arrive(
    tasks: int, mode: str, server_mode: str, folder: Path, servers: Any
) -> None:
    """5,000 and 20,000 no-op tasks (and 500 in parallel mode) against a keep-alive, Nagle-on
    http.server, and 200 against one that serves one connection at a time: every terminal status
    and the workflow's arrive within the default flush, each task's in order."""
    backend = servers(server_mode)
    run = _spawn([sys.executable, "pipeline.py", str(tasks), mode], folder, backend, {}, STEP_SECONDS="0")
    run.wait(timeout=120)
    assert run.proc.returncode == 0, run.stderr
    assert "lost" not in run.stderr, run.stderr
    finals = backend.final_statuses(run.workflow_id)
    assert len(finals) == tasks and set(finals.values()) == {"Completed"}
    assert backend.workflow_statuses(run.workflow_id) == ["In progress", "Completed"]
    for statuses in backend.task_statuses(run.workflow_id).values():
        assert statuses == sorted(statuses, key=["Not started", "In progress", "Completed"].index), statuses


def test_when_the_flush_runs_out_terminal_statuses_were_sent_before_creations(folder: Path, servers: Any) -> None:
    """200 quick tasks against a backend answering in 0.5 s, with a 3 s flush: far from everything can
    arrive, and what does is what matters: the workflow's final status, and for every task whose
    creation got through (but the few in flight when the run ended) its terminal status too, not
    200 creations and no status (as the trial found)."""
    backend = servers("slow", delay=0.5)
    run = _spawn([sys.executable, "pipeline.py", "200", "sequential"], folder, backend,
                 {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "3"}, STEP_SECONDS="0").wait(timeout=60)
    assert run.proc.returncode == 0, run.stderr
    assert backend.workflow_statuses(run.workflow_id)[-1] == "Completed"
    finals = backend.final_statuses(run.workflow_id)
    terminal = [tid for tid, status in finals.items() if status == "Completed"]
    unfinished = [tid for tid, status in finals.items() if status != "Completed"]
    assert terminal and len(unfinished) <= 4, finals  # 4: the connections busy when the tasks ended
    assert "report(s) lost" in run.stderr


def _sent_when(backend: FaultServer, run: Run, predicate: Any, timeout: float = 20) -> None:
    assert backend.wait_for(predicate, timeout=timeout), (run.proc.poll(), backend.task_statuses(run.workflow_id))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_final_flush_of_dotflow_start_shortens_it(signum: int, folder: Path,
                                                                      servers: Any) -> None:
    """``docker stop`` while ``dotflow start`` delivers its last reports to a backend answering in 2 s:
    the flush goes on (terminal statuses first) for at most signal_flush_timeout, the summary is
    printed, and the exit code is 128 + n; a second signal does not cut it shorter."""
    backend = servers("slow", delay=2.0)
    run = _spawn([dotflow_exe(), "start", "--workflow", "pipeline:build"], folder, backend, {},
                 STEP_SECONDS="0.01", TASKS="3")
    _sent_when(backend, run, lambda s: len(s.requests()) >= 1)  # the tasks ended; the flush is under way
    time.sleep(1.5)
    sent = time.monotonic()
    run.proc.send_signal(signum)
    time.sleep(0.2)
    run.proc.send_signal(signum)
    run.wait(timeout=30)
    assert run.proc.returncode == 128 + signum, run.stderr
    assert time.monotonic() - sent < 5.0 + MARGIN
    assert "Completed" in run.stdout and "interrupted by a signal" in run.stderr, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(backend.final_statuses(run.workflow_id).values()) == ["Completed"] * 3
    assert backend.workflow_statuses(run.workflow_id)[-1] == "Completed"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_library_runs_exit_flush_shortens_it(signum: int, folder: Path, servers: Any) -> None:
    """A plain ``python pipeline.py`` whose run ended, delivering at exit to a 2 s backend, gets SIGTERM or
    Ctrl-C: no traceback, the terminal statuses still arrive within signal_flush_timeout, exit 128 + n."""
    backend = servers("slow", delay=2.0)
    run = _spawn([sys.executable, "pipeline.py", "3", "sequential"], folder, backend, {}, STEP_SECONDS="0.01")
    _sent_when(backend, run, lambda s: len(s.requests()) >= 1)
    time.sleep(1.5)
    sent = time.monotonic()
    run.proc.send_signal(signum)
    run.wait(timeout=30)
    assert run.proc.returncode == 128 + signum, run.stderr
    assert time.monotonic() - sent < 5.0 + MARGIN
    assert "Traceback" not in run.stderr, run.stderr
    assert sorted(backend.final_statuses(run.workflow_id).values()) == ["Completed"] * 3
    assert backend.workflow_statuses(run.workflow_id)[-1] == "Completed"


SLOW_IMPORT = '''
import time
time.sleep(float(__import__("os").environ.get("IMPORT_SECONDS", "20")))
from dotflow import action

@action
def step():
    return 1
'''


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_step_module_imports_ends_with_its_code_and_tells_the_backend(
    signum: int, code: int, folder: Path, servers: Any
) -> None:
    """SIGTERM or Ctrl-C while ``dotflow start`` imports a slow step module (managed mode): exit 128 + n
    with one line, and the backend's workflow hears Failed."""
    (folder / "slowmod.py").write_text(SLOW_IMPORT)
    backend = servers("nodelay")
    run = _spawn([dotflow_exe(), "start", "--step", "slowmod.step"], folder, backend, {})
    time.sleep(1.5)  # dotflow start is importing slowmod by now
    run.proc.send_signal(signum)
    run.wait(timeout=30)
    assert run.proc.returncode == code, run.stderr
    assert run.stderr.count("error:") == 1 and "interrupted" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert backend.workflow_statuses(run.workflow_id) == ["Failed"]


def test_output_json_stays_parseable_when_the_step_module_prints_at_import(folder: Path, servers: Any) -> None:
    """A step module that prints while imported: with --output json, stdout holds the JSON object alone."""
    (folder / "noisy.py").write_text("print('hello from import')\n" + SLOW_IMPORT)
    backend = servers("nodelay")
    run = _spawn([dotflow_exe(), "start", "--step", "noisy.step", "--output", "json"], folder, backend, {},
                 IMPORT_SECONDS="0").wait()
    assert run.proc.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "Completed"
    assert "hello from import" in run.stderr
