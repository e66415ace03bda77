"""The reference backend's figures (``dotflow backend start``), printed as a table.

Run: ``python benchmarks/bench_backend.py [--postgresql]`` in a venv holding ``dotflow[backend]``
(a few minutes on 2 cores; every wait is bounded). Each figure starts a fresh backend process on a
fresh database in a temporary folder:

* **20 runners, 50 tasks each**: 20 real ``dotflow start`` processes at once, as managed
  containers with the env the backend handed out; every status stored, every workflow Completed
  is checked; the wall time from the first launch to the last exit, and the backend's CPU time.
* **ingest**: 50 concurrent clients (5 processes of 10 threads, one keep-alive connection each)
  sending task state changes as the runner does (a POST, then PATCHes In progress and Completed);
  state changes stored per second. SQLite, and PostgreSQL with ``--postgresql`` (Debian's
  ``postgresql`` package; a throw-away cluster as the tests make it).
* **kill -9 to Crashed**: a runner beating every second is killed; seconds until the backend
  shows it Crashed (the rule's bound: 3 x 1 s + the sweeper's half second).
* **the page's first load with 1,000 runs**: the runs page's answer time (logged in), median of
  20 loads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

TOKEN = "benchmark-operator-token-0123456789"
STEPS = '''
from dotflow import DotFlow, action


@action
def noop():
    return 1


def fifty():
    flow = DotFlow()
    flow.task.add([noop] * 50)
    return flow


@action
def wait():
    import time
    time.sleep(60)


def waiting():
    flow = DotFlow()
    flow.task.add(wait)
    return flow
'''


def _dotflow() -> str:
    return str(Path(sys.executable).parent / "dotflow")


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DOTFLOW_") and k not in ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID")}
    env.update(XDG_DATA_HOME=str(folder / "data"), XDG_CONFIG_HOME=str(folder / "config"), **extra)
    return env


class Backend:
    """``dotflow backend start`` on a free port."""

    def __init__(self, folder: Path, db: str | None = None) -> None:
        self.folder = folder
        db = db or f"sqlite:///{folder / 'backend.db'}"
        self.process = subprocess.Popen([_dotflow(), "backend", "start", "--port", "0", "--db", db],
                                        env=_env(folder, DOTFLOW_BACKEND_TOKEN=TOKEN), stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        self.url = ""
        while not self.url and time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+)", self.process.stdout.readline())
            if found:
                self.url = found.group(1)
        assert self.url, "the backend did not start"
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.port = int(self.url.rsplit(":", 1)[1])

    def cpu(self) -> float:
        """The backend process's CPU seconds so far (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, "/api/v1" + path, None if body is None else json.dumps(body),
                         {"X-User-Token": TOKEN, "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return json.loads(data) if data else None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def twenty_runners(folder: Path) -> dict[str, Any]:
    (folder / "project").mkdir(parents=True)
    (folder / "project" / "bench_steps.py").write_text(STEPS)
    backend = Backend(folder)
    try:
        runs = [backend.call("POST", "/workflows", {"name": f"runner {i}"}) for i in range(20)]
        cpu = backend.cpu()
        began = time.monotonic()
        runners = [subprocess.Popen([_dotflow(), "start", "--workflow", "bench_steps:fifty"], cwd=folder / "project",
                                    env=_env(folder, **run["env"]), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL) for run in runs]
        codes = [runner.wait(600) for runner in runners]
        wall = time.monotonic() - began
        time.sleep(0.5)
        cpu = backend.cpu() - cpu
        details = [backend.call("GET", f"/workflows/{run['id']}") for run in runs]
    finally:
        backend.stop()
    completed = sum(detail["status"] == "Completed" for detail in details)
    tasks = sum(task["status"] == "Completed" for detail in details for task in detail["tasks"])
    return {"exit codes 0": sum(code == 0 for code in codes), "workflows Completed": completed,
            "tasks Completed": tasks, "wall s": round(wall, 2), "backend CPU s": round(cpu, 2)}


def _client(port: int, workflow: str, first: int, count: int, out: Any) -> None:
    """One runner-like client: ``count`` tasks, three state changes each, on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"X-User-Token": TOKEN, "Content-Type": "application/json"}
    done = 0
    for n in range(first, first + count):
        task = f"{n}-0000abcd"
        for method, path, status in (("POST", f"/api/v1/workflows/{workflow}/tasks", "Not started"),
                                     ("PATCH", f"/api/v1/workflows/{workflow}/tasks/{task}", "In progress"),
                                     ("PATCH", f"/api/v1/workflows/{workflow}/tasks/{task}", "Completed")):
            body = json.dumps({"id": task, "task_id": task, "workflow_id": workflow, "status": status,
                               "run_attempt": 1, "duration": 0.001, "errors": [], "error": None})
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            response.read()
            if response.status in (200, 201):
                done += 1
    conn.close()
    out.put(done)


def _process(port: int, index: int, threads: int, tasks: int, out: Any) -> None:
    workers = [threading.Thread(target=_client, args=(port, f"ingest-{index}-{t}", 0, tasks, out))
               for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def ingest(folder: Path, db: str | None, clients: int = 50, tasks: int = 40) -> dict[str, Any]:
    backend = Backend(folder, db)
    try:
        for p in range(5):
            for t in range(clients // 5):
                backend.call("POST", "/workflows", {"id": f"ingest-{p}-{t}"})
        out: Any = multiprocessing.Queue()
        began = time.monotonic()
        processes = [multiprocessing.Process(target=_process, args=(backend.port, p, clients // 5, tasks, out))
                     for p in range(5)]
        for process in processes:
            process.start()
        stored = sum(out.get(timeout=600) for _ in range(clients))
        wall = time.monotonic() - began
        for process in processes:
            process.join(60)
    finally:
        backend.stop()
    return {"clients": clients, "state changes": stored, "wall s": round(wall, 2),
            "changes/s": round(stored / wall)}


def kill_to_crashed(folder: Path, rounds: int = 3) -> dict[str, Any]:
    (folder / "project").mkdir(parents=True)
    (folder / "project" / "bench_steps.py").write_text(STEPS)
    backend = Backend(folder)
    took = []
    try:
        for _ in range(rounds):
            run = backend.call("POST", "/workflows", {"name": "to kill"})
            runner = subprocess.Popen([_dotflow(), "start", "--workflow", "bench_steps:waiting"],
                                      cwd=folder / "project", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL,
                                      env=_env(folder, DOTFLOW_SERVER_HEARTBEAT_INTERVAL="1", **run["env"]))
            deadline = time.monotonic() + 60
            while not (backend.call("GET", f"/workflows/{run['id']}")["heartbeat"] or {}).get("last_at"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.5)
            runner.kill()
            killed = time.monotonic()
            runner.wait(10)
            while backend.call("GET", f"/workflows/{run['id']}")["status"] != "Crashed":
                assert time.monotonic() < killed + 60
                time.sleep(0.02)
            took.append(time.monotonic() - killed)
    finally:
        backend.stop()
    return {"rounds": rounds, "median s": round(statistics.median(took), 2), "max s": round(max(took), 2),
            "bound s": 3 * 1 + 1}


def page_with_a_thousand_runs(folder: Path) -> dict[str, Any]:
    backend = Backend(folder)
    try:
        for i in range(1000):
            run = backend.call("POST", "/workflows", {"name": f"run {i}"})
            if i % 10 == 0:
                backend.call("PATCH", f"/workflows/{run['id']}", {"status": "In progress"})
        conn = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=60)
        conn.request("GET", "/")
        form = conn.getresponse()
        text = form.read().decode()
        login = next(v.split(";")[0].split("=", 1)[1] for k, v in form.getheaders()
                     if k.lower() == "set-cookie" and v.startswith("dotflow_login="))
        csrf = re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
        conn.request("POST", "/login", urlencode({"token": TOKEN, "csrf": csrf}),
                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"dotflow_login={login}"})
        answer = conn.getresponse()
        answer.read()
        session = next(v.split(";")[0] for k, v in answer.getheaders()
                       if k.lower() == "set-cookie" and v.startswith("dotflow_session="))
        times = []
        for _ in range(20):
            began = time.monotonic()
            conn.request("GET", "/", headers={"Cookie": session})
            page = conn.getresponse()
            size = len(page.read())
            times.append(time.monotonic() - began)
        conn.close()
    finally:
        backend.stop()
    return {"runs stored": 1000, "page bytes": size, "median ms": round(statistics.median(times) * 1000, 1),
            "max ms": round(max(times) * 1000, 1)}


def _postgres_url(folder: Path) -> tuple[Any, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "backend"))
    from postgres_support import Postgres, find_binaries

    binaries = find_binaries()
    assert binaries is not None, "PostgreSQL is not installed: apt-get install postgresql"
    cluster = Postgres(binaries).start()
    return cluster, cluster.new_database()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true", help="also measure ingest on PostgreSQL")
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="dotflow-bench-backend-") as tmp:
        root = Path(tmp)
        rows.append(("20 runners x 50 tasks, SQLite", twenty_runners(root / "twenty")))
        print(*rows[-1], flush=True)
        rows.append(("ingest, 50 clients, SQLite", ingest(root / "ingest-sqlite", None)))
        print(*rows[-1], flush=True)
        if args.postgresql:
            cluster, url = _postgres_url(root)
            try:
                rows.append(("ingest, 50 clients, PostgreSQL", ingest(root / "ingest-pg", url)))
            finally:
                cluster.stop()
            print(*rows[-1], flush=True)
        rows.append(("kill -9 to Crashed, 1 s beat", kill_to_crashed(root / "kill")))
        print(*rows[-1], flush=True)
        rows.append(("runs page, 1,000 runs stored", page_with_a_thousand_runs(root / "page")))
        print(*rows[-1], flush=True)
    print()
    print("| figure | result |\n|---|---|")
    for name, values in rows:
        print(f"| {name} | {', '.join(f'{k}: {v}' for k, v in values.items())} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
