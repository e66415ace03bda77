"""Dask as the executor: a real ``dask scheduler`` and ``dask worker`` started by their own CLI on 127.0.0.1.

The cluster (``tests/dask_support.py``) is started once for the session: a scheduler
(``allowed-failures`` 0, so a worker that dies mid-call fails that call at once) and one
nanny-managed worker process with one thread. Steps must run in that worker's process, never
in the test's; the driver keeps statuses, storage and reports, so results and resume behave as
on threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import executor_steps as steps
import pytest
from dask_support import TESTS, Cluster, free_port
from engine_support import REPO, RecordingServer

from dotflow import Config, DotFlow, TypeStatus, action
from dotflow.errors import ExecutorError, StepPickleError, StepTimeoutError, WorkerDiedError
from dotflow.providers import StorageFile

distributed = pytest.importorskip("distributed")

@pytest.fixture
def cluster(dask_cluster: Cluster) -> Cluster:
    return dask_cluster


@pytest.fixture(autouse=True)
def a_worker_is_connected(request: pytest.FixtureRequest) -> None:
    """Each cluster test starts once the (possibly replaced) worker is connected, waiting at most a minute."""
    if "cluster" in request.fixturenames:
        request.getfixturevalue("cluster").worker_pid()


def _flow(server: RecordingServer | None = None, workflow_id: str = "wf-dask", **config: Any) -> DotFlow:
    return DotFlow(config=Config(server=server, **config), workflow_id=workflow_id)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_steps_run_in_the_dask_workers_process(cluster: Cluster) -> None:
    """In parallel mode every step runs in the Dask worker's process (a child of the `dask worker` nanny)."""
    worker_pid = cluster.worker_pid()
    workflow = _flow()
    workflow.task.add([steps.pid, steps.pid, steps.pid, steps.Chain])
    manager = workflow.start(mode="parallel", executor=cluster.address)
    *pids, chain = workflow.result_storage()
    assert manager.status is TypeStatus.COMPLETED
    assert pids == [worker_pid] * 3 and worker_pid != os.getpid()
    if sys.platform.startswith("linux"):
        assert _parent(worker_pid) == cluster.worker.pid
    assert [c.storage for c in chain] == [10, 11]


def test_groups_chain_their_contexts_on_the_cluster(cluster: Cluster) -> None:
    """sequential_group on Dask: each group's tasks run in order, each getting the previous result."""
    workflow = _flow()
    for group in "ab":
        workflow.task.add([steps.one, steps.add_one, steps.add_one], group_name=group)
    workflow.start(mode="sequential_group", executor=cluster.address)
    assert workflow.result_storage() == [1, 2, 3, 1, 2, 3]


def test_the_server_sees_the_same_run_on_dask_and_on_threads(cluster: Cluster) -> None:
    """Retries, a failure and a step's sys.exit() are reported exactly as on threads, from the driver."""
    seen = []
    for executor in ("thread", cluster.address):
        server = RecordingServer()
        workflow = _flow(server)
        workflow.task.add([steps.one, steps.fails_three_times, steps.exits])
        workflow.start(mode="parallel", executor=executor)
        seen.append(
            (
                [server.task_statuses(t.task_id) for t in workflow.result_task()],
                [(t.status, t.retry_count, [e.message for e in t.errors]) for t in workflow.result_task()],
                [e for e in server.events() if e[0] == "update_workflow"],
            )
        )
    assert seen[0] == seen[1]


def test_checkpoints_written_by_the_driver_resume_a_dask_run(cluster: Cluster, tmp_path: Path) -> None:
    """A run on the cluster stores its results from the driver; a resumed run on the cluster runs nothing again."""
    first = _flow(storage=StorageFile(path=str(tmp_path)), workflow_id="wf-dask-resume")
    first.task.add([steps.one, steps.add_one, steps.pid])
    first.start(executor=cluster.address)
    server = RecordingServer()
    again = _flow(server, storage=StorageFile(path=str(tmp_path)), workflow_id="wf-dask-resume")
    again.task.add([steps.one, steps.add_one, steps.pid])
    again.start(executor=cluster.address, resume=True)
    assert again.result_storage() == first.result_storage()
    assert [server.task_statuses(t.task_id) for t in again.result_task()] == [["Completed"]] * 3


