"""Live logs (runner protocol version 2, ``POST /workflows/{id}/logs``) end to end against the fault
server: a plain ``python pipeline.py`` and ``dotflow start``, steps on threads, sequential and parallel,
and on the process and Dask executors (what a process worker's programs write included).

Attribution by task, order and a contiguous ``seq``, the engine's own lines, truncation at 8 KiB,
masking of a token a step prints, the bounded buffer's ``dropped``, a stuck or refused logs endpoint
that delays nothing, a version 1 backend that sees nothing new, and the local output unchanged
(a pipe gets each line as it is printed; a pseudo-terminal the same text as without capture).
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, dotflow_exe
from fault_server import FaultServer
from test_protocol_document import document_problems

TOKEN = "tok-L0gsSecret-4d2a9f"
WAIT = 60.0

PIPELINE = '''
import logging, os, signal, subprocess, sys, time
from dotflow import DotFlow, action

log = logging.getLogger("etl")
if os.environ.get("LOG_CONFIG"):
    logging.basicConfig()  # the application's own handler, on stderr
STDOUT_AT_START = os.fstat(1).st_ino
LINES = int(os.environ.get("LINES", "3"))
PAUSE = float(os.environ.get("PAUSE", "0"))

def make(name):
    @action
    def step():
        for i in range(LINES):
            print(f"{name} line {i}")
            if PAUSE:
                time.sleep(PAUSE)
        if os.environ.get("SHOW_STDOUT"):
            time.sleep(1)  # the backend's first answer came meanwhile
            captured = type(sys.stdout).__name__ == "_Tee" or os.fstat(1).st_ino != STDOUT_AT_START
            print("stdout is", "captured" if captured else "as it was")
        if os.environ.get("SIGNAL_ITSELF"):
            print(f"{name} before the signal", flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        if os.environ.get("PRINT_TOKEN"):
            print("the token is " + os.environ["SERVER_USER_TOKEN"])
        if os.environ.get("LONG_LINE"):
            print("x" * 20000)
        print(f"{name} to stderr", file=sys.stderr)
        log.warning("%s warns", name)
        if os.environ.get("PROGRAM"):
            script = f"echo {name} from a program; echo {name} program errs >&2; printf {name}-no-end"
            subprocess.run(["sh", "-c", script], check=True)
        return name
    step.__name__ = step.__qualname__ = name
    return step

def build():
    flow = DotFlow()
    for name in os.environ.get("STEPS", "alpha,beta").split(","):
        # one group (SERIAL): the steps run one at a time here, and the descriptors are read
        flow.task.add(make(name), **({} if os.environ.get("SERIAL") else {"group_name": name}))
    return flow

if __name__ == "__main__":
    flow = build()
    executor = os.environ.get("EXECUTOR", "thread")
    if executor == "dask-threads":  # one worker running two calls at once, on two threads
        from distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, host="127.0.0.1", dashboard_address=None)
        executor = Client(cluster).get_executor()
    manager = flow.start(mode=os.environ.get("MODE", "sequential"), executor=executor)
    print("done", manager.status, flush=True)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pipeline.py").write_text(PIPELINE)
    return folder


def _env(tmp_path: Path, server: FaultServer, **extra: str) -> dict[str, str]:
    values = {"SERVER_BASE_URL": server.url, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-logs",
              "DOTFLOW_SERVER_FLUSH_TIMEOUT": "5"}
    values.update(extra)
    return clean_env(tmp_path, **values)


def _run(how: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = ([dotflow_exe(), "start", "--workflow", "pipeline:build", "--mode", env.get("MODE", "sequential"),
                "--executor", env.get("EXECUTOR", "thread")]
               if how == "start" else [sys.executable, "pipeline.py"])
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=WAIT)


def _by_task(records: list[dict[str, Any]], task_prefix: str) -> list[dict[str, Any]]:
    return [r for r in records if (r.get("task") or "").startswith(task_prefix)]


def _by_stream(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The lines of ``records`` by stream, each in order."""
    streams: dict[str, list[str]] = {}
    for record in records:
        streams.setdefault(record["stream"], []).append(record["line"])
    return streams


