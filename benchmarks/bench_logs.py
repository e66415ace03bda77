"""Live logs (runner protocol version 2, ``POST {base}/workflows/{id}/logs``): what they cost a step, how
late a line reaches the backend, whether every line arrives, and how much memory a dead backend costs.

Usage: python bench_logs.py [-r ROUNDS] [--old-python PATH] [--figure NAME ...] [--mem-lines N]

Every measurement is a fresh child process, ``python pipeline.py``: a plain ``DotFlow()`` with one
step, in managed mode (``SERVER_BASE_URL``, ``SERVER_USER_TOKEN`` and a fresh ``WORKFLOW_ID``; PATH
and HOME, nothing else) against ``tests/fault_server.py`` run in this process (``healthy``: Python's
``ThreadingHTTPServer``, keep-alive, Nagle on, as a dev server), each child bounded by a timeout.
The step times itself (``time.perf_counter`` around its prints) and writes its figures, with the
child's peak RSS (read after ``start()`` returned: ``VmHWM`` of ``/proc/self/status``, and
``ru_maxrss``, which on Linux starts from the parent's peak, since it survives fork and exec), to a
file the parent reads.
This repo's children run under this script's interpreter and inherit ``PYTHONPATH`` when it is set
(so ``PYTHONPATH=<repo> python benchmarks/bench_logs.py`` measures a working tree); 1.0.1's children
(``--old-python``, default ``.venv-101/bin/python`` beside this script when it exists) never do.

Variants of the backend, for this repo (``protocol`` is the fault server's ``--protocol``):

* ``logs on``: a version 2 backend (``Dotflow-Protocol: 2``): the step's output is captured and sent;
* ``v1 backend``: a version 1 backend (``server.protocol`` left at ``auto``), as the issue's baseline;
* ``logs off``: the same version 1 backend with ``DOTFLOW_SERVER_PROTOCOL=1``: nothing is captured;
* ``1.0.1``: dotflow 1.0.1 against the version 1 backend (it has no log shipping).

Figures (``--figure``; all by default):

* ``burst``: a step printing 50,000 lines of 100 bytes, stdout a pipe this script drains (a
  container's log), every variant, ``-r`` rounds (5 at least), the variants' order rotated round by round;
  then the same step with stdout ``/dev/null``, logs on and off, which leaves out the write per line.
  Target: logs on <= 1.25 x logs off. Each child's stdout is also counted against what was printed.
* ``cpu``: a step doing 5 times about 1 s of pure-Python work (the same fixed loop for every run,
  calibrated once here) and printing a line after each, logs on and off, ``-r`` rounds: the step's
  time, its thread's CPU time (``time.thread_time``) and the CPU time of the process's other threads
  meanwhile (``time.process_time`` minus that: the log lane, the heartbeats). Target: no measurable
  difference, judged on the CPU the other threads add (within 3 % of the step's CPU), since on a
  shared 2-core machine the wall of a 5 s step, and even its thread's CPU time, move by more than
  that from run to run; both are printed.
* ``latency``: a step printing ``tick <n> <time.time()>`` every 20 ms for 10 s, logs on, ``-r`` runs.
  A line's latency is the receipt of the request that carried it (``Recorded.at``, this process's
  ``time.monotonic()``, turned into ``time.time()`` by this process's offset between the two clocks)
  minus the ``time.time()`` in the line. p50, p95 (nearest rank) and max per run. Target: p95 < 1.5 s.
* ``delivery``: a step printing 20,000 lines as fast as it can (stdout ``/dev/null``), logs on, ``-r``
  runs: step lines received / printed, ``seq`` over the run's records (1..n, each once, in order of
  receipt), the batches' ``dropped`` sum, the step's time, the process's wall (spawn to exit, the exit
  flush included) and the last step line's receipt after the step's end.
* ``memory``: a step printing ``--mem-lines`` lines of 100 bytes (200 MB by default: 1 GB is ~5 minutes
  a run here, and a bounded buffer makes the peak independent of the volume; a quarter of it is run too
  to show that), stdout ``/dev/null``, against a backend whose logs endpoint never answers
  (``logs_delay=inf``; statuses are answered), ``-r`` runs; baseline: the same run with
  ``DOTFLOW_SERVER_PROTOCOL=1``. ``DOTFLOW_SERVER_FLUSH_TIMEOUT=2`` shortens the exit (after the peak
  was read). The bound: ``server.log_buffer`` (50,000) x the line's bytes, and what those records hold
  as Python objects, measured here with tracemalloc, plus one batch in flight (1,000 records and its
  JSON body). Target: peak RSS <= baseline + that bound + 4 MB, and the 200 MB run's peak within 2 MB
  of the 50 MB run's.

Prints a table per figure, the load average (``os.getloadavg``) before and after each, and last a JSON
line ``{"figure": "logs", "python", "dotflow", "load", "results": {...}}``. A figure whose child fails
or outlives its timeout is reported as ``{"error": ...}`` and the others go on.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import Any, Callable

from _common import clean_env, emit, load_fault_server

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OLD = os.path.join(HERE, ".venv-101", "bin", "python")
TOKEN = "bench-logs-token"
FIGURES = ("burst", "cpu", "latency", "delivery", "memory")

BURST_LINES = 50_000
BURST_ROUNDS = 5  # at least: a run is a second or two
CPU_CHUNKS = 5  # lines, each after about CPU_CHUNK_S of work
CPU_CHUNK_S = 1.0
TICK_S = 0.02
TICKS = 500  # 10 s
DELIVERY_LINES = 20_000
MEM_LINES = 2_000_000  # 200 MB of 100-byte lines
MEM_SMALL_DIVISOR = 4
LINE_BYTES = 100  # with its "\n"
LOG_BUFFER = 50_000  # server.log_buffer's default
RAW_MAX = 8 * 1024 * 1024  # dotflow.capture.RAW_MAX: characters read from the descriptors, not yet records
BATCH_RECORDS = 1000  # the most records one logs request holds (the spec)
BURST_TARGET = 1.25
CPU_TARGET = 1.03
LATENCY_TARGET_S = 1.5
MEM_SLACK_MB = 4.0
MEM_GROWTH_MB = 2.0

PIPELINE = r'''
import json
import os
import resource
import sys
import time

from dotflow import DotFlow, action

KIND = os.environ["BENCH_KIND"]
LINES = int(os.environ["BENCH_LINES"])
WORK = int(os.environ.get("BENCH_WORK", "0"))
TICK = float(os.environ.get("BENCH_TICK", "0.02"))
PAD = "x" * 84  # "line 000000123 " + PAD is 99 characters: 100 bytes with its line end
out = {}


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


@action
def step():
    out["stdout_type"] = f"{type(sys.stdout).__module__}.{type(sys.stdout).__qualname__}"
    out["begin_wall"] = time.time()
    cpu, thread_cpu = time.process_time(), time.thread_time()
    begin = time.perf_counter()
    if KIND == "burst":
        for i in range(LINES):
            print(f"line {i:09d} {PAD}")
    elif KIND == "cpu":
        for i in range(LINES):
            work(WORK)
            print(f"chunk {i} computed")
    elif KIND == "tick":
        for i in range(LINES):
            late = begin + i * TICK - time.perf_counter()
            if late > 0:
                time.sleep(late)
            print(f"tick {i} {time.time():.6f}")
    out["step_s"] = time.perf_counter() - begin
    out["cpu_s"] = time.process_time() - cpu  # every thread of the process: the log lane's too
    out["thread_cpu_s"] = time.thread_time() - thread_cpu  # the step's thread alone
    out["end_wall"] = time.time()


flow = DotFlow()
flow.task.add(step=step)
began = time.perf_counter()
flow.start()
out["start_s"] = time.perf_counter() - began
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # this process's own high-water mark: ru_maxrss keeps the parent's across fork and exec
    with open("/proc/self/status") as f:
        out["hwm_kb"] = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except (OSError, StopIteration, ValueError):
    out["hwm_kb"] = None
import dotflow

out["dotflow"] = os.path.dirname(os.path.abspath(dotflow.__file__))
try:
    from importlib.metadata import version

    out["version"] = version("dotflow")
except Exception as exc:
    out["version"] = type(exc).__name__
with open(os.environ["BENCH_RESULT"], "w") as f:
    json.dump(out, f)
'''


class ChildFailed(Exception):
    pass


@dataclass(frozen=True)
class Variant:
    name: str
    python: str
    protocol: int  # the fault server's
    repo: bool  # this repo (inherits PYTHONPATH), not 1.0.1
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    """One child: what it wrote to its result file, its wall, its stdout's size and the server's record."""

    result: dict[str, Any]
    wall_s: float
    stdout_bytes: int | None
    requests: list[Any]  # fault_server.Recorded
    log_records: list[dict[str, Any]]
    dropped: int
    workflow_id: str


class Bench:
    def __init__(self, fault: ModuleType, workdir: str, rounds: int, old_python: str | None) -> None:
        self.fault = fault
        self.workdir = workdir
        self.rounds = rounds
        self.pipeline = os.path.join(workdir, "pipeline.py")
        with open(self.pipeline, "w") as f:
            f.write(PIPELINE)
        me = sys.executable
        self.on = Variant("logs on", me, 2, True)
        self.v1 = Variant("v1 backend", me, 1, True)
        self.off = Variant("logs off", me, 1, True, {"DOTFLOW_SERVER_PROTOCOL": "1"})
        self.old = Variant("1.0.1", old_python, 1, False) if old_python else None
        self.seen: dict[str, str] = {}  # variant -> dotflow version and path its children imported

    def run(
        self,
        variant: Variant,
        kind: str,
        lines: int,
        *,
        limit: float,
        pipe: bool = False,
        logs_delay: float = 0.0,
        extra: dict[str, str] | None = None,
    ) -> Run:
        """One ``pipeline.py`` child against a fresh in-process fault server; killed after ``limit`` s."""
        workflow_id = str(uuid.uuid4())  # 1.0.1 takes a UUID only
        result_path = os.path.join(self.workdir, f"result-{workflow_id}.json")
        env = clean_env(
            SERVER_BASE_URL="",
            SERVER_USER_TOKEN=TOKEN,
            WORKFLOW_ID=workflow_id,
            BENCH_KIND=kind,
            BENCH_LINES=str(lines),
            BENCH_RESULT=result_path,
            **variant.env,
            **(extra or {}),
        )
        if variant.repo and os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        server = self.fault.FaultServer("healthy", protocol=variant.protocol, logs_delay=logs_delay)
        with server, tempfile.TemporaryFile("w+b") as err:
            env["SERVER_BASE_URL"] = server.url
            began = time.perf_counter()
            proc = subprocess.Popen(
                [variant.python, self.pipeline],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipe else subprocess.DEVNULL,
                stderr=err,
            )
            try:
                out, _ = proc.communicate(timeout=limit)  # drains the pipe as the child writes
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise ChildFailed(f"{variant.name} {kind} {lines}: killed after {limit:g} s") from None
            wall = time.perf_counter() - began
            err.seek(0)
            tail = err.read()[-1500:].decode("utf-8", "replace")
            if proc.returncode != 0 or not os.path.exists(result_path):
                raise ChildFailed(f"{variant.name} {kind} {lines}: exited {proc.returncode}; stderr tail:\n{tail}")
            with open(result_path) as f:
                result = json.load(f)
            os.unlink(result_path)
            requests = server.requests()
            records = server.log_records(workflow_id)
            dropped = server.log_dropped(workflow_id)
        self.seen.setdefault(variant.name, f"dotflow {result.get('version')} from {result.get('dotflow')}")
        return Run(result, wall, None if out is None else len(out), requests, records, dropped, workflow_id)

    def variants(self, *chosen: Variant | None) -> list[Variant]:
        return [variant for variant in chosen if variant is not None]

    def rounds_of(
        self, variants: list[Variant], measure: Callable[[Variant], Run], rounds: int | None = None
    ) -> dict[str, list[Run]]:
        """``rounds`` rounds, each variant once per round, the order rotated each round."""
        runs: dict[str, list[Run]] = {variant.name: [] for variant in variants}
        for number in range(rounds or self.rounds):
            shift = number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                runs[variant.name].append(measure(variant))
        return runs

    # -- figure 1: a step's time -------------------------------------------------------------------

    def burst(self) -> dict[str, Any]:
        limit = 180.0
        expected_bytes = BURST_LINES * LINE_BYTES

        def piped(variant: Variant) -> Run:
            return self.run(variant, "burst", BURST_LINES, limit=limit, pipe=True)

        def quiet(variant: Variant) -> Run:
            return self.run(variant, "burst", BURST_LINES, limit=limit)

        self.run(self.on, "burst", 1000, limit=limit)  # warm-up: file caches, the first compile
        rounds = max(self.rounds, BURST_ROUNDS)
        pipe_runs = self.rounds_of(self.variants(self.on, self.v1, self.off, self.old), piped, rounds)
        null_runs = self.rounds_of([self.on, self.off], quiet, rounds)
        result: dict[str, Any] = {"lines": BURST_LINES, "line_bytes": LINE_BYTES, "pipe": {}, "devnull": {}}
        for where, runs in (("pipe", pipe_runs), ("devnull", null_runs)):
            for name, group in runs.items():
                steps = [run.result["step_s"] for run in group]
                entry: dict[str, Any] = {
                    "step_s": statistics.median(steps),
                    "runs": [round(s, 4) for s in steps],
                    "cpu_s": statistics.median(run.result["cpu_s"] for run in group),
                    "stdout": group[0].result["stdout_type"],
                    "records_sent": max(len(run.log_records) for run in group),
                }
                if where == "pipe":
                    entry["stdout_complete"] = all(
                        run.stdout_bytes is not None and run.stdout_bytes >= expected_bytes for run in group
                    )
                result[where][name] = entry
        off = result["pipe"]["logs off"]["step_s"]
        result["ratio_on_off"] = result["pipe"]["logs on"]["step_s"] / off
        result["ratio_v1_off"] = result["pipe"]["v1 backend"]["step_s"] / off
        result["ratio_on_v1"] = result["pipe"]["logs on"]["step_s"] / result["pipe"]["v1 backend"]["step_s"]
        devnull = result["devnull"]
        result["ratio_on_off_devnull"] = devnull["logs on"]["step_s"] / devnull["logs off"]["step_s"]

        result["rounds"] = rounds
        print(f"A step printing {BURST_LINES:,} lines of {LINE_BYTES} bytes: the step's own time, median of "
              f"{rounds} rounds (s)")
        table = [("variant", "stdout", "step s", "runs", "x logs off", "CPU s", "captured by", "records sent")]
        for where in ("pipe", "devnull"):
            base = result[where]["logs off"]["step_s"]
            for name, entry in result[where].items():
                table.append((name, "a pipe" if where == "pipe" else "/dev/null", f"{entry['step_s']:.3f}",
                              " ".join(f"{s:.3f}" for s in entry["runs"]), f"{entry['step_s'] / base:.2f}",
                              f"{entry['cpu_s']:.3f}", entry["stdout"], f"{entry['records_sent']:,}"))
        print_table(table)
        verdict = "pass" if result["ratio_on_off"] <= BURST_TARGET else "FAIL"
        print(f"logs on / logs off (a pipe): {result['ratio_on_off']:.2f}x, target <= {BURST_TARGET}x: {verdict}; "
              f"logs on / v1 backend {result['ratio_on_v1']:.2f}x; v1 backend / logs off "
              f"{result['ratio_v1_off']:.2f}x (nothing is sent to it: ~1 expected)")
        complete = all(entry["stdout_complete"] for entry in result["pipe"].values())
        print(f"local output (a pipe): every child's {expected_bytes:,} bytes arrived: {complete}")
        return result

    def cpu(self) -> dict[str, Any]:
        loops = calibrate(CPU_CHUNK_S)
        limit = 120.0

        def measure(variant: Variant) -> Run:
            return self.run(variant, "cpu", CPU_CHUNKS, limit=limit, extra={"BENCH_WORK": str(loops)})

        runs = self.rounds_of([self.on, self.off], measure)
        result: dict[str, Any] = {"chunks": CPU_CHUNKS, "loops": loops}
        for name, group in runs.items():
            result[name] = {
                "step_s": statistics.median(run.result["step_s"] for run in group),
                "runs": [round(run.result["step_s"], 4) for run in group],
                "thread_cpu_s": statistics.median(run.result["thread_cpu_s"] for run in group),
                "thread_cpu_runs": [round(run.result["thread_cpu_s"], 4) for run in group],
                # the process's other threads while the step ran: the log lane, the heartbeats, the senders
                "others_cpu_s": statistics.median(run.result["cpu_s"] - run.result["thread_cpu_s"] for run in group),
                "records_sent": max(len(run.log_records) for run in group),
            }
        on, off = result["logs on"], result["logs off"]
        result["ratio_on_off"] = on["step_s"] / off["step_s"]
        result["thread_cpu_ratio_on_off"] = on["thread_cpu_s"] / off["thread_cpu_s"]
        result["added_cpu_s"] = on["others_cpu_s"] - off["others_cpu_s"]
        result["added_limit_s"] = (CPU_TARGET - 1) * off["thread_cpu_s"]
        spread = max(max(result[n]["runs"]) - min(result[n]["runs"]) for n in ("logs on", "logs off"))
        result["spread_s"] = spread
        print(f"A step computing {CPU_CHUNKS} x ~{CPU_CHUNK_S:g} s ({loops:,} loops each, calibrated here) and "
              f"printing a line after each: the step's own time, its thread's CPU time and the CPU time of the "
              f"process's other threads meanwhile, median of {self.rounds} rounds (s)")
        print_table([("variant", "step s", "runs", "step thread CPU s", "runs", "other threads CPU s",
                      "records sent")] + [
            (name, f"{result[name]['step_s']:.3f}", " ".join(f"{v:.3f}" for v in result[name]["runs"]),
             f"{result[name]['thread_cpu_s']:.3f}", " ".join(f"{v:.3f}" for v in result[name]["thread_cpu_runs"]),
             f"{result[name]['others_cpu_s']:.3f}", str(result[name]["records_sent"]))
            for name in ("logs on", "logs off")])
        verdict = "pass" if result["added_cpu_s"] <= result["added_limit_s"] else "FAIL"
        print(f"logs on / logs off: step {result['ratio_on_off']:.3f} ({(on['step_s'] - off['step_s']) * 1000:+.0f} "
              f"ms, while one variant's runs spread over {spread * 1000:.0f} ms), step thread's CPU "
              f"{result['thread_cpu_ratio_on_off']:.3f}; CPU the other threads add: "
              f"{result['added_cpu_s'] * 1000:+.0f} ms; target no measurable difference (added CPU <= "
              f"{(CPU_TARGET - 1) * 100:.0f} % of the step's, "
              f"{result['added_limit_s'] * 1000:.0f} ms; the wall and the step thread's CPU move with the machine's "
              f"load): {verdict}")
        return result

    # -- figure 2: latency -------------------------------------------------------------------------

    def latency(self) -> dict[str, Any]:
        limit = TICKS * TICK_S + 60
        per_run: list[dict[str, Any]] = []
        for _ in range(self.rounds):
            offsets = [time.time() - time.monotonic()]
            run = self.run(self.on, "tick", TICKS, limit=limit, extra={"BENCH_TICK": str(TICK_S)})
            offsets.append(time.time() - time.monotonic())
            offset = statistics.mean(offsets)
            delays: list[float] = []
            for request in run.requests:
                if request.route != "logs" or request.workflow_id != run.workflow_id:
                    continue
                if not (isinstance(request.status, int) and 200 <= request.status < 300):
                    continue
                received = request.at + offset
                for record in request.body.get("records", []):
                    words = str(record.get("line", "")).split()
                    if record.get("stream") == "stdout" and len(words) == 3 and words[0] == "tick":
                        delays.append(received - float(words[2]))
            delays.sort()
            per_run.append({
                "lines": len(delays),
                "p50_s": nearest_rank(delays, 50),
                "p95_s": nearest_rank(delays, 95),
                "max_s": delays[-1] if delays else math.nan,
                "clock_drift_s": abs(offsets[1] - offsets[0]),
                "step_s": run.result["step_s"],
            })
        result = {
            key: statistics.median(run[key] for run in per_run) for key in ("p50_s", "p95_s", "max_s")
        }
        result.update(expected=TICKS, delivered_min=min(run["lines"] for run in per_run), runs=per_run)
        print(f"From print() to the backend: a line every {TICK_S * 1000:g} ms for {TICKS * TICK_S:g} s, logs on, "
              f"healthy (Nagle-on) backend; receipt time - the line's time.time(), per run (s)")
        print_table([("run", "lines received", "p50", "p95", "max", "clock offset moved")] + [
            (str(i + 1), f"{run['lines']}/{TICKS}", f"{run['p50_s']:.3f}", f"{run['p95_s']:.3f}",
             f"{run['max_s']:.3f}", f"{run['clock_drift_s'] * 1000:.2f} ms") for i, run in enumerate(per_run)
        ] + [("median", "", f"{result['p50_s']:.3f}", f"{result['p95_s']:.3f}", f"{result['max_s']:.3f}", "")])
        verdict = "pass" if result["p95_s"] < LATENCY_TARGET_S and result["delivered_min"] == TICKS else "FAIL"
        print(f"p95 {result['p95_s']:.3f} s, target < {LATENCY_TARGET_S:g} s: {verdict}")
        return result

    # -- figure 3: every line delivered ------------------------------------------------------------

    def delivery(self) -> dict[str, Any]:
        limit = 180.0
        per_run: list[dict[str, Any]] = []
        for _ in range(self.rounds):
            offsets = [time.time() - time.monotonic()]
            run = self.run(self.on, "burst", DELIVERY_LINES, limit=limit)
            offset = statistics.mean(offsets + [time.time() - time.monotonic()])
            step_lines = [r for r in run.log_records if r.get("stream") == "stdout" and
                          str(r.get("line", "")).startswith("line ")]
            numbers = [int(str(r["line"]).split()[1]) for r in step_lines]
            seqs = [r.get("seq") for r in run.log_records]
            contiguous = seqs == list(range(1, len(seqs) + 1))
            received = [
                request.at + offset for request in run.requests
                if request.route == "logs" and request.workflow_id == run.workflow_id
                and isinstance(request.body, dict) and any(
                    str(r.get("line", "")).startswith("line ") for r in request.body.get("records", []))
            ]
            per_run.append({
                "delivered": len(step_lines),
                "in_order": numbers == list(range(DELIVERY_LINES)),
                "seq_contiguous": contiguous,
                "seq_problems": seq_problems(seqs),
                "records": len(seqs),
                "dropped": run.dropped,
                "step_s": run.result["step_s"],
                "wall_s": run.wall_s,
                "last_after_step_s": (max(received) - run.result["end_wall"]) if received else math.nan,
                "requests": sum(1 for r in run.requests if r.route == "logs"),
            })
        result = {
            "expected": DELIVERY_LINES,
            "delivered_min": min(run["delivered"] for run in per_run),
            "seq_contiguous": all(run["seq_contiguous"] for run in per_run),
            "seq_problems_max": max(run["seq_problems"] for run in per_run),
            "in_order": all(run["in_order"] for run in per_run),
            "dropped_max": max(run["dropped"] for run in per_run),
            "step_s": statistics.median(run["step_s"] for run in per_run),
            "wall_s": statistics.median(run["wall_s"] for run in per_run),
            "last_after_step_s": statistics.median(run["last_after_step_s"] for run in per_run),
            "runs": per_run,
        }
        print(f"{DELIVERY_LINES:,} lines from one step as fast as it prints (stdout /dev/null), logs on, healthy "
              f"Nagle-on http.server backend, per run")
        print_table([("run", "delivered/printed", "step lines in order", "seq 1..n contiguous", "records", "dropped",
                      "logs POSTs", "step s", "process wall s", "last line after the step s")] + [
            (str(i + 1), f"{run['delivered']:,}/{DELIVERY_LINES:,}", str(run["in_order"]),
             str(run["seq_contiguous"]), f"{run['records']:,}", str(run["dropped"]), str(run["requests"]),
             f"{run['step_s']:.3f}", f"{run['wall_s']:.3f}", f"{run['last_after_step_s']:.3f}")
            for i, run in enumerate(per_run)
        ])
        ok = (result["delivered_min"] == DELIVERY_LINES and result["seq_contiguous"] and result["dropped_max"] == 0)
        print(f"all delivered, seq contiguous, dropped 0 in every run: {'pass' if ok else 'FAIL'}; median step "
              f"{result['step_s']:.3f} s, process {result['wall_s']:.3f} s, last line received "
              f"{result['last_after_step_s']:.3f} s after the step's end")
        return result

    # -- figure 4: memory under a dead backend -----------------------------------------------------

    def memory(self, lines: int) -> dict[str, Any]:
        small = max(1, lines // MEM_SMALL_DIVISOR)
        flush = {"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2"}

        def limit(count: int) -> float:
            return 120.0 + count * 200e-6  # 200 µs a line: ten times what a captured line costs here

        def dead(count: int) -> Callable[[Variant], Run]:
            def measure(variant: Variant) -> Run:
                return self.run(variant, "burst", count, limit=limit(count), logs_delay=math.inf, extra=flush)

            return measure

        big_runs = self.rounds_of([self.on, self.off], dead(lines))
        small_runs = self.rounds_of([self.on], dead(small))
        per_record, batch_body = record_cost()
        raw_bound = LOG_BUFFER * LINE_BYTES
        held_bound = (LOG_BUFFER + BATCH_RECORDS) * per_record + batch_body + RAW_MAX

        def mb(kb: float) -> float:
            return kb / 1024

        result: dict[str, Any] = {
            "lines": lines,
            "mb_printed": lines * LINE_BYTES / 1e6,
            "small_lines": small,
            "log_buffer": LOG_BUFFER,
            "record_bytes": per_record,
            "raw_bound_mb": raw_bound / 2**20,
            "held_bound_mb": held_bound / 2**20,
        }
        groups = (("on", big_runs["logs on"]), ("off", big_runs["logs off"]), ("on_small", small_runs["logs on"]))
        for key, runs in groups:
            rss = [mb(peak_kb(run.result)) for run in runs]
            result[key] = {
                "peak_rss_mb": statistics.median(rss),
                "runs_mb": [round(r, 2) for r in rss],
                "step_s": statistics.median(run.result["step_s"] for run in runs),
                "wall_s": statistics.median(run.wall_s for run in runs),
                "dropped_reported": max(run.dropped for run in runs),
                "logs_posts": max(sum(1 for r in run.requests if r.route == "logs") for run in runs),
            }
        base = result["off"]["peak_rss_mb"]
        result["over_baseline_mb"] = result["on"]["peak_rss_mb"] - base
        result["limit_mb"] = base + result["held_bound_mb"] + MEM_SLACK_MB
        result["growth_mb"] = result["on"]["peak_rss_mb"] - result["on_small"]["peak_rss_mb"]
        print(f"A step printing {lines:,} lines of {LINE_BYTES} bytes ({result['mb_printed']:,.0f} MB; "
              f"{small:,} lines for the smaller run), stdout /dev/null, the backend's logs endpoint never answering: "
              f"the child's peak RSS, median of {self.rounds} runs")
        print_table([("variant", "printed", "peak RSS MB", "runs MB", "step s", "process wall s", "logs POSTs")] + [
            (label, f"{count * LINE_BYTES / 1e6:,.0f} MB", f"{result[key]['peak_rss_mb']:.1f}",
             " ".join(f"{r:.1f}" for r in result[key]["runs_mb"]), f"{result[key]['step_s']:.2f}",
             f"{result[key]['wall_s']:.2f}", str(result[key]["logs_posts"]))
            for key, label, count in (("off", "logs off (DOTFLOW_SERVER_PROTOCOL=1)", lines),
                                      ("on_small", "logs on, dead logs endpoint", small),
                                      ("on", "logs on, dead logs endpoint", lines))
        ])
        print(f"bound: log_buffer {LOG_BUFFER:,} x {LINE_BYTES} B = {result['raw_bound_mb']:.2f} MB of text; as the "
              f"lane holds them ({per_record} B a record, tracemalloc) plus one batch of {BATCH_RECORDS:,} in flight "
              f"and its body, plus what the capture read and did not turn into records yet ({RAW_MAX / 2**20:g} MB): "
              f"{result['held_bound_mb']:.2f} MB")
        ok_peak = result["on"]["peak_rss_mb"] <= result["limit_mb"]
        ok_flat = result["growth_mb"] <= MEM_GROWTH_MB
        print(f"peak RSS {result['on']['peak_rss_mb']:.1f} MB = baseline {base:.1f} MB + "
              f"{result['over_baseline_mb']:.1f} MB; target <= baseline + bound + {MEM_SLACK_MB:g} MB = "
              f"{result['limit_mb']:.1f} MB: {'pass' if ok_peak else 'FAIL'}; "
              f"{result['mb_printed']:,.0f} MB vs {small * LINE_BYTES / 1e6:,.0f} MB printed: "
              f"{result['growth_mb']:+.1f} MB (target <= {MEM_GROWTH_MB:g}): {'pass' if ok_flat else 'FAIL'}")
        if lines * LINE_BYTES < 10**9:
            print(f"(measured at {result['mb_printed']:,.0f} MB, not 1 GB: a captured line costs ~15 µs here, so 1 GB "
                  f"is minutes a run; the time scales linearly, and the peak does not grow with the volume)")
        return result


def calibrate(seconds: float) -> int:
    """Loops of the pipeline's ``work()`` that take about ``seconds`` of CPU here (best of 3 short samples,
    timed by this thread's CPU clock, which the machine's load moves less than the wall)."""
    sample = 300_000
    best = math.inf
    for _ in range(3):
        began = time.thread_time()
        total = 0
        for i in range(sample):
            total += i * i
        best = min(best, time.thread_time() - began)
    return max(sample, int(sample * seconds / best))


def record_cost() -> tuple[int, int]:
    """Bytes a waiting record holds, measured: records shaped as the log lane makes them (a dict, its
    ``ts`` and line strings, its ``seq``) in a deque; and the JSON body of one batch of 1,000 of them."""
    line = f"line {123456789:09d} {'x' * 84}"
    count = 2000
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held: deque[dict[str, Any]] = deque()
    for seq in range(100_000, 100_000 + count):
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        held.append({"seq": seq, "ts": stamp, "task": "0-0123abcd", "stream": "stdout", "level": None,
                     "line": "".join([line])})  # a fresh string per record, as each print makes one
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_record = math.ceil((after - before) / count)
    body = json.dumps({"records": list(itertools.islice(held, BATCH_RECORDS)), "dropped": 0},
                      separators=(",", ":")).encode()
    return per_record, len(body)


def peak_kb(result: dict[str, Any]) -> float:
    """The child's peak RSS: VmHWM (its own address space's, from exec on) where Linux gives it.

    Not ``ru_maxrss`` alone: Linux carries the parent's high-water mark into the child through fork
    and exec, so a child of a large parent reports at least the parent's size."""
    return float(result["hwm_kb"] if result.get("hwm_kb") else result["maxrss_kb"])


