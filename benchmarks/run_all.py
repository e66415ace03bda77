"""Run every benchmark against dotflow 1.0.1 and this repo in one session, and print one table.

Run: ``python3 benchmarks/run_all.py`` (from anywhere; several minutes, most of them the reporting
figure, whose slow and black-hole servers keep 1.0.1 busy for a minute or more; every step bounded).

It first runs ``setup_venvs.sh`` (``.venv-101``: ``dotflow==1.0.1`` from PyPI; ``.venv-new``:
this repo's working tree, reinstalled each time). Then:

* start-up figures (import, CLI) time child processes that alternate between the two
  interpreters round by round, so noise on the machine hits both alike;
* in-process figures (per-task overhead, memory) run each script under each venv's
  python in turn; the overhead alternates venvs for ``ROUNDS`` rounds;
* reporting (managed mode against ``tests/fault_server.py``) runs ``bench_reporting.py``
  under 1.0.1's python, then under this repo's: whole child processes, one per run;
* executors: the CPU-bound runs alternate venvs series by series (``CPU_ROUNDS``); the others
  (no-op parallel runs, thread pool, small workflows in a fresh process) run
  ``bench_executors.py`` under 1.0.1's python, then under this repo's;
* ``bench_profiles.py`` (this repo only), if present, is run and its median row shown;
* liveness (runner protocol version 2) runs ``bench_liveness.py`` under this repo's python, with
  1.0.1's python for its managed runs' 1.0.1 column: what heartbeats cost a managed run, how long
  a cancelled ``dotflow start`` takes to exit, how fast a cooperative step sees the flag;
* live logs (runner protocol version 2): ``bench_logs.py`` runs under this repo's python, its
  children under this repo's and, for the 50,000-line step's 1.0.1 column, under 1.0.1's.

Every script starts with PATH and HOME only. Each script's own output is echoed; the
table comes last, with the machine line. A script that fails marks its rows ``error``
and the run goes on.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
OLD = os.path.join(HERE, ".venv-101", "bin")
NEW = os.path.join(HERE, ".venv-new", "bin")
OLD_PY, NEW_PY = os.path.join(OLD, "python"), os.path.join(NEW, "python")
TIMEOUT = 240  # seconds, per script
# bench_reporting.py, per venv: ~4 min under 1.0.1 here; its children are capped (180 s each, 90 s for the slow
# and black-hole servers), so a hung run costs minutes, not the whole session
REPORTING_TIMEOUT = 1800
ROUNDS = 3  # overhead rounds per venv, alternating
CPU_ROUNDS = 4  # CPU-bound series per venv, alternating (3 runs of each variant per series)
# bench_liveness.py: ~3 min here (the CPU-bound heartbeat runs, 3 executors x (cancel + cooperative)); children capped
LIVENESS_TIMEOUT = 900
# bench_logs.py: ~5 min here, most of it the memory figure's 200 MB runs under a dead logs endpoint
LOGS_TIMEOUT = 1500
# No DOTFLOW_*/SERVER_*/WORKFLOW_ID, and no PYTHON* (PYTHONDONTWRITEBYTECODE would slow every start-up).
CLEAN_ENV = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}


class ScriptFailed(Exception):
    pass


# A row: figure, 1.0.1 value, this repo's value, target text, rule.
# rule: None (informative), a float (ratio must be <= it), ("abs", limit) (this repo's value <= limit)
# or ("min", limit) (this repo's value >= limit).
Row = tuple[str, Any, Any, str, Any]


def sh(cmd: list[str], *, label: str, timeout: float = TIMEOUT) -> list[str]:
    """Run one benchmark script from a temp dir; echo its stdout; return its stdout lines."""
    print(f"$ {' '.join(os.path.relpath(c) if c.startswith(HERE) else c for c in cmd)}", flush=True)
    with tempfile.TemporaryFile("w+") as err:  # 1.0.1 logs three lines per task to stderr
        try:
            done = subprocess.run(
                cmd,
                cwd=tempfile.gettempdir(),
                env=CLEAN_ENV,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ScriptFailed(f"{label}: timed out after {timeout:g} s") from exc
        err.seek(0)
        tail = err.read()[-2000:]
    lines = done.stdout.rstrip("\n").splitlines()
    for line in lines[:-1] if done.returncode == 0 else lines:
        print(f"    {line}")
    if done.returncode != 0:
        raise ScriptFailed(f"{label}: exited {done.returncode}; stderr tail:\n{tail}")
    return lines


def last_json(lines: list[str]) -> dict[str, Any]:
    return json.loads(lines[-1])


def script(name: str) -> str:
    return os.path.join(HERE, name)


def figure_import() -> list[Row]:
    res = last_json(
        sh(
            [sys.executable, script("bench_import.py"), "-n", "30", "--python", OLD_PY, "--python", NEW_PY],
            label="bench_import",
        )
    )["results"]
    return [
        (
            "import dotflow, ms (minus python -c pass)",
            res[OLD_PY]["net_ms"],
            res[NEW_PY]["net_ms"],
            "ratio <= 1/8",
            1 / 8,
        )
    ]


def figure_overhead() -> list[Row]:
    runs: dict[str, list[float]] = {OLD_PY: [], NEW_PY: []}
    for _ in range(ROUNDS):
        for py in (OLD_PY, NEW_PY):
            out = last_json(sh([py, script("bench_overhead.py"), "-t", "2000", "-r", "5"], label="bench_overhead"))
            runs[py].extend(out["runs_us_per_task"])
    return [
        (
            "sequential overhead, µs/task (2,000 no-op tasks)",
            statistics.median(runs[OLD_PY]),
            statistics.median(runs[NEW_PY]),
            "ratio <= 1/4",
            1 / 4,
        )
    ]


def figure_memory() -> list[Row]:
    mem = {
        py: last_json(sh([py, script("bench_memory.py"), "-t", "10000"], label="bench_memory"))
        for py in (OLD_PY, NEW_PY)
    }
    return [
        (
            "memory, tracemalloc B/task (10,000 tasks)",
            mem[OLD_PY]["tracemalloc_b_per_task"],
            mem[NEW_PY]["tracemalloc_b_per_task"],
            "<= 512 B/task",
            ("abs", 512),
        ),
        ("memory, RSS B/task (10,000 tasks)", mem[OLD_PY]["rss_b_per_task"], mem[NEW_PY]["rss_b_per_task"], "-", None),
    ]


def figure_cli() -> list[Row]:
    old, new = os.path.join(OLD, "dotflow"), os.path.join(NEW, "dotflow")
    res = last_json(
        sh([sys.executable, script("bench_cli.py"), "-n", "20", "--dotflow", old, "--dotflow", new], label="bench_cli")
    )["results"]
    return [("dotflow start --step noopmod.noop, ms", res[old]["ms"], res[new]["ms"], "ratio <= 1/3", 1 / 3)]


def figure_reporting() -> list[Row]:
    """bench_reporting.py under 1.0.1, then under this repo: whole-process wall and statuses delivered."""
    res = {
        py: last_json(sh([py, script("bench_reporting.py")], label="bench_reporting", timeout=REPORTING_TIMEOUT))[
            "scenarios"
        ]
        for py in (OLD_PY, NEW_PY)
    }
    old, new = res[OLD_PY], res[NEW_PY]

    def wall(name: str, figure: str, target: str, rule: Any) -> Row:
        return (figure, old[name]["wall_s"], new[name]["wall_s"], target, rule)

    def delivered(name: str, figure: str, informative: bool = False) -> Row:
        tasks = new[name]["tasks"]
        rule = None if informative else ("min", tasks)
        target = "-" if informative else f"= {tasks:,}"
        return (figure, old[name]["terminal_delivered"], new[name]["terminal_delivered"], target, rule)

    # start() under a server answering in 2 s vs the no-server start(): ms-scale values, so 10 % plus 5 ms of noise
    base_ms = (new["5-slow"]["baseline_start_s"] or float("nan")) * 1000  # nan: no baseline, so the row fails
    limit_ms = base_ms * 1.1 + 5
    slow_start = [None if r["5-slow"]["start_s"] is None else r["5-slow"]["start_s"] * 1000 for r in (old, new)]
    killed = [
        f"{label} {name} at {r[name]['limit_s']:g} s"
        for label, r in (("1.0.1", old), ("this repo", new))
        for name in r
        if r[name]["killed"]
    ]
    if killed:
        NOTES.append(f"reporting: killed by the watchdog, wall shown is the cap (a lower bound): {'; '.join(killed)}")
    NOTES.append(
        "reporting: requests per run (1.0.1 / this repo): "
        + ", ".join(
            f"{name} {old[name]['requests']:g}/{new[name]['requests']:g}"
            for name in new
            if name in old and new[name]["requests"] is not None
        )
    )
    NOTES.append(
        "reporting: workflow's last delivered status Completed (1.0.1 / this repo): "
        + ", ".join(
            f"{name} {old[name]['workflow_final']}/{new[name]['workflow_final']}"
            for name in new
            if name in old and new[name]["workflow_final"] is not None
        )
    )
    return [
        wall("20-nagle", "20 tasks, Nagle-on server, whole process s", "ratio <= 1", 1.0),
        wall("20-nodelay", "20 tasks, TCP_NODELAY server, whole process s", "ratio <= 1", 1.0),
        wall("500-nagle", "500 tasks, Nagle-on server, whole process s", "ratio <= 1/2", 1 / 2),
        delivered("500-nagle", "500 tasks, Nagle-on: terminal statuses delivered"),
        wall("5000-nodelay", "5,000 tasks, TCP_NODELAY server, whole process s", "ratio <= 1/3", 1 / 3),
        delivered("5000-nodelay", "5,000 tasks, TCP_NODELAY: terminal statuses delivered"),
        wall("5000-nagle", "5,000 tasks, Nagle-on server, whole process s", "ratio <= 1/3", 1 / 3),
        delivered("5000-nagle", "5,000 tasks, Nagle-on: terminal statuses delivered"),
        wall("20000-nagle", "20,000 tasks, Nagle-on server, whole process s", "ratio <= 1/3", 1 / 3),
        delivered("20000-nagle", "20,000 tasks, Nagle-on: terminal statuses delivered (flush 10 s)"),
        wall("5-slow", "5 tasks, server answering in 2 s, whole process s", "ratio <= 1/3", 1 / 3),
        (
            "5 tasks, server answering in 2 s: start() ms vs no server",
            slow_start[0],
            slow_start[1],
            f"<= no-server start() {base_ms:.1f} ms x 1.1 + 5 ms = {limit_ms:.1f} ms",
            ("abs", limit_ms),
        ),
        delivered("5-slow", "5 tasks, server answering in 2 s: terminal statuses delivered"),
        wall("5-blackhole", "5 tasks, black hole, whole process s", "<= flush_timeout + 3 s = 13 s", ("abs", 13)),
        delivered("500-nagle-parallel", "500 tasks parallel, Nagle-on: terminal statuses delivered", informative=True),
    ]


def figure_executors() -> list[Row]:
    """bench_executors.py: CPU-bound runs alternating venvs round by round, then the other scenarios per venv.

    The CPU-bound figures compare wall times near the machine's limit (both cores busy), where a
    slow spell of a shared host moves a median by 20 %: so each venv runs ``CPU_ROUNDS`` short
    series in turn, and a variant's figure is the median of all its runs.
    """
    cpu: dict[str, dict[str, list[float]]] = {OLD_PY: {}, NEW_PY: {}}
    for _ in range(CPU_ROUNDS):
        for py in (OLD_PY, NEW_PY):
            found = last_json(
                sh([py, script("bench_executors.py"), "--scenario", "cpu", "-r", "3"], label="bench_executors")
            )
            for name, variant in found["scenarios"]["cpu"].items():
                cpu[py].setdefault(name, []).extend(variant["runs"])
    others = ["--scenario", "noop", "--scenario", "threads", "--scenario", "small"]
    res = {
        py: last_json(sh([py, script("bench_executors.py"), *others, "-r", "5"], label="bench_executors"))["scenarios"]
        for py in (OLD_PY, NEW_PY)
    }
    for py in (OLD_PY, NEW_PY):
        res[py]["cpu"] = {name: {"s": statistics.median(runs)} for name, runs in cpu[py].items()}
    old, new = res[OLD_PY], res[NEW_PY]
    sequential = new["cpu"]["sequential"]["s"]
    threads = new["threads"]
    NOTES.append(
        f"executors: this repo's thread pool, parallel mode: 500 no-op tasks {threads['noop500_us_per_task']:.1f} "
        f"µs/task, 4 steps sleeping 0.2 s {threads['sleep4_s']:.3f} s (max_workers = CPU count); "
        f"4 CPU-bound steps on threads {new['cpu']['parallel']['s']:.3f} s"
    )
    return [
        (
            "4 CPU-bound steps, parallel, executor='process' vs this repo's sequential, s",
            None,
            new["cpu"]["parallel-process"]["s"],
            f"<= 0.6 x sequential ({sequential:.3f} s) = {0.6 * sequential:.3f} s",
            ("abs", 0.6 * sequential),
        ),
        (
            "4 CPU-bound steps, parallel: 1.0.1 (fork per task) vs executor='process', s",
            old["cpu"]["parallel"]["s"],
            new["cpu"]["parallel-process"]["s"],
            "ratio <= 1",
            1.0,
        ),
        (
            "50 no-op tasks, parallel: 1.0.1 vs executor='process' (pool start-up included), ms/task",
            old["noop"]["parallel"]["ms_per_task"],
            new["noop"]["parallel-process"]["ms_per_task"],
            "ratio <= 1/2",
            1 / 2,
        ),
        (
            "50 no-op tasks, parallel, the only run of a fresh process, ms/task",
            old["noop"]["parallel"]["fresh_ms_per_task"],
            new["noop"]["parallel-process"]["fresh_ms_per_task"],
            "-",
            None,
        ),
        (
            "small workflow: 100 no-op tasks in a fresh process, ms",
            old["small"]["ms"],
            new["small"]["ms"],
            "ratio <= 1/2",
            1 / 2,
        ),
    ]


def figure_profiles() -> list[Row]:
    if not os.path.exists(script("bench_profiles.py")):
        return []
    lines = sh([NEW_PY, script("bench_profiles.py")], label="bench_profiles")
    print(f"    {lines[-1]}")
    # it prints its own table, not JSON: show its median row (its last line if there is none)
    medians = [line for line in lines if line.split()[:1] == ["median"]]
    return [("profiles: resolve() µs (bench_profiles.py)", None, " ".join((medians or lines)[-1].split()), "-", None)]


def figure_liveness() -> list[Row]:
    """bench_liveness.py under this repo's python (1.0.1's for the 1.0.1 column of its managed runs)."""
    res = last_json(
        sh(
            [NEW_PY, script("bench_liveness.py"), "--python-101", OLD_PY],
            label="bench_liveness",
            timeout=LIVENESS_TIMEOUT,
        )
    )
    beats, cancel, cooperative = res["heartbeats"], res["cancel"], res["cooperative"]
    rows: list[Row] = []
    for name, figure in (
        ("500-noop-start", "managed, 500 no-op tasks, start() µs/task: 1.0.1 vs version 2 forced, beats every 1 s"),
        ("20-noop-wall", "managed, 20 no-op tasks, whole process s: 1.0.1 vs version 2 forced, beats every 1 s"),
    ):
        rows.append((figure, beats[name]["1.0.1"]["median"], beats[name]["v2-forced"]["median"], "ratio <= 1", 1.0))
    for name, figure in (
        ("500-noop-start", "version 2 forced (beats 1 s) minus version 1, 500 no-op tasks, start() µs/task"),
        ("500-noop-wall", "version 2 forced (beats 1 s) minus version 1, 500 no-op tasks, whole process s"),
        ("20-noop-wall", "version 2 forced (beats 1 s) minus version 1, 20 no-op tasks, whole process s"),
        ("8-busy-start", "version 2 forced (beats 1 s) minus version 1, 8 steps x 0.25 s CPU, start() s"),
    ):
        noise = beats[name]["noise"]
        target = f"<= noise (v1's interquartile range, {beats[name]['rounds']} rounds) = {fmt(noise)}"
        rows.append((figure, None, beats[name]["v2-forced"]["difference"], target, ("abs", noise)))
    order = ("thread", "process", "dask")  # the JSON's keys come sorted
    for executor, found in sorted(cancel.items(), key=lambda item: order.index(item[0])):
        figure = f"cancel, stubborn step, dotflow start --executor {executor}: heartbeat answer to exit s (max)"
        if "skipped" in found:
            rows.append((figure, None, f"skipped: {found['skipped']}", "-", None))
            continue
        codes = set(found["exit_codes"])
        value: Any = found["answer_to_exit_max_s"] if codes == {3} else f"exit codes {sorted(codes)}"
        if not found["stubborn"]:
            value = "invalid: the step was not running when the cancel came"
        limit = found["limit_s"]
        rows.append((figure, None, value, f"<= grace + 1 s = {limit:g} s, exit 3", ("abs", limit)))
    for executor, found in sorted(cooperative.items(), key=lambda item: order.index(item[0])):
        figure = f"cooperative step, executor {executor}: cancel() to the step seeing the flag, ms (max)"
        if "skipped" in found:
            rows.append((figure, None, f"skipped: {found['skipped']}", "-", None))
        elif found["problem"] is not None:
            rows.append((figure, None, found["problem"], f"<= {found['limit_s'] * 1000:g} ms", None))
        else:
            limit_ms = found["limit_s"] * 1000
            rows.append((figure, None, found["max_s"] * 1000, f"<= {limit_ms:g} ms", ("abs", limit_ms)))
    traced = [executor for executor, found in cancel.items() if any(a["traceback"] for a in found.get("attempts", []))]
    if traced:
        NOTES.append(f"liveness: a cancelled dotflow start left a traceback on stderr: --executor {', '.join(traced)}")
    return rows


def figure_logs() -> list[Row]:
    """bench_logs.py: a step's time with logs on and off, latency, delivery, memory under a dead backend."""
    found = last_json(
        sh([NEW_PY, script("bench_logs.py"), "--old-python", OLD_PY], label="bench_logs", timeout=LOGS_TIMEOUT)
    )
    res = found["results"]
    rows: list[Row] = []

    def part(name: str, build: Callable[[dict[str, Any]], list[Row]], figures: list[str]) -> None:
        got = res.get(name) or {"error": "not run"}
        if "error" in got:
            NOTES.append(f"live logs, {name}: {got['error']}")
            rows.extend((figure, "error", "error", "-", ("abs", 0)) for figure in figures)
        else:
            rows.extend(build(got))

    def burst(r: dict[str, Any]) -> list[Row]:
        pipe = r["pipe"]
        off = pipe["logs off"]["step_s"]
        limit = 1.25 * off
        old = pipe.get("1.0.1", {}).get("step_s")
        target = f"<= 1.25 x logs off ({off:.3f} s) = {limit:.3f} s"
        NOTES.append(
            "live logs: the 50,000-line step's stdout is captured by: "
            + ", ".join(f"{name} {entry['stdout']}" for name, entry in pipe.items())
        )
        return [
            (BURST_ROWS[0], old, pipe["logs on"]["step_s"], target, ("abs", limit)),
            (BURST_ROWS[1], old, pipe["v1 backend"]["step_s"], target + " (nothing is sent)", ("abs", limit)),
            (BURST_ROWS[2], old, off, "-", None),
            (BURST_ROWS[3], None, r["devnull"]["logs on"]["step_s"],
             f"- (logs off {r['devnull']['logs off']['step_s']:.3f} s)", None),
        ]

    def cpu(r: dict[str, Any]) -> list[Row]:
        on, off = r["logs on"], r["logs off"]
        return [
            (CPU_ROWS[0], None, r["added_cpu_s"] * 1000,
             f"<= 3 % of the step's CPU ({off['thread_cpu_s']:.3f} s) = {r['added_limit_s'] * 1000:.0f} ms",
             ("abs", r["added_limit_s"] * 1000)),
            (CPU_ROWS[1], None, f"{on['step_s']:.3f} / {off['step_s']:.3f}", "-", None),
            (CPU_ROWS[2], None, f"{on['thread_cpu_s']:.3f} / {off['thread_cpu_s']:.3f}", "-", None),
        ]

    def latency(r: dict[str, Any]) -> list[Row]:
        return [
            (LATENCY_ROWS[0], None, r["p95_s"], "< 1.5 s", ("abs", 1.5)),
            (LATENCY_ROWS[1], None, f"{r['p50_s']:.3f} / {r['max_s']:.3f}", "-", None),
            (LATENCY_ROWS[2], None, r["delivered_min"], f"= {r['expected']}", ("min", r["expected"])),
        ]

    def delivery(r: dict[str, Any]) -> list[Row]:
        return [
            (DELIVERY_ROWS[0], None, r["delivered_min"], f"= {r['expected']:,}", ("min", r["expected"])),
            (DELIVERY_ROWS[1], None, r["seq_problems_max"], "= 0", ("abs", 0)),
            (DELIVERY_ROWS[2], None, r["dropped_max"], "= 0", ("abs", 0)),
            (DELIVERY_ROWS[3], None, f"{r['step_s']:.3f} / {r['wall_s']:.3f} / {r['last_after_step_s']:.3f}", "-",
             None),
        ]

    def memory(r: dict[str, Any]) -> list[Row]:
        base, bound = r["off"]["peak_rss_mb"], r["held_bound_mb"]
        return [
            (MEMORY_ROWS[0], None, r["on"]["peak_rss_mb"],
             f"{r['mb_printed']:,.0f} MB printed: <= protocol 1 {base:.1f} + bound {bound:.1f} + 4 = "
             f"{r['limit_mb']:.1f} MB", ("abs", r["limit_mb"])),
            (MEMORY_ROWS[1], None, r["growth_mb"], "<= 2 MB", ("abs", 2.0)),
        ]

    part("burst", burst, BURST_ROWS)
    part("cpu", cpu, CPU_ROWS)
    part("latency", latency, LATENCY_ROWS)
    part("delivery", delivery, DELIVERY_ROWS)
    part("memory", memory, MEMORY_ROWS)
    NOTES.append(
        "live logs: load average while bench_logs.py ran: "
        + ", ".join(f"{name} {' '.join(f'{v:g}' for v in values)}" for name, values in found["load"].items())
    )
    return rows


