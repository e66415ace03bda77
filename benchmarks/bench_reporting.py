"""Status reporting in managed mode: whole-process wall time and statuses delivered, against a local fault server.

Usage: python bench_reporting.py [--scenario NAME ...] [--quick]

Each measurement spawns a fresh ``python pipeline.py N MODE``: a plain ``DotFlow()`` with N
no-op tasks, ``flow.start(mode=MODE)`` timed inside the child (``start_s``), then a normal
exit, so this repo's exit-time flush of pending reports is part of the process time. The
child's environment is PATH and HOME plus ``SERVER_BASE_URL`` (the fault server),
``SERVER_USER_TOKEN`` and a fresh uuid4 ``WORKFLOW_ID``: managed mode, which both dotflow
1.0.1 and this repo switch on from those variables. stderr is discarded (1.0.1 logs three
lines per task). The figure is the wall time from spawn to exit; a child still running after
its cap (180 s; 300 s for 20,000 tasks, 90 s for the slow and black-hole servers, 60 s in
parallel mode) is killed, with its whole process
group (1.0.1's parallel mode deadlocks at 500 tasks: it joins its forked workers before
draining the queue they write to), and its wall reported as the cap, a lower bound, with
``killed: true``.

The server is ``tests/fault_server.py``, started for every run as a separate process (its
own GIL, like a real backend) with this interpreter; it serves under ``/api/v1``. Modes used:
``healthy`` (keep-alive, Nagle on: headers and body leave in two writes, which stalls a
keep-alive client's every answer ~40 ms), ``nodelay`` (TCP_NODELAY), ``slow`` (each answer
2 s late) and ``blackhole`` (accepts, never answers). 0.3 s after the child exits, the
server's record of that run is summarised: tasks whose last status answered 2xx is
Completed or Failed ("terminal delivered"), whether the workflow's last such status is
Completed, and the number of requests. ``5-no-server`` (no server variables at all) is the
baseline ``start_s`` for ``5-slow``, and runs whenever ``5-slow`` does.

Scenarios (tasks, mode, server, repeats): see ``SCENARIOS``. ``--quick`` halves the repeats.
Last line: JSON ``{"figure": "reporting", "version", "scenarios": {NAME: {"tasks", "mode",
"server", "wall_s", "walls", "start_s", "terminal_delivered", "workflow_final", "requests",
"killed", ...}}}``; ``5-slow`` also has ``baseline_start_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from _common import check_installed, clean_env, dotflow_version, emit, load_fault_server, median, temp_cwd, watched_run

TOKEN = "bench-token"
BASE_PATH = "/api/v1"
SETTLE_S = 0.3  # after the child exits, before reading the server's record
READY_S = 15.0  # for the server's first line
TERMINAL = ("Completed", "Failed")

PIPELINE = """\
import json
import sys
import time

from dotflow import DotFlow, action


@action
def noop():
    pass


tasks, mode = int(sys.argv[1]), sys.argv[2]
flow = DotFlow()
for _ in range(tasks):
    flow.task.add(step=noop)
begin = time.perf_counter()
flow.start(mode=mode)
print(json.dumps({"start_s": time.perf_counter() - begin}), flush=True)
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    tasks: int
    mode: str  # the pipeline's start(mode=...)
    server: str | None  # fault_server.py MODE; None: no server variables at all
    repeats: int
    limit: float = 180.0  # watchdog, seconds per process
    delay: float | None = None  # fault_server.py --delay


SCENARIOS = [
    Scenario("20-nagle", 20, "sequential", "healthy", 5),
    Scenario("20-nodelay", 20, "sequential", "nodelay", 5),
    Scenario("500-nagle", 500, "sequential", "healthy", 3),
    # 1.0.1 deadlocks here (see the docstring): its run is killed at the cap, a lower bound
    Scenario("500-nagle-parallel", 500, "parallel", "healthy", 1, limit=60.0),
    Scenario("5000-nodelay", 5000, "sequential", "nodelay", 3),
    Scenario("5000-nagle", 5000, "sequential", "healthy", 3),
    # the adversarial trial's case: every terminal status within the default 10 s flush
    Scenario("20000-nagle", 20000, "sequential", "healthy", 1, limit=300.0),
    Scenario("5-no-server", 5, "sequential", None, 3),
    Scenario("5-slow", 5, "sequential", "slow", 3, limit=90.0, delay=2.0),
    Scenario("5-blackhole", 5, "sequential", "blackhole", 1, limit=90.0),
]
BASELINE_FOR = {"5-slow": "5-no-server"}