def nearest_rank(values: list[float], percent: float) -> float:
    """The ``percent`` percentile of sorted ``values`` by nearest rank (nan for none)."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(percent / 100 * len(values)) - 1)]


def seq_problems(seqs: list[Any]) -> int:
    """Positions where ``seq`` is not the previous one plus one (from 1): gaps, repeats, reorders."""
    return sum(1 for expected, seq in enumerate(seqs, start=1) if seq != expected)


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if number == 0:
            print("  " + "  ".join("-" * width for width in widths))
    sys.stdout.flush()


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--rounds", type=int, default=3, help="rounds (runs) per figure, 1 to 20")
    parser.add_argument("--figure", action="append", choices=FIGURES, help="run only this one; repeatable")
    parser.add_argument("--old-python", default=DEFAULT_OLD if os.path.exists(DEFAULT_OLD) else None,
                        help="dotflow 1.0.1's interpreter, for the burst figure's third column")
    parser.add_argument("--mem-lines", type=int, default=MEM_LINES, help="lines of 100 bytes the memory step prints")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 20))
    fault = load_fault_server()
    loads: dict[str, list[float]] = {"begin": load()}
    results: dict[str, Any] = {}
    print(f"python {sys.version.split()[0]}: {sys.executable}; PYTHONPATH for this repo's children: "
          f"{os.environ.get('PYTHONPATH', '(none)')}; load {loads['begin']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dotflow-bench-logs-") as workdir:
        bench = Bench(fault, workdir, rounds, args.old_python)
        for name in args.figure or FIGURES:
            print(f"\n== {name} (load before {load()})", flush=True)
            began = time.perf_counter()
            try:
                results[name] = bench.memory(args.mem_lines) if name == "memory" else getattr(bench, name)()
            except ChildFailed as exc:
                print(f"  error: {exc}".replace("\n", "\n  "))
                results[name] = {"error": str(exc).splitlines()[0]}
            loads[name] = load()
            results[name]["seconds"] = round(time.perf_counter() - began, 1)
            print(f"  ({results[name]['seconds']:.0f} s; load after {loads[name]})", flush=True)
        print("\nchildren imported: " + "; ".join(f"{name}: {seen}" for name, seen in bench.seen.items()))
    emit({"figure": "logs", "python": sys.version.split()[0], "rounds": rounds, "dotflow": bench.seen,
          "load": loads, "results": results})


if __name__ == "__main__":
    main()