def test_a_timed_out_step_is_abandoned_on_the_cluster(cluster: Cluster) -> None:
    """Dask cannot stop a running call: the task fails with StepTimeoutError saying it was abandoned."""
    workflow = _flow()
    workflow.task.add(steps.sleeps_past_its_timeout)
    begin = time.perf_counter()
    workflow.start(executor=cluster.address)
    error = workflow.result_task()[0].errors[-1]
    assert time.perf_counter() - begin < 1.4
    assert isinstance(error.error, StepTimeoutError)
    assert error.message == (
        f"step executor_steps.sleeps_past_its_timeout timed out after 0.3s; the Dask cluster at {cluster.address} "
        "cannot stop a running call, so it was abandoned and runs on in its worker until it returns"
    )


def test_an_unpicklable_step_is_refused_with_its_name(cluster: Cluster) -> None:
    """A step closing over a lock fails its task with StepPickleError naming it and the Dask worker."""
    lock = threading.Lock()

    @action
    def locked() -> None:
        with lock:
            pass

    workflow = _flow()
    workflow.task.add(locked)
    workflow.start(executor=cluster.address)
    error = workflow.result_task()[0].errors[-1]
    assert isinstance(error.error, StepPickleError)
    assert "locked cannot be sent to a Dask worker: TypeError: cannot pickle '_thread.lock' object" in error.message


def test_the_cli_runs_a_pipeline_unchanged_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    """`dotflow start --workflow ... --executor tcp://...` runs every step in the worker and prints the summary."""
    from cli.cli_support import clean_env, dotflow_exe

    worker_pid = cluster.worker_pid()
    env = clean_env(tmp_path, DOTFLOW_TEST_OUT=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO)])
    done = subprocess.run(
        [dotflow_exe(), "start", "--workflow", "executor_steps:build_pid_writers", "--mode", "parallel",
         "--executor", cluster.address, "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ": Completed in " in done.stdout
    assert [int((tmp_path / str(n)).read_text()) for n in range(3)] == [worker_pid] * 3


def test_a_clients_executor_runs_every_call_and_stays_open(cluster: Cluster, tmp_path: Path) -> None:
    """``client.get_executor()`` runs identical calls each time (not merged by Dask) and is left open."""
    worker_pid = cluster.worker_pid()
    calls = tmp_path / "calls"
    workflow = _flow()
    for _ in range(3):
        workflow.task.add(steps.appends_a_line, initial_context=str(calls))
    workflow.start(mode="parallel", executor=cluster.client.get_executor())
    assert workflow.result_storage() == [worker_pid] * 3
    assert calls.read_text().split() == [str(worker_pid)] * 3
    assert cluster.client.submit(sum, [1, 2]).result(30) == 3  # the caller's client is still open


def test_an_unreachable_scheduler_is_an_error_of_start_before_any_report() -> None:
    """A scheduler address nobody listens on raises ExecutorError from start(); nothing is reported or run."""
    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(steps.one)
    before = list(server.calls)
    import dotflow.execution.executors.dask as dask_executor

    timeout, dask_executor.CONNECT_TIMEOUT = dask_executor.CONNECT_TIMEOUT, 1  # type: ignore[assignment]
    try:
        with pytest.raises(ExecutorError, match=r"could not reach the Dask scheduler at tcp://127\.0\.0\.1:"):
            workflow.start(executor=f"tcp://127.0.0.1:{free_port()}")
    finally:
        dask_executor.CONNECT_TIMEOUT = timeout
    assert server.calls == before
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


def test_a_local_dask_cluster_runs_the_steps_in_other_processes() -> None:
    """executor="dask" starts a local cluster for the run: the steps run outside this process."""
    workflow = _flow()
    workflow.task.add([steps.pid, steps.one])
    workflow.start(mode="parallel", executor="dask", max_workers=1)
    pid, one = workflow.result_storage()
    assert one == 1 and pid != os.getpid()


def test_a_worker_that_dies_mid_step_fails_the_task_and_keep_going_runs_on(cluster: Cluster) -> None:
    """A Dask worker killed mid-step fails its task with WorkerDiedError; the nanny's new worker runs the rest.

    Last in the module: the worker is replaced under it.
    """
    before = cluster.worker_pid()
    workflow = _flow()
    workflow.task.add([steps.dies, steps.pid_in_time])  # the second waits (bounded) for the nanny's new worker
    manager = workflow.start(executor=cluster.address, keep_going=True)
    died, later = workflow.result_task()
    assert (died.status, later.status, manager.status) == ("Failed", "Completed", "Failed")
    assert isinstance(died.errors[-1].error, WorkerDiedError)
    assert died.errors[-1].message.startswith("the Dask workers running step executor_steps.dies died (KilledWorker")
    assert later.current_context.storage not in (before, os.getpid())