@pytest.mark.parametrize("how", ["start", "python"])
@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_every_line_reaches_the_backend_tagged_with_its_task(how: str, mode: str, project: Path,
                                                            tmp_path: Path) -> None:
    """Each step's prints, its stderr and its logging records, and the engine's lines, each tagged
    with its task, in order within the task, seq contiguous from 1, nothing dropped; the local
    output is still printed."""
    with FaultServer("healthy", protocol=2) as server:
        result = _run(how, project, _env(tmp_path, server, MODE=mode, LINES="5"))
        assert result.returncode == 0, result.stderr
        assert "alpha line 4" in result.stdout and "beta to stderr" in result.stderr  # tee, not swallow
        records = server.log_records("wf-logs")
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        assert server.log_dropped("wf-logs") == 0
        for name, prefix in (("alpha", "0-"), ("beta", "1-")):
            mine = _by_task(records, prefix)
            lines = [(r["stream"], r["line"]) for r in mine]
            expected = [("stdout", f"{name} line {i}") for i in range(5)]
            expected += [("stderr", f"{name} to stderr"), ("logging", f"etl: {name} warns")]
            if mode == "sequential":  # read from the descriptors: in order within each stream
                lines = sorted(lines, key=lambda line: ["stdout", "stderr", "logging", "dotflow"].index(line[0]))
            assert [line for line in lines if line[0] != "dotflow"] == expected
            engine = [line for stream, line in lines if stream == "dotflow"]
            assert engine[0].endswith("In progress") and engine[-1].endswith("Completed")
            assert [r["level"] for r in mine if r["stream"] == "logging"] == ["WARNING"]
        assert records[-1]["task"] is None and records[-1]["line"] == "workflow Completed"
        assert document_problems(server.url, server.requests()) == []


@pytest.mark.parametrize("how", ["start", "python"])
def test_steps_run_one_at_a_time_are_read_from_the_descriptors(how: str, project: Path, tmp_path: Path) -> None:
    """Steps run here one at a time, stdout and stderr pipes: descriptors 1 and 2 are read, so
    what a step's programs write is its task's too; each stream in order, a line without an end a
    line, a log record once (as a record: its local copy is not taken again), nothing of the
    engine's own local lines in a task's; the local output whole, and the descriptors back at the
    end (the step's prints cost what they cost without a backend)."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, SERIAL="1", LINES="4", PROGRAM="1", PRINT_TOKEN="1", SHOW_STDOUT="1")
        result = _run(how, project, env)
        assert result.returncode == 0, result.stderr
        for name in ("alpha", "beta"):
            assert f"{name} from a program\n" in result.stdout and f"{name} program errs" in result.stderr
            assert f"{name} line 3" in result.stdout and result.stderr.count(f"{name} warns") == 1
        assert "stdout is captured" in result.stdout
        records = server.log_records("wf-logs")
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        for name, prefix in (("alpha", "0-"), ("beta", "1-")):
            streams = _by_stream(_by_task(records, prefix))
            assert streams["stdout"] == [*(f"{name} line {i}" for i in range(4)), "stdout is captured",
                                         "the token is ***", f"{name} from a program", f"{name}-no-end"]
            assert streams["stderr"] == [f"{name} to stderr", f"{name} program errs"]
            assert streams["logging"] == [f"etl: {name} warns"]
            assert [line.rsplit(" - ", 1)[-1] for line in streams["dotflow"]] == ["In progress", "Completed"]
        assert TOKEN not in json.dumps(records)
        assert document_problems(server.url, server.requests()) == []


def test_a_burst_read_from_the_descriptors_is_delivered_whole(project: Path, tmp_path: Path) -> None:
    """20,000 lines printed at once by a step run here alone, to a pipe: all delivered, seq
    contiguous, none dropped, and every byte in the local output."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, SERIAL="1", STEPS="alpha", LINES="20000", DOTFLOW_SERVER_FLUSH_TIMEOUT="30")
        result = _run("python", project, env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 20000 + 1
        records = server.log_records("wf-logs")
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        assert server.log_dropped("wf-logs") == 0
        assert [r["line"] for r in records if r["stream"] == "stdout"] == [f"alpha line {i}" for i in range(20000)]


def test_a_process_ended_at_once_still_shows_what_its_step_printed(project: Path, tmp_path: Path) -> None:
    """SIGTERM while a step run alone is read through the descriptors: the run is interrupted and
    the process ends at once (the step still sleeping), yet what the step printed before reaches
    the local output (the pipes are emptied and put back first) and the backend."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, SERIAL="1", STEPS="alpha", SIGNAL_ITSELF="1",
                   DOTFLOW_SERVER_SIGNAL_FLUSH_TIMEOUT="2")
        result = _run("python", project, env)
        assert result.returncode == 143, result.stderr
        assert "alpha line 2\nalpha before the signal\n" in result.stdout
        lines = [r["line"] for r in server.log_records("wf-logs")]
        assert "alpha before the signal" in lines


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_a_record_the_application_writes_to_stderr_goes_once(mode: str, project: Path, tmp_path: Path) -> None:
    """logging.basicConfig(): the application's handler writes each record to stderr. The backend
    gets it once: read from descriptor 2 as that text when the steps run one at a time, else (the
    tees) as a record, the handler writing to the stderr it was given before the tees."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, SERIAL="1", MODE=mode, STEPS="alpha,beta", LOG_CONFIG="1")
        result = _run("python", project, env)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("alpha warns") == 1
        said = [(r["stream"], r["line"]) for r in server.log_records("wf-logs") if "alpha warns" in r["line"]]
        expected = ("stderr", "WARNING:etl:alpha warns") if mode == "sequential" else ("logging", "etl: alpha warns")
        assert said == [expected]


def test_many_runs_in_one_process_leave_no_pipe_and_no_reader(tmp_path: Path) -> None:
    """Forty runs one after another in one process, each read through the descriptors and each
    ending with output still on its way (the engine's last lines): no pipe and no reader thread
    outlives them, and each run's output is whole."""
    script = tmp_path / "many.py"
    script.write_text(textwrap.dedent('''
        import os, sys, threading, time
        from dotflow import DotFlow, action

        @action
        def step():
            print("hello from the step")
            return 1

        def pipes():
            count = 0
            for fd in os.listdir("/proc/self/fd"):
                try:
                    count += os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
                except OSError:  # closed meanwhile (listdir's own descriptor)
                    pass
            return count

        before = pipes()
        for number in range(40):
            os.environ["WORKFLOW_ID"] = f"wf-many-{number}"
            flow = DotFlow()
            flow.task.add(step)
            assert flow.start().status == "Completed"
        time.sleep(1)
        readers = [t.name for t in threading.enumerate() if t.name == "dotflow-output"]
        print("pipes", pipes() - before, "readers", len(readers), file=sys.stderr)
    '''))
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server)
        result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=WAIT)
        assert result.returncode == 0, result.stderr
        assert "pipes 0 readers 0" in result.stderr
        assert result.stdout.count("hello from the step") == 40
        assert len([r for r in server.log_records("wf-many-39") if r["line"] == "hello from the step"]) == 1


