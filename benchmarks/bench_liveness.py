"""Liveness and cancellation (runner protocol version 2): what heartbeats cost a run, how fast a cancel stops one.

Usage: python bench_liveness.py [--figure heartbeats|cancel|cooperative ...] [--rounds N] [--python-101 PATH]

Runs in the interpreter (and so the dotflow) that runs it, from an empty temp dir holding the
steps' module (``liveness_steps.py``: worker processes import the steps by name). Child
processes get PATH and HOME (plus PYTHONPATH, for this interpreter's children only, when it is
set: a source checkout run with ``PYTHONPATH=.``) and the variables named below. Servers are
``tests/fault_server.py``'s ``FaultServer`` on 127.0.0.1, run in this process: its records'
``at`` are ``time.monotonic()`` here, the clock this script reads when a child exits. Figures:

* ``heartbeats``: a managed run (``SERVER_BASE_URL``, ``SERVER_USER_TOKEN``, a fresh
  ``WORKFLOW_ID``; ``DOTFLOW_SERVER_HEARTBEAT_INTERVAL=1``) of a fresh ``python liveness_steps.py
  N KIND``, against healthy (Nagle-on) fault servers, in these variants: ``v1``, a server speaking
  version 1 (what a version 1 backend gets: no heartbeat); ``v2``, a server speaking version 2
  (``auto`` switches version 2 on from its first answer); ``v2-forced``, the same with
  ``DOTFLOW_SERVER_PROTOCOL=2``, so the first beat leaves as the run starts even when the run is
  over before any answer came; and, with ``--python-101``, dotflow 1.0.1 (no heartbeats) against
  the version 1 server. Runs: 500 no-op tasks (``start()`` µs per task, timed in the child, and
  the whole process), 20 no-op tasks (the whole process, as ``bench_reporting.py``'s
  ``20-nagle``), and 8 steps of 0.25 s of their own thread's CPU each (``start()`` s, about 2 s:
  beats leave during it, and a beat's CPU shows in the wall). ``--rounds`` rounds, the variants
  in a rotating order; medians, [min-max], and the heartbeats the server got per run. A
  difference is a version 2 variant's median minus version 1's; its noise is the interquartile
  range of version 1's rounds, what the same run moves by with nothing changed (max - min would
  let one slow round of a busy machine hide a cost): a difference within it is not measurable.
* ``cancel``: ``dotflow start --workflow liveness_steps:stubborn_flow --executor E`` (thread,
  process, dask), one task whose step sleeps 60 s and never reads the flag, against a version 2
  server whose answer to the second heartbeat cancels the run with a grace of 1 s
  (``--cancel-after 2 --cancel-grace 1``). The second, not the first: the first beat leaves as
  the run starts, and its answer can come before the step has begun (then the task is cancelled
  without running, and nothing stubborn is measured; seen with Dask); the second leaves a beat
  later, when the step runs (the beat's ``running`` says so, checked). The figure is the time
  from that heartbeat (the server answers it as soon as it is read; ``at`` is when it was read)
  to the process's exit, against the limit grace + 1 s; also the time to the workflow's
  ``Cancelled`` report, the exit code (must be 3), and whether stderr holds a traceback.
  ``max(2, rounds // 2)`` runs per executor (a fresh server for each: the server counts
  heartbeats over its life); a child is killed after 90 s.
* ``cooperative``: a library run in this process, no server: ``flow.start(mode="background",
  executor=E)`` of one step that loops ``while not current_task().cancel_requested():
  time.sleep(0.01)`` and returns ``time.time()`` when it sees the flag (a dict, the step's
  result, so it comes back from a worker process too); once the step has begun (it touches a
  file), ``manager.cancel("bench", grace=30)``. Latency: the step's time minus ``time.time()``
  just before ``cancel()``; median and max of the rounds, against 0.2 s. A step that does not
  see the flag within 3 s (no run context in its worker, or a flag that never reaches it)
  returns anyway, and the executor's figure is "not supported on this build" (its other rounds
  are then skipped).

``dask`` needs Dask's ``distributed`` (``pip install 'dotflow[dask]'``); without it those rows
say so. Last line: JSON ``{"figure": "liveness", "version", "python", "heartbeats", "cancel",
"cooperative"}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from types import ModuleType
from typing import Any

from _common import clean_env, dotflow_version, emit, load_fault_server, median, scrub_environ, temp_cwd

FIGURES = ("heartbeats", "cancel", "cooperative")
EXECUTORS = ("thread", "process", "dask")
TOKEN = "bench-liveness-token"
HEARTBEAT_INTERVAL = 1  # seconds between beats in the managed runs
GRACE = 1  # the backend's cancel grace, seconds
CANCEL_AFTER = 2  # the heartbeat whose answer cancels: the first may be answered before the step begins
COOPERATIVE_LIMIT = 0.2  # seconds from cancel() to the step seeing the flag
STEP_BOUND = 3.0  # a cooperative step stops looking for the flag after this many seconds
BUSY_S = 0.25  # CPU seconds of one busy step
CHILD_LIMIT = 90.0  # watchdog per child process, seconds
BEGIN_LIMIT = 60.0  # for a cooperative step to begin (a Dask cluster starts first), seconds
MAX_ROUNDS = 50

# The steps, in a module of their own: the process pool and Dask workers import them by name. Also the
# managed pipeline of the heartbeats figure (run as a script, under this repo's dotflow or 1.0.1).
STEPS = f'''\
"""bench_liveness.py's steps, and its managed pipeline: python liveness_steps.py TASKS noop|busy."""