BURST_ROWS = [
    "live logs: 50,000-line step, stdout a pipe, logs on (v2 backend), step s",
    "live logs: 50,000-line step, stdout a pipe, v1 backend, step s",
    "live logs: 50,000-line step, stdout a pipe, logs off (DOTFLOW_SERVER_PROTOCOL=1), step s",
    "live logs: 50,000-line step, stdout /dev/null, logs on, step s",
]
CPU_ROWS = [
    "live logs: step computing 5 x ~1 s, a line each: CPU other threads add with logs on, ms",
    "live logs: the same step's wall, logs on / logs off, s",
    "live logs: the same step's thread CPU, logs on / logs off, s",
]
LATENCY_ROWS = [
    "live logs: print() to backend, line every 20 ms for 10 s, p95 s",
    "live logs: print() to backend, p50 / max s",
    "live logs: print() to backend, lines received (worst run)",
]
DELIVERY_ROWS = [
    "live logs: 20,000 lines, Nagle-on backend: step lines delivered (worst run)",
    "live logs: 20,000 lines: seq positions off 1..n (worst run)",
    "live logs: 20,000 lines: dropped (worst run)",
    "live logs: 20,000 lines: step / process / last line after the step, s",
]
MEMORY_ROWS = [
    "live logs: dead logs endpoint: child's peak RSS MB",
    "live logs: dead logs endpoint: peak RSS growth, 1/4 of that printed to all of it, MB",
]


