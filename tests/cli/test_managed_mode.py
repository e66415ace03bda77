"""Managed mode end to end: ``dotflow start`` in a subprocess reporting to a real HTTP server
on 127.0.0.1. One test per row of server.md's behaviour matrix, plus the failure and secret cases."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

TOKEN = "tok-3f9c-SUPER-SECRET-value"


@pytest.fixture
def backend(httpserver):
    """A backend that accepts every report and records it; returns (base_url, calls)."""
    httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_json({"ok": True}, status=200)

    def calls() -> list[tuple[str, str, dict]]:
        out = []
        for request, _ in httpserver.log:
            assert request.headers.get("X-User-Token") == TOKEN
            body = json.loads(request.get_data() or b"{}")
            raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")  # as sent on the wire
            out.append((request.method, raw, body))
        return out

    return httpserver.url_for("/api/v1"), calls


def _assert_no_secret(result) -> None:
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr


def test_matrix_nothing_set_is_a_plain_run(run_cli, backend):
    """Nothing set: default profile, a random uuid, and no HTTP at all."""
    _, calls = backend
    result = run_cli("start", "--step", "steps.ok")
    assert result.returncode == 0, result.stderr
    assert re.search(r"workflow [0-9a-f-]{36}: Completed", result.stdout)
    assert calls() == []


def test_matrix_server_vars_only_creates_the_workflow(run_cli, backend):
    """SERVER_BASE_URL + SERVER_USER_TOKEN: default profile, random id, POST /workflows once,
    POST at add, PATCH per transition."""
    base, calls = backend
    result = run_cli("start", "--step", "steps.ok", env={"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    wid = re.search(r"workflow ([0-9a-f-]{36}): Completed", result.stdout).group(1)
    seen = calls()
    assert seen[0] == ("POST", "/api/v1/workflows", {"id": wid})  # before the tasks posted to it
    assert [c[:2] for c in seen].count(("POST", "/api/v1/workflows")) == 1
    task_calls = [(m, b["status"]) for m, p, b in seen if "/tasks" in p]
    # In progress is skipped when Completed replaced it before it was sent (coalescing)
    assert task_calls in (
        [("POST", "Not started"), ("PATCH", "In progress"), ("PATCH", "Completed")],
        [("POST", "Not started"), ("PATCH", "Completed")],
    )
    _assert_no_secret(result)


def test_matrix_managed_reports_under_the_backend_id(run_cli, backend):
    """WORKFLOW_ID + both server vars: the managed profile, no POST /workflows, and, under
    WORKFLOW_ID, the workflow In progress then Completed and the task's POST then its PATCHes."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-123"}
    result = run_cli("start", "--step", "steps.ok", env=env)
    assert result.returncode == 0, result.stderr
    assert "workflow wf-123: Completed" in result.stdout
    assert "ID wf-123 - " in result.stderr
    seen = calls()
    assert ("POST", "/api/v1/workflows") not in [c[:2] for c in seen]
    workflow = [(m, b) for m, p, b in seen if p == "/api/v1/workflows/wf-123"]
    assert workflow == [("PATCH", {"status": "In progress"}), ("PATCH", {"status": "Completed"})]
    tasks = [(m, p, b) for m, p, b in seen if p.startswith("/api/v1/workflows/wf-123/tasks")]
    post, *patches = tasks
    assert post[:2] == ("POST", "/api/v1/workflows/wf-123/tasks")
    assert post[2]["status"] == "Not started" and "task_id" not in post[2]
    tid = post[2]["id"]
    assert {p for _, p, _ in patches} == {f"/api/v1/workflows/wf-123/tasks/{tid}"}
    assert [b["status"] for _, _, b in patches] in (["In progress", "Completed"], ["Completed"])
    assert all(body.get("workflow_id", "wf-123") == "wf-123" for _, _, body in seen)
    _assert_no_secret(result)


def test_matrix_workflow_id_alone_is_an_error(run_cli, backend):
    """WORKFLOW_ID only: exit 2 before any task runs, one line naming every missing variable
    and the opt-out; nothing reaches the server."""
    _, calls = backend
    result = run_cli("start", "--step", "steps.ok", env={"WORKFLOW_ID": "wf-123"})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "SERVER_BASE_URL" in line and "SERVER_USER_TOKEN" in line and "--profile default" in line
    assert "ok got" not in result.stdout
    assert calls() == []


