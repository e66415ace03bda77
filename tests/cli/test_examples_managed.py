"""The managed-mode and explicit-wiring examples, run as a user would: the observer in one
process, ``dotflow start`` (or the script) in another."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def observer():
    """examples/managed/observer.py running on a free loopback port; yields (base_url, read_output)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples/managed/observer.py"), "--port", str(port), "--max-seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "observer listening" in first
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)

    def read_output() -> list[str]:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        return out.splitlines()

    yield f"http://127.0.0.1:{port}/api/v1", read_output
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def test_managed_example_reports_every_transition(observer, tmp_path):
    """The README's two commands: the observer prints the task's POST (Not started) then its PATCHes
    ending in Completed, in order, under WORKFLOW_ID, and no POST /workflows. (In progress may be
    skipped: a newer status replaces it when the step ends before it was sent.)"""
    base, read_output = observer
    env = clean_env(tmp_path, SERVER_BASE_URL=base, SERVER_USER_TOKEN="dev-token", WORKFLOW_ID="demo-42")
    result = subprocess.run(
        [dotflow_exe(), "start", "--step", "examples.managed.steps.step_one"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = read_output()
    task_lines = [line for line in lines if "/workflows/demo-42/tasks" in line]
    methods = [line.split()[0] for line in task_lines]
    assert methods[0] == "POST" and "Not started" in task_lines[0]
    assert methods[1:] in (["PATCH"], ["PATCH", "PATCH"])
    known = ("Not started", "In progress", "Completed")
    statuses = [status for line in task_lines for status in known if status in line]
    assert statuses in (["Not started", "Completed"], ["Not started", "In progress", "Completed"])
    assert not any(line.startswith("POST") and line.split()[1] == "/api/v1/workflows" for line in lines)
    assert lines and all("token ok" in line for line in lines)


def test_server_flow_example_wires_serverapi_in_code(observer, tmp_path):
    """examples/server_flow/flow.py delivers every report before it prints, starting with POST
    /workflows; each task ends Completed and so does the workflow."""
    base, read_output = observer
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples/server_flow/flow.py"), base, "dev-token"],
        cwd=tmp_path, env=clean_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    delivered = int(result.stdout.rsplit("reports delivered: ", 1)[1])
    lines = read_output()
    assert len(lines) == delivered >= 7  # 9, less any In progress a newer status replaced before it was sent
    assert lines[0].split()[:2] == ["POST", "/api/v1/workflows"]
    final: dict[str, str] = {}
    for line in lines:
        method, path, *rest = line.split()
        if method == "PATCH":
            final[path] = rest[0] if rest[0] != "In" else "In progress"
    assert sorted(final.values()) == ["Completed"] * 3  # two tasks and the workflow