import json
import os
import sys
import time

import dotflow
from dotflow import DotFlow, action


@action
def noop():
    pass


@action
def busy():
    end = time.thread_time() + {BUSY_S!r}  # this thread's own CPU: what other threads take shows in the wall
    while time.thread_time() < end:
        pass


@action
def stubborn():
    time.sleep(60)  # never reads the flag


@action
def cooperative():
    began = time.time()
    with open(os.environ["LIVENESS_MARK"], "w"):
        pass  # the driver cancels once this file exists: the step has begun
    task = dotflow.current_task()
    deadline = time.monotonic() + float(os.environ["LIVENESS_BOUND"])
    while time.monotonic() < deadline:
        if task is not None and task.cancel_requested():
            return {{"seen": time.time(), "began": began, "context": True}}
        time.sleep(0.01)
    return {{"seen": None, "began": began, "context": task is not None}}


def stubborn_flow():
    flow = DotFlow()
    flow.task.add(step=stubborn)
    return flow


if __name__ == "__main__":
    tasks, kind = int(sys.argv[1]), sys.argv[2]
    flow = DotFlow()
    for _ in range(tasks):
        flow.task.add(step=busy if kind == "busy" else noop)
    begin = time.perf_counter()
    flow.start(mode="sequential")
    print(json.dumps({{"start_s": time.perf_counter() - begin}}), flush=True)
