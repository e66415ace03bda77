"""Managed mode: HTTP calls made and wall time added by reporting a 20-task run to a local server.

Usage: python bench_managed.py [-t 20] [-r 9]

A threaded ``http.server`` on 127.0.0.1 records every request and answers ``{}`` (201 to
POST, 200 otherwise). Each repetition times build plus run of the same ``tasks``-step
sequential workflow twice, interleaved: once with no server, once reporting to the
local one. The figure is the median of the differences.

* This repo: ``Config(server=ServerAPI(base_url, user_token))``, and the timed part ends
  with ``flow.config.server.flush()``, so every report has been delivered when the clock
  stops. A fresh ServerAPI per repetition, so each pays for its sender thread and connection.
* dotflow 1.0.1 has no ``dotflow.providers.ServerAPI``; its ``ServerDefault`` reports when
  ``SERVER_BASE_URL`` and ``SERVER_USER_TOKEN`` are set, synchronously on the workflow's
  thread, so the script sets those two for the managed run and clears them for the other.
  Its baseline is ``DotFlow()``; with the variables unset it makes no calls.

Last line: JSON ``{"calls_per_run", "added_ms", "baseline_ms", "managed_ms", ...}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from _common import check_installed, dotflow_version, emit, median, scrub_environ, temp_cwd

TOKEN = "bench-token"


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API server would offer
    # Without TCP_NODELAY the status line + headers and the body go out as two small
    # segments, and Nagle plus the client's delayed ACK stall every keep-alive answer ~40 ms.
    disable_nagle_algorithm = True
    calls: ClassVar[list[tuple[str, str]]] = []
    lock = threading.Lock()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.lock:
            self.calls.append((self.command, self.path))
        body = b"{}"
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args) -> None:
        pass


def taken() -> list[tuple[str, str]]:
    with Recorder.lock:
        calls = list(Recorder.calls)
        Recorder.calls.clear()
    return calls


def is_new() -> bool:
    try:
        from dotflow.providers import ServerAPI  # noqa: F401
    except ImportError:
        return False
    return True


def run(tasks: int, base_url: str | None) -> tuple[float, float, float]:
    """Seconds to build, run and (when reporting) deliver every report of a ``tasks``-step workflow.

    Also returns the seconds until ``start()`` returned, before the flush, and the seconds
    until the last step finished: what reporting costs the tasks themselves.
    """
    from dotflow import Config, DotFlow, action

    finished: list[float] = []

    @action
    def noop():
        finished.append(time.perf_counter())

    new = is_new()
    if not new:
        # 1.0.1: managed mode is switched on by these two variables
        if base_url is None:
            os.environ.pop("SERVER_BASE_URL", None)
            os.environ.pop("SERVER_USER_TOKEN", None)
        else:
            os.environ["SERVER_BASE_URL"] = base_url
            os.environ["SERVER_USER_TOKEN"] = TOKEN
    begin = time.perf_counter()
    if new:
        from dotflow.providers import ServerAPI

        config = Config() if base_url is None else Config(server=ServerAPI(base_url, TOKEN))
        flow = DotFlow(config=config)
    else:
        flow = DotFlow()
    for _ in range(tasks):
        flow.task.add(step=noop)
    flow.start()
    started = time.perf_counter() - begin
    if new and base_url is not None:
        flow.config.server.flush()
    elapsed = time.perf_counter() - begin
    if len(flow.result_task()) != tasks or len(finished) != tasks:
        sys.exit(f"expected {tasks} tasks, got {len(flow.result_task())}")
    return elapsed, started, finished[-1] - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-t", "--tasks", type=int, default=20)
    parser.add_argument("-r", "--repeat", type=int, default=9)
    args = parser.parse_args()
    tasks = max(1, min(args.tasks, 10_000))
    repeat = max(1, min(args.repeat, 100))
    scrub_environ()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    new = is_new()
    try:
        with temp_cwd():
            check_installed()
            run(tasks, None)
            run(tasks, base_url)  # warm-up: imports, first connection
            time.sleep(0.2)
            taken()
            baseline, managed, started, calls, late = [], [], [], [], []
            steps_base, steps_managed = [], []
            for i in range(repeat):
                pair = [None, base_url] if i % 2 == 0 else [base_url, None]
                for url in pair:
                    elapsed, start_returned, steps_done = run(tasks, url)
                    got = taken()
                    if url is None:
                        baseline.append(elapsed)
                        steps_base.append(steps_done)
                        if got:
                            sys.exit(f"the run without a server made {len(got)} HTTP calls")
                    else:
                        managed.append(elapsed)
                        steps_managed.append(steps_done)
                        started.append(start_returned)
                        calls.append(got)
                        time.sleep(0.05)  # anything arriving after the clock stopped was not delivered in time
                        late.append(len(taken()))
    finally:
        server.shutdown()
        server.server_close()
    counts = [len(c) for c in calls]
    added = [(m - b) * 1000 for m, b in zip(managed, baseline)]
    steps_added = [(m - b) * 1000 for m, b in zip(steps_managed, steps_base)]
    kinds = Counter()
    for method, path in calls[-1]:
        parts = ["{id}" if len(p) >= 20 or any(ch.isdigit() for ch in p) else p for p in path.split("/")]
        kinds[f"{method} {'/'.join(parts)}"] += 1
    label = "this repo (ServerAPI + flush)" if new else "1.0.1 (ServerDefault via SERVER_* env)"
    print(f"dotflow {dotflow_version()} {label}: {tasks} tasks x {repeat} runs")
    print(f"  HTTP calls per run: {counts} (late arrivals: {sum(late)})")
    for kind, n in sorted(kinds.items()):
        print(f"    {n:4d}  {kind}")
    print(
        f"  baseline {median(baseline) * 1000:.1f} ms, managed {median(managed) * 1000:.1f} ms, "
        f"added {median(added):.1f} ms (median of per-pair differences); "
        f"start() returned after {median(started) * 1000:.1f} ms; "
        f"the last step finished {median(steps_added):.1f} ms later than without a server"
    )
    emit(
        {
            "figure": "managed",
            "version": dotflow_version(),
            "server": label,
            "tasks": tasks,
            "repeat": repeat,
            "calls_per_run": median(counts),
            "calls_min": min(counts),
            "calls_max": max(counts),
            "late_calls": sum(late),
            "calls_by_kind": dict(sorted(kinds.items())),
            "baseline_ms": round(median(baseline) * 1000, 2),
            "managed_ms": round(median(managed) * 1000, 2),
            "added_ms": round(median(added), 2),
            "start_returned_ms": round(median(started) * 1000, 2),
            "steps_added_ms": round(median(steps_added), 2),
        }
    )


if __name__ == "__main__":
    main()