FIGURES: list[tuple[str, Callable[[], list[Row]], list[str]]] = [
    ("import", figure_import, ["import dotflow, ms (minus python -c pass)"]),
    ("per-task overhead", figure_overhead, ["sequential overhead, µs/task (2,000 no-op tasks)"]),
    ("memory", figure_memory, ["memory, tracemalloc B/task (10,000 tasks)"]),
    ("CLI", figure_cli, ["dotflow start --step noopmod.noop, ms"]),
    (
        "reporting (managed mode)",
        figure_reporting,
        [
            "20 tasks, Nagle-on server, whole process s",
            "500 tasks, Nagle-on server, whole process s",
            "5,000 tasks, Nagle-on server, whole process s",
            "5 tasks, server answering in 2 s, whole process s",
            "5 tasks, black hole, whole process s",
        ],
    ),
    (
        "executors",
        figure_executors,
        [
            "4 CPU-bound steps, parallel: 1.0.1 (fork per task) vs executor='process', s",
            "50 no-op tasks, parallel: 1.0.1 vs executor='process' (pool start-up included), ms/task",
            "small workflow: 100 no-op tasks in a fresh process, ms",
        ],
    ),
    ("profiles (this repo only)", figure_profiles, ["profiles: bench_profiles.py"]),
    (
        "liveness (runner protocol version 2)",
        figure_liveness,
        [
            "version 2 forced (beats 1 s) minus version 1, 500 no-op tasks, start() µs/task",
            "cancel, stubborn step, dotflow start: heartbeat answer to exit s",
            "cooperative step: cancel() to the step seeing the flag, ms",
        ],
    ),
    (
        "live logs (runner protocol version 2)",
        figure_logs,
        [BURST_ROWS[0], CPU_ROWS[0], LATENCY_ROWS[0], DELIVERY_ROWS[0], MEMORY_ROWS[0]],
    ),
]
NOTES: list[str] = []


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    py = subprocess.run(
        [NEW_PY, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {py}, "
        f"{datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}{load}"
    )


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if float(value).is_integer() and abs(value) < 100:
        return str(int(value))
    if abs(value) < 1:
        return f"{value:.3f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def verdict(old: Any, new: Any, rule: Any) -> tuple[str, str]:
    numeric = isinstance(old, (int, float)) and isinstance(new, (int, float))
    ratio = new / old if numeric and old else None
    if rule is None:
        result = "-"
    elif isinstance(rule, tuple):
        kind, limit = rule
        ok = isinstance(new, (int, float)) and (new >= limit if kind == "min" else new <= limit)
        result = "pass" if ok else "FAIL"
    else:
        result = "pass" if ratio is not None and ratio <= rule else "FAIL"
    return ("-" if ratio is None else f"{ratio:.3f}"), result


def main() -> None:
    user_file = os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "dotflow")
    if os.path.exists(user_file):
        NOTES.append(f"{user_file} exists; this repo's DotFlow() reads it, so its figures include that profile")
    print("== setup", flush=True)
    setup = subprocess.run(["bash", script("setup_venvs.sh")], capture_output=True, text=True, timeout=900, check=False)
    if setup.returncode != 0:
        sys.exit(f"setup_venvs.sh failed:\n{setup.stdout}\n{setup.stderr[-3000:]}")
    for line in setup.stdout.splitlines():
        print(f"    {line}")

    table: list[tuple[str, ...]] = []
    missed: list[str] = []
    for title, run, error_rows in FIGURES:
        print(f"== {title}", flush=True)
        try:
            rows = run()
        except ScriptFailed as exc:
            print(f"    {exc}".replace("\n", "\n    "))
            NOTES.append(f"{title}: {str(exc).splitlines()[0]}")
            table.extend((figure, "error", "error", "-", "-", "error") for figure in error_rows)
            missed.extend(error_rows)
            continue
        for figure, old, new, target, rule in rows:
            ratio, result = verdict(old, new, rule)
            if result == "FAIL":
                missed.append(figure)
            table.append((figure, fmt(old), fmt(new), ratio, target, result))

    print()
    print(f"machine: {machine()}")
    print("command: python3 benchmarks/run_all.py")
    header = ("figure", "dotflow 1.0.1", "this repo", "ratio", "target", "result")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print(
        "note: CLI runs: clean env (PATH, HOME) plus PYTHONPATH=. for both, since 1.0.1 does not put the cwd on "
        "sys.path. Default logging: 1.0.1 writes 3 INFO lines per task to stderr (a file here); this repo none."
    )
    print(
        "note: reporting: each run is a fresh `python pipeline.py N MODE` (plain DotFlow(), N no-op tasks) with "
        "SERVER_BASE_URL, SERVER_USER_TOKEN and a fresh WORKFLOW_ID set, against tests/fault_server.py in its own "
        "process; the wall is spawn to exit, so this repo's exit-time flush counts. 1.0.1 reports synchronously, "
        "a new connection per call (15 s timeout); its slow and black-hole runs are capped at 90 s."
    )
    for note in NOTES:
        print(f"note: {note}")
    if missed:
        print(f"targets missed: {'; '.join(missed)}")


if __name__ == "__main__":
    main()
