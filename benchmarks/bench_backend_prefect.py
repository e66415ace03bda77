"""Prefect 3's server under the load of ``bench_backend.py``'s ingest figure, for the side by side.

Run it with a venv holding Prefect 3 (not dotflow's: ``python3 -m venv /tmp/prefect-venv &&
/tmp/prefect-venv/bin/pip install "prefect>=3,<4"``)::

    /tmp/prefect-venv/bin/python benchmarks/bench_backend_prefect.py

It starts ``prefect server start`` on a free port of 127.0.0.1 with a fresh ``PREFECT_HOME`` (its
default SQLite database), then 50 concurrent clients (5 processes of 10 coroutines, each process
with its own Prefect client) each create 40 task runs of a flow run of their own and set their
states as a runner does: created Pending, then Running, then Completed, which is three state
changes per task, as dotflow's POST and two PATCHes are. It prints the state changes Prefect
accepted per second, and the tasks given up when a call failed after the Prefect client's own
retries (its SQLite answers 503 when it is locked). Standard library and Prefect only.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CLIENTS, PROCESSES, TASKS = 50, 5, 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _runner(client: Any, flow_run_id: Any, task: Any, index: int) -> tuple[int, int]:
    """``(state changes accepted, calls that failed)`` of one client's tasks; a task whose call
    failed (after the Prefect client's own retries) is given up, as a runner would lose it."""
    from prefect.states import Completed, Pending, Running

    accepted = failed = 0
    for n in range(TASKS):
        try:
            run = await client.create_task_run(task=task, flow_run_id=flow_run_id, dynamic_key=f"{index}-{n}",
                                               state=Pending())
            accepted += 1
            for state in (Running(), Completed()):
                result = await client.set_task_run_state(run.id, state)
                accepted += result.status.value == "ACCEPT"
        except Exception:
            failed += 1
    return accepted, failed


async def _process_main(index: int) -> tuple[int, int]:
    from prefect import flow, task
    from prefect.client.orchestration import get_client

    @flow(name=f"bench-{index}")
    def bench_flow() -> None:
        pass

    @task(name="bench-task")
    def bench_task() -> None:
        pass

    async with get_client() as client:
        runs = []
        for _ in range(CLIENTS // PROCESSES):
            for attempt in range(10):  # its SQLite answers 503 while locked: the flow runs are not the figure
                try:
                    runs.append(await client.create_flow_run(flow=bench_flow))
                    break
                except Exception:
                    if attempt == 9:
                        raise
                    await asyncio.sleep(1)
        counts = await asyncio.gather(*[_runner(client, run.id, bench_task, i) for i, run in enumerate(runs)])
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _process(index: int, out: Any, start: Any) -> None:
    start.wait()
    try:
        out.put(asyncio.run(_process_main(index)))
    except Exception:
        out.put((0, TASKS * CLIENTS // PROCESSES))  # this process's clients never got going
        raise


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="prefect-bench-"))
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    prefect = str(Path(sys.executable).parent / "prefect")
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as answer:
                    if json.loads(answer.read()) is True:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "prefect server did not start"
            time.sleep(0.5)
        os.environ.update(env)
        out: Any = multiprocessing.Queue()
        start = multiprocessing.Event()
        processes = [multiprocessing.Process(target=_process, args=(i, out, start)) for i in range(PROCESSES)]
        for process in processes:
            process.start()
        time.sleep(3)  # the clients import Prefect first; the clock starts when they all may go
        began = time.monotonic()
        start.set()
        results = [out.get(timeout=1200) for _ in processes]
        accepted, failed = sum(r[0] for r in results), sum(r[1] for r in results)
        wall = time.monotonic() - began
        for process in processes:
            process.join(60)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps({"clients": CLIENTS, "state changes": accepted, "of": CLIENTS * TASKS * 3,
                      "tasks given up on an error": failed, "wall s": round(wall, 2),
                      "changes/s": round(accepted / wall)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