'''
STEPS_MODULE = "liveness_steps"

# heartbeats: (name, tasks, kind, 1.0.1 too, the figures: "start" (start(), timed in the child) and/or "wall" (the
# whole process))
RUNS = (
    ("500-noop", 500, "noop", True, ("start", "wall")),
    ("20-noop", 20, "noop", True, ("wall",)),
    ("8-busy", 8, "busy", False, ("start",)),
)
# heartbeats: (label, this repo or 1.0.1, the server's protocol, extra environment)
VARIANTS = (
    ("v1", "new", 1, {}),
    ("v2", "new", 2, {}),
    ("v2-forced", "new", 2, {"DOTFLOW_SERVER_PROTOCOL": "2"}),
    ("1.0.1", "old", 1, {}),
)
COMPARED = ("v2", "v2-forced")  # each against v1


def child_env(python: str, **extra: str) -> dict[str, str]:
    """PATH, HOME and ``extra``; PYTHONPATH too for this interpreter's children (never 1.0.1's)."""
    env = clean_env(**extra)
    if python == sys.executable and os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def run_child(cmd: list[str], *, cwd: str, env: dict[str, str], limit: float = CHILD_LIMIT) -> dict[str, Any]:
    """Run one child: its exit time (``time.monotonic()``), wall, exit code, stdout, stderr, and whether the
    watchdog killed it (with its process group: a pool's workers must not outlive it)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        begin = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        watchdog = threading.Timer(limit, kill)
        watchdog.start()
        try:
            code = proc.wait()  # a blocking wait: no polling step in the exit time
        finally:
            ended = time.monotonic()
            watchdog.cancel()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what it left behind (a Dask worker, a pool's helper)
        except ProcessLookupError:
            pass
        out.seek(0)
        err.seek(0)
        return {
            "ended": ended,
            "wall": ended - begin,
            "code": code,
            "killed": killed.is_set(),
            "stdout": out.read(),
            "stderr": err.read(),
        }


def dotflow_command() -> list[str]:
    """``dotflow``: the console script beside this interpreter, else the CLI through ``python -c``."""
    found = shutil.which("dotflow", path=os.path.dirname(sys.executable))
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from dotflow.cli import main; sys.argv[0] = 'dotflow'; sys.exit(main())"]


def has_dask() -> bool:
    return importlib.util.find_spec("distributed") is not None


def spread(values: list[float]) -> dict[str, Any]:
    return {"median": median(values), "min": min(values), "max": max(values), "runs": values}


# -- heartbeats --------------------------------------------------------------------------------------


def heartbeats(fault: ModuleType, steps_dir: str, rounds: int, old_python: str | None) -> dict[str, Any]:
    """Each run of ``RUNS`` in each of ``VARIANTS``, round by round, the variants in a rotating order."""
    servers = {1: fault.FaultServer("healthy", protocol=1).start(), 2: fault.FaultServer("healthy", protocol=2).start()}
    pythons = {"new": sys.executable, "old": old_python}
    found: dict[str, Any] = {}
    try:
        for name, tasks, kind, with_old, figures in RUNS:
            chosen = [v for v in VARIANTS if pythons[v[1]] and (with_old or v[1] != "old")]
            runs: dict[str, list[dict[str, float]]] = {v[0]: [] for v in chosen}
            for index in range(rounds):
                turn = index % len(chosen)
                for label, which, protocol, extra in chosen[turn:] + chosen[:turn]:
                    python = pythons[which]
                    assert python is not None
                    made = managed_run(servers[protocol], python, steps_dir, tasks, kind, extra, f"{name} {label}")
                    runs[label].append(made)
                    servers[protocol].clear()
            for figure in figures:
                per_task = figure == "start" and kind == "noop"
                result: dict[str, Any] = {
                    "tasks": tasks,
                    "kind": kind,
                    "unit": "µs/task" if per_task else "s",
                    "rounds": rounds,
                }
                for label, made in runs.items():
                    values = [r[figure] / tasks * 1e6 if per_task else r[figure] for r in made]
                    result[label] = {**spread(values), "heartbeats": [int(r["heartbeats"]) for r in made]}
                quartiles = statistics.quantiles(result["v1"]["runs"], n=4, method="inclusive")
                noise = quartiles[2] - quartiles[0]
                result["noise"] = noise
                for label in COMPARED:
                    difference = result[label]["median"] - result["v1"]["median"]
                    result[label].update(
                        difference=difference,
                        paired=[b - a for a, b in zip(result["v1"]["runs"], result[label]["runs"])],
                        within_noise=abs(difference) <= noise,
                    )
                found[f"{name}-{figure}"] = result
    finally:
        for server in servers.values():
            server.stop()
    return found


def managed_run(
    server: Any, python: str, steps_dir: str, tasks: int, kind: str, extra: dict[str, str], label: str
) -> dict[str, float]:
    """One ``python liveness_steps.py TASKS KIND`` in managed mode: start(), wall, heartbeats received."""
    workflow_id = str(uuid.uuid4())
    env = child_env(
        python,
        SERVER_BASE_URL=server.url,
        SERVER_USER_TOKEN=TOKEN,
        WORKFLOW_ID=workflow_id,
        DOTFLOW_SERVER_HEARTBEAT_INTERVAL=str(HEARTBEAT_INTERVAL),
        **extra,
    )
    run = run_child([python, f"{STEPS_MODULE}.py", str(tasks), kind], cwd=steps_dir, env=env)
    if run["code"] != 0:
        sys.exit(f"heartbeats {label}: exited {run['code']}; stderr: {run['stderr'][-1500:]}")
    completed = sum(1 for status in server.final_statuses(workflow_id).values() if status == "Completed")
    if completed != tasks:
        sys.exit(f"heartbeats {label}: {completed} of {tasks} Completed statuses delivered")
    return {
        "start": json.loads(run["stdout"].splitlines()[-1])["start_s"],
        "wall": run["wall"],
        "heartbeats": len(server.heartbeats(workflow_id)),
    }


def describe_heartbeats(found: dict[str, Any]) -> list[str]:
    labels = {
        "500-noop-start": "500 no-op tasks: start() µs/task",
        "500-noop-wall": "500 no-op tasks: whole process s",
        "20-noop-wall": "20 no-op tasks: whole process s",
        "8-busy-start": f"8 steps x {BUSY_S:g} s CPU: start() s",
    }
    header = (
        "run (rounds)",
        "dotflow 1.0.1",
        "version 1",
        "version 2 (auto)",
        "version 2 (forced)",
        "beats auto/forced",
        "auto - v1",
        "forced - v1",
        "noise (v1 IQR)",
        "verdict",
    )
    rows = []
    for name, res in found.items():
        digits = 1 if res["unit"] == "µs/task" else 3

        def cell(label: str) -> str:
            if label not in res:
                return "-"
            v = res[label]
            return f"{v['median']:.{digits}f} [{v['min']:.{digits}f}-{v['max']:.{digits}f}]"

        def diff(label: str) -> str:
            value = res[label]["difference"]
            base = res["v1"]["median"]
            return f"{value:+.{digits}f} ({value / base * 100 if base else float('nan'):+.1f} %)"

        beats = "/".join(f"{median(res[label]['heartbeats']):g}" for label in COMPARED)
        verdict = "within noise" if all(res[label]["within_noise"] for label in COMPARED) else "ABOVE noise"
        rows.append(
            (
                f"{labels.get(name, name)} ({res['rounds']})",
                cell("1.0.1"),
                cell("v1"),
                cell("v2"),
                cell("v2-forced"),
                beats,
                diff("v2"),
                diff("v2-forced"),
                f"{res['noise']:.{digits}f}",
                verdict,
            )
        )
    title = (
        "heartbeats: managed runs against a healthy (Nagle-on) fault server, beats every 1 s; median [min-max] of the "
        "rounds; version 1: a version 1 server; version 2 (auto): a version 2 server; (forced): the same with "
        "DOTFLOW_SERVER_PROTOCOL=2; beats: median heartbeats received per run"
    )
    notes = []
    for label, why in (
        ("v2", "auto knows version 2 only from the server's first answer, which came after the run ended"),
        ("v2-forced", "the final status was queued before the heartbeat thread sent its first beat (none after it)"),
    ):
        short = [labels.get(name, name) for name, res in found.items() if 0 in res[label]["heartbeats"]]
        if short:
            notes.append(f"  {label}: runs with no heartbeat at all ({'; '.join(short)}): {why}")
    return [title, *table(header, rows), *notes]


# -- cancel ------------------------------------------------------------------------------------------


def cancel(fault: ModuleType, steps_dir: str, runs: int, executors: list[str]) -> dict[str, Any]:
    """``dotflow start`` of a stubborn step, cancelled by the answer to its second heartbeat, per executor."""
    found: dict[str, Any] = {}
    command = dotflow_command()
    for executor in executors:
        if executor == "dask" and not has_dask():
            found[executor] = {"skipped": "distributed is not installed: pip install 'dotflow[dask]'"}
            continue
        attempts = []
        for _ in range(runs):
            workflow_id = str(uuid.uuid4())
            with fault.FaultServer("healthy", protocol=2, cancel_after=CANCEL_AFTER, cancel_grace=GRACE) as server:
                env = child_env(
                    sys.executable,
                    SERVER_BASE_URL=server.url,
                    SERVER_USER_TOKEN=TOKEN,
                    WORKFLOW_ID=workflow_id,
                    DOTFLOW_SERVER_HEARTBEAT_INTERVAL=str(HEARTBEAT_INTERVAL),
                )
                cmd = [*command, "start", "--workflow", f"{STEPS_MODULE}:stubborn_flow", "--executor", executor]
                run = run_child(cmd, cwd=steps_dir, env=env)
                beats = server.heartbeats(workflow_id)
                reports = [
                    r.at
                    for r in server.requests()
                    if r.route == "workflow"
                    and r.workflow_id == workflow_id
                    and isinstance(r.body, dict)
                    and r.body.get("status") == "Cancelled"
                ]
                finals = server.final_statuses(workflow_id)
            cancelling = beats[CANCEL_AFTER - 1] if len(beats) >= CANCEL_AFTER else None
            answered = None if cancelling is None else cancelling.at
            attempts.append(
                {
                    "code": run["code"],
                    "killed": run["killed"],
                    "answer_to_exit_s": None if answered is None else run["ended"] - answered,
                    "answer_to_report_s": None if answered is None or not reports else reports[0] - answered,
                    "running_at_beat": cancelling is not None
                    and isinstance(cancelling.body, dict)
                    and bool(cancelling.body.get("running")),
                    "final": sorted(finals.values()),
                    "traceback": "Traceback" in run["stderr"],
                    "stderr_last": run["stderr"].strip().splitlines()[-1][:300] if run["stderr"].strip() else "",
                }
            )
        exits = [a["answer_to_exit_s"] for a in attempts if a["answer_to_exit_s"] is not None]
        found[executor] = {
            "grace_s": GRACE,
            "limit_s": GRACE + 1,
            "answer_to_exit_s": median(exits) if exits else None,
            "answer_to_exit_max_s": max(exits) if exits else None,
            "exit_codes": [a["code"] for a in attempts],
            "stubborn": all(a["running_at_beat"] for a in attempts),  # the step ran when the cancel came
            "attempts": attempts,
        }
    return found


def describe_cancel(found: dict[str, Any], runs: int) -> list[str]:
    header = (
        "executor",
        "grace s",
        "answer -> exit s",
        "answer -> Cancelled report s",
        "limit (grace + 1) s",
        "exit codes",
        "verdict",
    )
    rows = []
    notes = []
    for executor, res in found.items():
        if "skipped" in res:
            rows.append((executor, "-", "skipped", "-", "-", "-", res["skipped"]))
            continue
        attempts = res["attempts"]
        exits = [a["answer_to_exit_s"] for a in attempts]
        shown = " ".join("-" if e is None else f"{e:.3f}" for e in exits)
        reports = " ".join(
            "-" if a["answer_to_report_s"] is None else f"{a['answer_to_report_s']:.3f}" for a in attempts
        )
        ok = all(e is not None and e <= res["limit_s"] for e in exits) and set(res["exit_codes"]) == {3}
        verdict = ("pass" if ok else "FAIL") if res["stubborn"] else "INVALID (the step was not running)"
        rows.append(
            (
                executor,
                f"{res['grace_s']:g}",
                shown,
                reports,
                f"{res['limit_s']:g}",
                " ".join(str(c) for c in res["exit_codes"]),
                verdict,
            )
        )
        if any(a["traceback"] for a in attempts):
            last = next(a["stderr_last"] for a in attempts if a["traceback"])
            count = sum(a["traceback"] for a in attempts)
            notes.append(f"  {executor}: stderr held a traceback in {count} run(s), ending: {last}")
        if not all(a["running_at_beat"] for a in attempts):
            notes.append(
                f"  {executor}: in some runs the cancelling heartbeat named no running task (no stubborn step)"
            )
        if any(a["final"] != ["Cancelled"] for a in attempts):
            notes.append(f"  {executor}: final task statuses {[a['final'] for a in attempts]}")
    title = (
        f"cancel: dotflow start, a step sleeping 60 s that never reads the flag, cancelled in the answer to heartbeat "
        f"{CANCEL_AFTER} (grace {GRACE} s); {runs} runs each, from the answer (the server's clock = this process's)"
    )
    return [title, *table(header, rows), *notes]


# -- cooperative -------------------------------------------------------------------------------------


def cooperative(steps: ModuleType, tmp: str, rounds: dict[str, int], executors: list[str]) -> dict[str, Any]:
    """A library run's step that polls the flag: from ``cancel()`` to the step seeing it, per executor."""
    from dotflow import DotFlow

    found: dict[str, Any] = {}
    pauses = random.Random(7)
    os.environ["LIVENESS_BOUND"] = str(STEP_BOUND)
    for executor in executors:
        if executor == "dask" and not has_dask():
            found[executor] = {"skipped": "distributed is not installed: pip install 'dotflow[dask]'"}
            continue
        latencies: list[float] = []
        problem = None
        for index in range(rounds[executor]):
            mark = os.path.join(tmp, f"began-{executor}-{index}")
            os.environ["LIVENESS_MARK"] = mark  # a process worker and a Dask worker take the driver's environment
            flow = DotFlow()
            flow.task.add(step=steps.cooperative)
            manager = flow.start(mode="background", executor=executor)
            deadline = time.monotonic() + BEGIN_LIMIT
            while not os.path.exists(mark) and not manager.done and time.monotonic() < deadline:
                time.sleep(0.005)
            # out of phase with the step's 10 ms poll: cancelling right as it begins would always land at one point
            time.sleep(pauses.uniform(0.05, 0.15))
            before = time.time()
            manager.cancel("bench", grace=30)
            if not manager.wait(STEP_BOUND + 40):
                problem = "the run did not end within 43 s of the cancel"
                break
            task = flow.result_task()[0]
            result = task.current_context.storage if task.has_result else None
            if not os.path.exists(mark) or not isinstance(result, dict):
                problem = f"the step did not run (task {task.status}, result {result!r})"
                break
            if result["seen"] is None:
                how = "no run context in the worker" if not result["context"] else "the flag never reached the step"
                problem = f"not supported on this build ({how} within {STEP_BOUND:g} s)"
                break
            latencies.append(result["seen"] - before)
        entry: dict[str, Any] = {"rounds": len(latencies), "limit_s": COOPERATIVE_LIMIT, "problem": problem}
        if latencies:
            entry.update(median_s=median(latencies), max_s=max(latencies), runs=latencies)
        found[executor] = entry
    return found


def describe_cooperative(found: dict[str, Any]) -> list[str]:
    header = ("executor", "rounds", "cancel() -> step sees the flag, ms: median", "max", "limit ms", "verdict")
    rows = []
    for executor, res in found.items():
        if "skipped" in res:
            rows.append((executor, "-", "skipped", "-", "-", res["skipped"]))
            continue
        if res["problem"] is not None:
            rows.append((executor, str(res["rounds"]), "-", "-", f"{COOPERATIVE_LIMIT * 1000:g}", res["problem"]))
            continue
        ok = res["max_s"] <= COOPERATIVE_LIMIT
        rows.append(
            (
                executor,
                str(res["rounds"]),
                f"{res['median_s'] * 1000:.1f}",
                f"{res['max_s'] * 1000:.1f}",
                f"{COOPERATIVE_LIMIT * 1000:g}",
                "pass" if ok else "FAIL",
            )
        )
    title = (
        "cooperative: a library run (background) whose step polls current_task().cancel_requested() every 10 ms; "
        "manager.cancel(grace=30)"
    )
    return [title, *table(header, rows)]


# -- output ------------------------------------------------------------------------------------------


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.extend("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", action="append", choices=FIGURES, help="run only this one; repeatable")
    parser.add_argument("--executor", action="append", choices=EXECUTORS, help="cancel and cooperative: only this one")
    parser.add_argument("--rounds", type=int, default=7, help="heartbeats rounds (cancel: half, at least 2)")
    parser.add_argument("--python-101", default=None, help="dotflow 1.0.1's python, for the heartbeats figure")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    wanted = args.figure or list(FIGURES)
    executors = args.executor or list(EXECUTORS)
    old_python = args.python_101
    if old_python and not os.access(old_python, os.X_OK):
        sys.exit(f"--python-101 {old_python!r} is not an executable")
    fault = load_fault_server()
    import dotflow

    version = dotflow_version()
    print(f"dotflow {version} from {os.path.dirname(dotflow.__file__)}, python {sys.version.split()[0]}", flush=True)
    if old_python:
        print(f"dotflow 1.0.1: {old_python}", flush=True)
    result: dict[str, Any] = {"figure": "liveness", "version": version, "python": sys.version.split()[0]}
    scrub_environ()  # the library runs here see no profile and no server
    with temp_cwd() as tmp:
        with open(os.path.join(tmp, f"{STEPS_MODULE}.py"), "w") as f:
            f.write(STEPS)
        sys.path.insert(0, tmp)
        steps = __import__(STEPS_MODULE)
        if "heartbeats" in wanted:
            found = heartbeats(fault, tmp, rounds, old_python)
            result["heartbeats"] = found
            print("\n".join(describe_heartbeats(found)), flush=True)
        if "cancel" in wanted:
            runs = max(2, rounds // 2)
            found = cancel(fault, tmp, runs, executors)
            result["cancel"] = found
            print("\n".join(describe_cancel(found, runs)), flush=True)
        if "cooperative" in wanted:
            per = {"thread": max(3, rounds + 3), "process": max(3, rounds), "dask": max(2, rounds // 2)}
            found = cooperative(steps, tmp, per, executors)
            result["cooperative"] = found
            print("\n".join(describe_cooperative(found)), flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load:
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    result["load"] = load
    emit(result)


if __name__ == "__main__":
    main()
