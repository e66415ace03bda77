"""``dotflow checkpoints list|clear`` through the real console script, on a file storage."""

from __future__ import annotations

import json

PIPELINE = '''
from dotflow import DotFlow, action

@action
def extract():
    return [1, 2]

@action
def load(previous_context):
    print("load ran")
    return sum(previous_context.storage)

def build():
    flow = DotFlow()
    flow.task.add(extract).add(load)
    return flow
'''
STORE = ("-o", "file", "-p", "out")


def _run_pipeline(run_cli, project, *extra):
    (project / "pipe.py").write_text(PIPELINE)
    result = run_cli("start", "-w", "pipe:build", *STORE, "--workflow-id", "etl", "-q", *extra)
    assert result.returncode == 0, result.stderr
    return result


def test_list_shows_each_workflows_checkpoints(run_cli, project):
    """After a run, `checkpoints list` names the workflow, its task ids and the inputs fingerprint."""
    _run_pipeline(run_cli, project)
    result = run_cli("checkpoints", "list", *STORE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "workflow etl: 2 task(s); inputs fingerprinted"
    data = json.loads(run_cli("checkpoints", "list", *STORE, "--json").stdout)
    assert len(data["workflows"]["etl"]["tasks"]) == 2


def test_clear_one_step_makes_the_next_resume_run_it_again(run_cli, project):
    """`checkpoints clear --task pipe.load` drops that step's checkpoint only: the next resume runs it alone."""
    _run_pipeline(run_cli, project)
    result = run_cli("checkpoints", "clear", *STORE, "--workflow-id", "etl", "--task", "pipe.load")
    assert result.returncode == 0 and "dropped 1 checkpoint(s) of 'pipe.load' of workflow 'etl'" in result.stdout
    again = _run_pipeline(run_cli, project, "--resume")
    assert again.stdout.count("load ran") == 1


def test_clear_a_workflow_drops_all_its_checkpoints(run_cli, project):
    """`checkpoints clear --workflow-id etl` drops every checkpoint of that workflow, and list then says none."""
    _run_pipeline(run_cli, project)
    result = run_cli("checkpoints", "clear", *STORE, "--workflow-id", "etl")
    assert result.returncode == 0
    assert "dropped 2 checkpoint(s) and its inputs fingerprint of workflow 'etl'" in result.stdout
    assert "no checkpoints" in run_cli("checkpoints", "list", *STORE).stdout


def test_clear_without_a_workflow_id_is_refused(run_cli, project):
    """`checkpoints clear` with no workflow id (flag or profile) exits 2 and drops nothing."""
    _run_pipeline(run_cli, project)
    result = run_cli("checkpoints", "clear", *STORE)
    assert result.returncode == 2 and "give --workflow-id" in result.stderr
    assert "etl: 2 task(s)" in run_cli("checkpoints", "list", *STORE).stdout


def test_clear_takes_a_task_id_and_names_what_is_stored_when_nothing_matches(run_cli, project):
    """--task also takes a task id as `list` shows it; a step or id with no checkpoint drops
    nothing and lists the stored ids; another workflow whose id starts the same is left alone."""
    _run_pipeline(run_cli, project)
    result = run_cli("start", "-w", "pipe:build", *STORE, "--workflow-id", "etl-2", "-q")
    assert result.returncode == 0, result.stderr
    first = json.loads(run_cli("checkpoints", "list", *STORE, "--json").stdout)["workflows"]["etl"]["tasks"][0]
    missing = run_cli("checkpoints", "clear", *STORE, "--workflow-id", "etl", "--task", "pipe.nothere")
    assert missing.returncode == 0 and "no checkpoint of 'pipe.nothere'" in missing.stdout
    assert first in missing.stdout
    dropped = run_cli("checkpoints", "clear", *STORE, "--workflow-id", "etl", "--task", first)
    assert f"dropped 1 checkpoint(s) of '{first}' of workflow 'etl'" in dropped.stdout
    everything = run_cli("checkpoints", "clear", *STORE, "--workflow-id", "etl")
    assert "dropped 1 checkpoint(s) and its inputs fingerprint" in everything.stdout
    assert "workflow etl-2: 2 task(s)" in run_cli("checkpoints", "list", *STORE).stdout


def test_list_says_when_the_folder_is_not_there(run_cli, project):
    """A --path that does not exist lists nothing, and says that the folder is missing."""
    result = run_cli("checkpoints", "list", "-o", "file", "-p", "nowhere")
    assert result.returncode == 0 and "does not exist" in result.stdout and "nowhere" in result.stdout


UNSET_TOKEN_PROFILE = """default_profile = "dev"

[profiles.dev.server]
base_url = "http://localhost:8000/api/v1"
user_token = "${DEV_TOKEN}"

[profiles.dev.storage]
provider = "file"
path = "out"

[profiles.dev.log]
output = "file"
path = "flow.log"
"""


def test_commands_that_never_reach_the_server_run_with_its_token_unset(run_cli, project):
    """`checkpoints list`, `checkpoints clear` and `logs` read the storage or the log file, never the
    server: a profile whose ${DEV_TOKEN} is unset does not stop them (it did, exit 2), while
    `dotflow start`, which reports to that server, still refuses it in one line."""
    (project / "dotflow.toml").write_text(UNSET_TOKEN_PROFILE)
    # nothing listens at the profile's server: a short flush, not the default's wait on it
    assert run_cli("start", "--step", "steps.ok", "--workflow-id", "nightly", "-q",
                   env={"DEV_TOKEN": "tok-dev", "DOTFLOW_SERVER_FLUSH_TIMEOUT": "1"}).returncode == 0
    listed = run_cli("checkpoints", "list")
    assert listed.returncode == 0, listed.stderr
    assert "workflow nightly: 1 task(s)" in listed.stdout and listed.stderr == ""
    logs = run_cli("logs")
    assert logs.returncode == 0, logs.stderr
    assert "nightly - ok [0-" in logs.stdout
    cleared = run_cli("checkpoints", "clear", "--workflow-id", "nightly")
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.startswith("dropped 1 checkpoint(s)")
    refused = run_cli("start", "--step", "steps.ok")
    assert refused.returncode == 2 and "variable DEV_TOKEN is not set" in refused.stderr