def test_json_output_stays_clean_with_logs_on(project: Path, tmp_path: Path) -> None:
    """dotflow start --output json puts the steps' prints (and their programs' output) on stderr, and
    stdout holds the JSON alone, logs shipped or not. (sys.stdout is stderr's stream then: the tees
    take the prints, as for steps at once.)"""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, SERIAL="1", PROGRAM="1")
        result = subprocess.run([dotflow_exe(), "start", "--workflow", "pipeline:build", "--output", "json"],
                                cwd=project, env=env, capture_output=True, text=True, timeout=WAIT)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "Completed"
        assert "alpha line 2" in result.stderr and "alpha from a program" in result.stderr
        assert "alpha line 2" in [r["line"] for r in server.log_records("wf-logs")]


@pytest.mark.parametrize("how", ["start", "python"])
def test_a_process_worker_ships_what_it_and_its_programs_write(how: str, project: Path, tmp_path: Path) -> None:
    """On the process executor the worker's descriptors 1 and 2 are read: the step's prints, its
    log records (as the text the last resort writes on stderr) and what a program it runs writes,
    each with its task, before the task's terminal status; a line without an end is a line; the
    local output still gets every byte; the token a step prints is masked there too."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, MODE="parallel", EXECUTOR="process", LINES="4", PROGRAM="1", PRINT_TOKEN="1")
        result = _run(how, project, env)
        assert result.returncode == 0, result.stderr
        for name in ("alpha", "beta"):
            assert f"{name} from a program\n" in result.stdout and f"{name} program errs" in result.stderr
            assert f"{name}-no-end" in result.stdout and f"{name} line 3" in result.stdout
        records = server.log_records("wf-logs")
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        for name, prefix in (("alpha", "0-"), ("beta", "1-")):
            mine = _by_task(records, prefix)
            streams = _by_stream(mine)
            assert streams["stdout"] == [*(f"{name} line {i}" for i in range(4)), "the token is ***",
                                         f"{name} from a program", f"{name}-no-end"]
            assert streams["stderr"] == [f"{name} to stderr", f"{name} warns", f"{name} program errs"]
            terminal = next(r["seq"] for r in mine if r["stream"] == "dotflow" and r["line"].endswith("Completed"))
            assert all(r["seq"] < terminal for r in mine if r["stream"] != "dotflow")
        assert TOKEN not in json.dumps(records)
        assert document_problems(server.url, server.requests()) == []


@pytest.mark.parametrize("executor", ["dask", "dask-threads"])
def test_a_dask_worker_ships_what_each_step_writes(executor: str, project: Path, tmp_path: Path) -> None:
    """On Dask workers of one thread (dotflow's local cluster) the worker's descriptors are read, as
    in a process worker: a program's output is the task's too. A worker of two threads runs two
    calls at once: the tees there take each step's prints and records for its own task (a
    program's output stays in the worker's log). Either way the last lines come before the task's
    terminal status."""
    pytest.importorskip("distributed")
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, MODE="parallel", EXECUTOR=executor, LINES="4", PROGRAM="1")
        result = _run("python", project, env)
        assert result.returncode == 0, result.stderr
        records = server.log_records("wf-logs")
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        for name, prefix in (("alpha", "0-"), ("beta", "1-")):
            mine = _by_task(records, prefix)
            streams = _by_stream(mine)
            printed = [f"{name} line {i}" for i in range(4)]
            if executor == "dask":
                assert streams["stdout"] == [*printed, f"{name} from a program", f"{name}-no-end"]
                assert streams["stderr"] == [f"{name} to stderr", f"{name} warns", f"{name} program errs"]
            else:
                assert streams["stdout"] == printed and streams["stderr"] == [f"{name} to stderr"]
                assert streams["logging"] == [f"etl: {name} warns"]
            terminal = next(r["seq"] for r in mine if r["stream"] == "dotflow" and r["line"].endswith("Completed"))
            assert all(r["seq"] < terminal for r in mine if r["stream"] != "dotflow")


def test_lines_are_cut_at_8_kib_and_secrets_masked(project: Path, tmp_path: Path) -> None:
    with FaultServer("healthy", protocol=2) as server:
        result = _run("python", project, _env(tmp_path, server, STEPS="alpha", PRINT_TOKEN="1", LONG_LINE="1"))
        assert result.returncode == 0, result.stderr
        records = server.log_records("wf-logs")
        long = [r for r in records if r["line"].startswith("xxx")]
        assert len(long) == 1 and len(long[0]["line"]) == 8192 and long[0]["truncated"] is True
        said = [r["line"] for r in records if r["line"].startswith("the token is")]
        assert said == ["the token is ***"]
        assert all(TOKEN not in json.dumps(r.body) for r in server.requests() if r.body is not None)


@pytest.mark.parametrize("how", ["start", "python"])
def test_a_version_1_backend_gets_no_logs(how: str, project: Path, tmp_path: Path) -> None:
    """Nothing but version 1's calls, and no capture once the backend's first answer said version 1:
    the tees are gone from the streams, or the descriptors are back, so the steps' prints cost what
    they cost without a backend."""
    with FaultServer("healthy") as server:
        result = _run(how, project, _env(tmp_path, server, STEPS="alpha", SHOW_STDOUT="1"))
        assert result.returncode == 0, result.stderr
        assert "alpha line 2" in result.stdout
        assert "stdout is as it was" in result.stdout
        assert {r.route for r in server.requests()} <= {"tasks", "task", "workflow"}
    with FaultServer("healthy", protocol=2) as server:  # the same step against version 2: captured
        result = _run(how, project, _env(tmp_path, server, STEPS="alpha", SHOW_STDOUT="1"))
        assert "stdout is captured" in result.stdout


@pytest.mark.parametrize("option", [{"logs_status": 404}, {"logs_status": 500}])
def test_a_refused_logs_endpoint_delays_nothing(option: dict[str, Any], project: Path, tmp_path: Path) -> None:
    """404 switches the lane off after one batch; 500 is retried a little and given up; either way
    the statuses all arrive and the run takes its own time."""
    with FaultServer("healthy", protocol=2, **option) as server:
        began = time.monotonic()
        result = _run("start", project, _env(tmp_path, server, LINES="50"))
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - began < 10
        assert sorted(server.final_statuses("wf-logs").values()) == ["Completed", "Completed"]
        logs_posts = [r for r in server.requests() if r.route == "logs"]
        if option["logs_status"] == 404:
            assert len(logs_posts) == 1


def test_a_black_holed_logs_endpoint_holds_no_status_and_no_exit(project: Path, tmp_path: Path) -> None:
    """The status reports go on their own connections: with the logs endpoint never answering, the
    statuses arrive at once and the exit waits at most the flush bound."""
    with FaultServer("healthy", protocol=2, logs_delay=float("inf")) as server:
        env = _env(tmp_path, server, LINES="20", DOTFLOW_SERVER_FLUSH_TIMEOUT="2", DOTFLOW_SERVER_TIMEOUT="1")
        began = time.monotonic()
        result = _run("start", project, env)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - began < 10
        assert sorted(server.final_statuses("wf-logs").values()) == ["Completed", "Completed"]


def test_the_buffer_drops_the_oldest_and_counts_them(project: Path, tmp_path: Path) -> None:
    """A buffer of 100 records and a backend that answers each batch in 1 s: a step printing
    3,000 lines loses the oldest, and the batches' `dropped` add up to exactly what is missing."""
    with FaultServer("slow", protocol=2, delay=1.0) as server:
        env = _env(tmp_path, server, STEPS="alpha", LINES="3000", DOTFLOW_SERVER_LOG_BUFFER="100",
                   DOTFLOW_SERVER_FLUSH_TIMEOUT="10")
        result = _run("python", project, env)
        assert result.returncode == 0, result.stderr
        records = server.log_records("wf-logs")
        dropped = server.log_dropped("wf-logs")
        assert dropped > 0
        last_seq = max(r["seq"] for r in records)
        assert len(records) + dropped == last_seq  # every record is either delivered or counted
        seqs = [r["seq"] for r in records]
        assert seqs == sorted(seqs)


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_pipe_gets_each_line_as_it_is_printed(executor: str, project: Path, tmp_path: Path) -> None:
    """stdout a pipe (a container's log): the step's lines arrive while it runs, not at exit (nor,
    in a process worker, at the end of the call)."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, STEPS="alpha", LINES="3", PAUSE="1", EXECUTOR=executor)
        process = subprocess.Popen([sys.executable, "pipeline.py"], cwd=project, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 10)
            assert ready, "no line within 10 s"
            first = process.stdout.readline().decode()
            assert first == "alpha line 0\n"
            assert process.poll() is None  # the step is still running
        finally:
            process.wait(WAIT)


def test_a_terminal_sees_the_same_output(project: Path, tmp_path: Path) -> None:
    """Under a pseudo-terminal the output of a captured run is the output of a run without capture."""
    outputs = []
    for protocol in (1, 2):
        with FaultServer("healthy", protocol=protocol) as server:
            env = _env(tmp_path, server, STEPS="alpha")
            outputs.append(_pty_output([sys.executable, "pipeline.py"], project, env))
    assert outputs[0] == outputs[1] and "alpha line 2" in outputs[1]


def _pty_output(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + WAIT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        process.wait(WAIT)
        os.close(leader)
    return b"".join(chunks).decode()


def test_a_signal_during_the_final_flush_cuts_the_logs_short(project: Path, tmp_path: Path) -> None:
    """The logs endpoint a black hole and a 30 s flush bound: the statuses are all delivered, and a
    SIGTERM while the exit waits on the logs ends it within the signal bound (1 s here), exit 143."""
    import signal

    with FaultServer("healthy", protocol=2, logs_delay=float("inf")) as server:
        env = _env(tmp_path, server, DOTFLOW_SERVER_FLUSH_TIMEOUT="30", DOTFLOW_SERVER_SIGNAL_FLUSH_TIMEOUT="1",
                   DOTFLOW_SERVER_TIMEOUT="30")
        process = subprocess.Popen([dotflow_exe(), "start", "--workflow", "pipeline:build"], cwd=project, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert server.wait_for(lambda s: "Completed" in s.workflow_statuses("wf-logs"), WAIT)
            time.sleep(0.5)  # the command is in its final flush, waiting on the logs
            assert process.poll() is None
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=WAIT)
            took = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 143, err
        assert took < 1.0 + 2.0
        assert sorted(server.final_statuses("wf-logs").values()) == ["Completed", "Completed"]
        assert "Traceback" not in err and TOKEN not in err