def test_managed_missing_token_names_only_the_token(run_cli, backend):
    """WORKFLOW_ID + SERVER_BASE_URL without the token: exit 2 naming SERVER_USER_TOKEN."""
    base, calls = backend
    result = run_cli("start", "--step", "steps.ok", env={"WORKFLOW_ID": "w", "SERVER_BASE_URL": base})
    assert result.returncode == 2
    assert "SERVER_USER_TOKEN" in result.stderr and "SERVER_BASE_URL" not in result.stderr
    assert calls() == []


def test_managed_failing_step_reports_failed_and_exits_1(run_cli, backend):
    """A failing step in managed mode: the observer sees Failed, and the exit code is 1."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-fail"}
    result = run_cli("start", "--step", "steps.boom", env=env)
    assert result.returncode == 1
    seen = calls()
    task_statuses = [b.get("status") for _, p, b in seen if "/tasks" in p]
    workflow_statuses = [b.get("status") for _, p, b in seen if p == "/api/v1/workflows/wf-fail"]
    assert task_statuses[0] == "Not started" and task_statuses[-1] == "Failed"
    assert workflow_statuses == ["In progress", "Failed"]
    assert "Failed" in result.stdout
    _assert_no_secret(result)


def test_managed_hostile_workflow_id_stays_one_path_segment(run_cli, backend):
    """A WORKFLOW_ID holding '/', '?', '#' and spaces is percent-encoded into one segment."""
    base, calls = backend
    wid = "a/b?c#d e"
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": wid}
    result = run_cli("start", "--step", "steps.ok", env=env)
    assert result.returncode == 0, result.stderr
    encoded = quote(wid, safe="")
    paths = [p for _, p, _ in calls()]
    assert paths and all(p.startswith(f"/api/v1/workflows/{encoded}") for p in paths)


def test_profile_default_opts_out_of_managed(run_cli, backend):
    """--profile default ignores WORKFLOW_ID's managed selection: a plain run with no HTTP."""
    _, calls = backend
    result = run_cli("start", "--profile", "default", "--step", "steps.ok", env={"WORKFLOW_ID": "wf-9"})
    assert result.returncode == 0, result.stderr
    assert calls() == []


def test_dead_server_does_not_change_the_result(run_cli):
    """A managed run whose server is unreachable still completes with exit 0, and one warning
    says how many reports were lost."""
    env = {
        "SERVER_BASE_URL": "http://127.0.0.1:9/api/v1",
        "SERVER_USER_TOKEN": TOKEN,
        "WORKFLOW_ID": "wf-dead",
        "DOTFLOW_SERVER_FLUSH_TIMEOUT": "1",
        "DOTFLOW_SERVER_RETRIES": "1",
    }
    result = run_cli("start", "--step", "steps.ok", env=env)
    assert result.returncode == 0, result.stderr
    assert "workflow wf-dead: Completed" in result.stdout
    assert len(re.findall(r"lost", result.stderr)) == 1
    _assert_no_secret(result)