class FaultServer:
    """One ``fault_server.py MODE`` child; it exits when its stdin closes, or on SIGTERM."""

    def __init__(self, script: str, mode: str, delay: float | None, cwd: str) -> None:
        cmd = [sys.executable, script, mode, "--base-path", BASE_PATH]
        if delay is not None:
            cmd += ["--delay", str(delay)]
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], READY_S)
        line = self.proc.stdout.readline() if ready else b""
        try:
            info = json.loads(line)
            self.url: str = info["url"]
            self.port: int = int(info["port"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            got = f"got {line[:200]!r}, exit code {self.proc.poll()}"
            sys.exit(f"{' '.join(cmd)}: no JSON line within {READY_S:g} s ({got})")

    def stop(self) -> None:
        for close in (self.proc.stdin, self.proc.stdout):
            if close is not None:
                close.close()
        for end in (None, self.proc.terminate, self.proc.kill):
            if end is not None:
                end()
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def run_once(sc: Scenario, tmp: str, pipeline: str, fault: ModuleType) -> dict[str, Any]:
    """One child process of ``sc``: its wall, start_s, and what the server got from it."""
    server = FaultServer(fault.__file__, sc.server, sc.delay, tmp) if sc.server else None
    workflow_id = str(uuid.uuid4())
    env = (
        clean_env(SERVER_BASE_URL=server.url, SERVER_USER_TOKEN=TOKEN, WORKFLOW_ID=workflow_id)
        if server
        else clean_env()
    )
    cmd = [sys.executable, pipeline, str(sc.tasks), sc.mode]
    try:
        with tempfile.TemporaryFile("w+") as out:
            wall, code, killed = watched_run(cmd, cwd=tmp, env=env, limit=sc.limit, stdout=out, own_group=True)
            out.seek(0)
            lines = out.read().splitlines()
        if code != 0 and not killed:
            sys.exit(f"{sc.name}: {' '.join(cmd)} exited {code}")
        start_s = json.loads(lines[-1])["start_s"] if lines else None
        if start_s is None and not killed:
            sys.exit(f"{sc.name}: {' '.join(cmd)} printed no start_s")
        run: dict[str, Any] = {"wall": sc.limit if killed else wall, "start_s": start_s, "killed": killed}
        if server:
            time.sleep(SETTLE_S)
            summary = fault.summarize(fault.fetch_record(server.port), workflow_id=workflow_id)
            statuses = list(summary["workflow"])
            run.update(
                delivered=sum(summary["final"].get(status, 0) for status in TERMINAL),
                final=dict(summary["final"]),
                workflow=statuses,
                workflow_final=bool(statuses) and statuses[-1] == "Completed",
                requests=summary["requests"],
            )
    finally:
        if server:
            server.stop()
    return run


def scenario_result(sc: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall"] for r in runs]
    starts = [r["start_s"] for r in runs if r["start_s"] is not None]
    result: dict[str, Any] = {
        "tasks": sc.tasks,
        "mode": sc.mode,
        "server": sc.server or "none",
        "limit_s": sc.limit,
        "wall_s": round(median(walls), 4),
        "walls": [round(w, 4) for w in walls],
        "start_s": round(median(starts), 6) if starts else None,
        "killed": any(r["killed"] for r in runs),
        "terminal_delivered": None,
        "workflow_final": None,
        "requests": None,
    }
    if sc.server:
        result.update(
            terminal_delivered=min(r["delivered"] for r in runs),  # the worst run
            delivered_runs=[r["delivered"] for r in runs],
            workflow_final=all(r["workflow_final"] for r in runs),
            requests=median([r["requests"] for r in runs]),
            requests_runs=[r["requests"] for r in runs],
            final=runs[-1]["final"],
            workflow_statuses=runs[-1]["workflow"],
        )
    return result


def describe(name: str, res: dict[str, Any]) -> str:
    walls = " ".join(f"{w:.3f}" for w in res["walls"])
    text = f"{name:19} wall {res['wall_s']:8.3f} s [{walls}]"
    if res["killed"]:
        text += f" (killed at {res['limit_s']:g} s: a lower bound)"
    start = res["start_s"]
    text += "  start() " + ("-" if start is None else f"{start * 1000:.1f} ms")
    if "baseline_start_s" in res and res["baseline_start_s"] is not None:
        text += f" (no server {res['baseline_start_s'] * 1000:.1f} ms)"
    if res["server"] != "none":
        last = res["workflow_statuses"][-1] if res["workflow_statuses"] else "none"
        text += (
            f"  terminal delivered {res['terminal_delivered']}/{res['tasks']}  workflow last {last}"
            f"  requests {res['requests']:g}  final {res['final']}"
        )
    return text


def main() -> None:
    names = [sc.name for sc in SCENARIOS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=names, help="run only this one; repeatable")
    parser.add_argument("--quick", action="store_true", help="half the repeats (rounded up)")
    args = parser.parse_args()
    wanted = set(args.scenario or names)
    wanted.update(BASELINE_FOR[name] for name in list(wanted) if name in BASELINE_FOR)
    chosen = [sc for sc in SCENARIOS if sc.name in wanted]
    fault = load_fault_server()
    version = dotflow_version()
    results: dict[str, dict[str, Any]] = {}
    with temp_cwd() as tmp:
        check_installed()
        pipeline = os.path.join(tmp, "pipeline.py")
        with open(pipeline, "w") as f:
            f.write(PIPELINE)
        # untimed warm-up: file caches, the pipeline's first compile
        run_once(Scenario("warm-up", 5, "sequential", None, 1, limit=60.0), tmp, pipeline, fault)
        print(f"dotflow {version}, python {sys.version.split()[0]}: {sys.executable}", flush=True)
        for sc in chosen:
            repeats = (sc.repeats + 1) // 2 if args.quick else sc.repeats
            runs = [run_once(sc, tmp, pipeline, fault) for _ in range(max(1, min(repeats, 20)))]
            results[sc.name] = scenario_result(sc, runs)
            if sc.name in BASELINE_FOR:
                results[sc.name]["baseline_start_s"] = results[BASELINE_FOR[sc.name]]["start_s"]
            print(describe(sc.name, results[sc.name]), flush=True)
    emit({"figure": "reporting", "version": version, "python": sys.version.split()[0], "scenarios": results})


if __name__ == "__main__":
    main()