def test_sigterm_mid_step_reports_failed_and_flushes(project, tmp_path, backend):
    """SIGTERM while a step runs: the task and the workflow are reported Failed before the
    process exits (143), so the observer is not left with a task stuck In progress."""
    import signal
    import subprocess
    import time

    from cli_support import clean_env, dotflow_exe

    (project / "slow.py").write_text(
        "import time\nfrom dotflow import action\n\n@action\ndef wait():\n    time.sleep(30)\n"
    )
    base, calls = backend
    env = clean_env(tmp_path, SERVER_BASE_URL=base, SERVER_USER_TOKEN=TOKEN, WORKFLOW_ID="wf-term")
    proc = subprocess.Popen([dotflow_exe(), "start", "--step", "slow.wait"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(b.get("status") == "In progress" for _, _, b in calls()):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 143
    seen = calls()
    assert [b.get("status") for _, p, b in seen if "/tasks" in p][-1] == "Failed"
    assert [b.get("status") for _, p, b in seen if p.endswith("/wf-term")] == ["In progress", "Failed"]
    assert "Traceback" not in err and TOKEN not in out + err


def test_managed_factory_with_a_config_without_server_is_refused(run_cli, backend):
    """Under the managed profile, a factory passing its own Config without a server exits 2 before
    any task runs (nothing would reach the backend), and the backend's workflow is told Failed."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-own"}
    result = run_cli("start", "--workflow", "steps:build_own_config", env=env)
    assert result.returncode == 2
    assert "passed its own Config without one" in result.stderr and "ok got" not in result.stdout
    assert calls() == [("PATCH", "/api/v1/workflows/wf-own", {"status": "Failed"})]


def test_factory_with_its_own_config_outside_managed_is_warned(run_cli, backend):
    """Outside managed mode (server variables only), a factory's own Config runs, with one warning
    that its status is not reported."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "DOTFLOW_WORKFLOW_ID": "wf-dev"}
    result = run_cli("start", "--workflow", "steps:build_own_config", env=env)
    assert result.returncode == 0, result.stderr
    assert "workflow wf-dev: Completed" in result.stdout
    assert result.stderr.count("passed its own Config without one") == 1
    assert calls() == []


def test_managed_factory_with_its_own_id_is_refused_and_reported(run_cli, backend):
    """Under the managed profile, a factory hard-coding another workflow_id exits 2 before any
    task runs, and the backend's workflow is told Failed."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-mine"}
    result = run_cli("start", "--workflow", "steps:hardcoded_id", env=env)
    assert result.returncode == 2
    assert "workflow_id='hardcoded'" in result.stderr and "env:WORKFLOW_ID" in result.stderr
    assert "ok got" not in result.stdout
    assert [(m, p, b) for m, p, b in calls() if "wf-mine" in p] == [
        ("PATCH", "/api/v1/workflows/wf-mine", {"status": "Failed"})
    ]
    _assert_no_secret(result)


def test_managed_factory_that_raises_reports_the_workflow_failed(run_cli, backend):
    """A managed run whose factory raises exits 2, and the backend's workflow is told Failed."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-boom"}
    result = run_cli("start", "--workflow", "steps:raises", env=env)
    assert result.returncode == 2
    assert calls() == [("PATCH", "/api/v1/workflows/wf-boom", {"status": "Failed"})]


def test_managed_run_failing_at_start_reports_the_workflow_failed(run_cli, backend, project):
    """A managed run whose storage folder is unusable exits 2, and the backend's workflow is told Failed."""
    base, calls = backend
    (project / "blocker").write_text("a file, not a folder")
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-path"}
    result = run_cli("start", "--step", "steps.ok", "--storage", "file", "--path", "blocker", env=env)
    assert result.returncode == 2, result.stderr
    assert ("PATCH", "/api/v1/workflows/wf-path", {"status": "Failed"}) in calls()


def _final_task_statuses(seen: list[tuple[str, str, dict]]) -> dict[str, str]:
    """Each task the backend heard of, with the last status it got."""
    last: dict[str, str] = {}
    for method, path, body in seen:
        if method == "POST" and path.endswith("/tasks"):
            last[body["id"]] = body["status"]
        elif method == "PATCH" and "/tasks/" in path:
            last[path.rsplit("/", 1)[1]] = body["status"]
    return last


def test_managed_run_with_a_broken_dotflow_toml_reports_the_workflow_failed(run_cli, backend, project):
    """The profile cannot even be resolved (a broken dotflow.toml): exit 2 with the one error line,
    and the backend waiting on WORKFLOW_ID hears Failed, from the three variables alone."""
    base, calls = backend
    (project / "dotflow.toml").write_text("[workflow\nmode = 'parallel'\n")
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-toml"}
    result = run_cli("start", "--step", "steps.ok", env=env)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "dotflow.toml" in result.stderr
    assert calls() == [("PATCH", "/api/v1/workflows/wf-toml", {"status": "Failed"})]
    _assert_no_secret(result)
    other = run_cli("start", "--step", "steps.ok", "--profile", "dev", env=env)  # another profile: not the backend's
    assert other.returncode == 2 and len(calls()) == 1


def test_managed_run_stopped_before_its_tasks_ran_reports_them_failed(run_cli, backend, project):
    """A run whose tasks the backend already heard of (POST, Not started) but that stops before
    they run (--on-input-change raise with changed inputs) leaves each of them Failed there."""
    base, calls = backend
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-inputs"}
    store = ("--storage", "file", "--path", "out")
    first = run_cli("start", "--step", "steps.ok", "-i", '"a"', *store, env=env)
    assert first.returncode == 0, first.stderr
    before = len(calls())
    stopped = run_cli("start", "--step", "steps.ok", "-i", '"b"', *store, "--resume", "--on-input-change", "raise",
                      env=env)
    assert stopped.returncode == 2 and "inputs changed" in stopped.stderr
    seen = calls()[before:]
    assert set(_final_task_statuses(seen).values()) == {"Failed"}, seen
    assert ("PATCH", "/api/v1/workflows/wf-inputs", {"status": "Failed"}) in seen  # lanes: any order
