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
* **the page in a browser**: the same 1,000 runs plus one real ``dotflow start`` run of 50 tasks
  that print lines and report progress and metadata; a headless Chromium (Debian's ``chromium``
  and ``chromium-driver``, driven by Selenium as ``tests/backend/browser_support.py`` does) logs in
  through the form, then loads the runs page ``/`` and that run's page ``/workflows/{id}``, each
  first with its HTTP cache emptied (a fresh browser and profile per round, the cache cleared
  after logging in) and then again (the styles and script cached). The Navigation Timing API
  gives the answer's first byte, DOMContentLoaded's end and the load event's end, from the
  navigation's start; the paint timing, the first contentful paint. The page's own script marks a
  live update with ``data-refreshed`` on ``#live`` (a poll of its fragment every 2 s on ``/``,
  1 s on a run's page): a MutationObserver placed after the load notes when the first one was
  rendered. Median and max of ``--rounds`` rounds. Without Chromium, chromedriver or Selenium it
  is skipped, saying what to install.

``--figure NAME`` (repeatable) picks figures: ``runners``, ``ingest``, ``kill``, ``page``,
``browser`` (all of them by default). The table comes last, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
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


@action
def talk():
    import dotflow
    task = dotflow.current_task()
    for batch in range(8):
        print(f"batch {batch}: 125 rows read, 0 rejected")
        task.progress(batch + 1, 8, "batches")
    task.metadata(rows=1000, source="s3://bucket/input.csv")
    return 1


def fifty_talking():
    flow = DotFlow()
    flow.task.add([talk] * 50)
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


def _store_runs(backend: Backend, count: int) -> None:
    """``count`` runs made as an operator makes them, every tenth In progress."""
    for i in range(count):
        run = backend.call("POST", "/workflows", {"name": f"run {i}"})
        if i % 10 == 0:
            backend.call("PATCH", f"/workflows/{run['id']}", {"status": "In progress"})


def _session_cookie(conn: http.client.HTTPConnection) -> str:
    """Log in through the page's form (its login cookie and CSRF field); the session cookie, ``name=value``."""
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
    return next(v.split(";")[0] for k, v in answer.getheaders()
                if k.lower() == "set-cookie" and v.startswith("dotflow_session="))


def page_with_a_thousand_runs(folder: Path, runs: int = 1000) -> dict[str, Any]:
    backend = Backend(folder)
    try:
        _store_runs(backend, runs)
        conn = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=60)
        session = _session_cookie(conn)
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
    return {"runs stored": runs, "page bytes": size, "median ms": round(statistics.median(times) * 1000, 1),
            "max ms": round(max(times) * 1000, 1)}


# What a navigation took, read in the page once it has loaded: milliseconds from the navigation's
# start (startTime, 0 for the document) to the answer's first byte, to the end of DOMContentLoaded's
# handlers and of the load event's, and to the first contentful paint; how many of the page's style
# and script came from the network (not the cache); what the page shows.
TIMING_JS = r"""
const nav = performance.getEntriesByType("navigation")[0];
if (!nav || !nav.loadEventEnd) { return null; }
const paint = performance.getEntriesByName("first-contentful-paint")[0];
const fetched = performance.getEntriesByType("resource")
  .filter(function (e) { return /\/static\/.*\.(css|js)$/.test(e.name) && e.transferSize > 0; }).length;
return {response: nav.responseStart - nav.startTime, dom: nav.domContentLoadedEventEnd - nav.startTime,
        load: nav.loadEventEnd - nav.startTime, paint: paint ? paint.startTime : null,
        bytes: nav.transferSize, statics_fetched: fetched,
        rows: document.querySelectorAll("tr.run").length, tasks: document.querySelectorAll("li.task").length,
        lines: document.querySelectorAll("li.task .line").length};
"""
# Placed after the load: notes when the page's own script first renders a live update (it counts
# them in #live's data-refreshed). No hook in the product: the attribute is how its tests see it too.
# One already rendered before the observer was in place is reported as missed, not timed.
WATCH_JS = """
const live = document.getElementById("live");
window.__firstUpdate = null;
window.__missed = Boolean(live.dataset.refreshed);
new MutationObserver(function (changes, observer) {
  window.__firstUpdate = performance.now();
  observer.disconnect();
}).observe(live, {attributes: true, attributeFilter: ["data-refreshed"]});
"""
# When the first live update was rendered, and how long its fragment's fetch took (request to last byte).
UPDATE_JS = """
if (window.__firstUpdate === null && !window.__missed) { return null; }
const fragment = performance.getEntriesByType("resource")
  .filter(function (e) { return e.name.indexOf("/ui/") >= 0; })[0];
return {rendered: window.__missed ? null : window.__firstUpdate,
        fetch: fragment ? fragment.responseEnd - fragment.startTime : null};
"""


def _browser_support() -> tuple[Any, tuple[str, str]] | str:
    """tests/backend/browser_support.py and (chromium, chromedriver); or why the figure cannot run."""
    import importlib.util

    if importlib.util.find_spec("selenium") is None:
        return "Selenium is not installed: pip install selenium"
    _use_test_support()
    import browser_support

    found = browser_support.find_browser()
    if found is None:
        return "Chromium or its driver is not installed: apt-get install chromium chromium-driver"
    return browser_support, found


def _until(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll ``check()`` until it answers something truthy; that answer (AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


def _load(chromium: Any, url: str) -> dict[str, Any]:
    """Navigate to ``url``; its timings once the load event has ended and the first contentful paint
    is known (headless Chromium may paint after the load event; none after 5 s: ``paint`` is None)."""
    chromium.get(url)
    _until(lambda: chromium.execute_script(TIMING_JS), f"load of {url}")
    deadline = time.monotonic() + 5
    while True:
        timing = dict(chromium.execute_script(TIMING_JS))
        if timing["paint"] is not None or time.monotonic() > deadline:
            return timing
        time.sleep(0.02)


def _in_one_browser(support: Any, found: tuple[str, str], url: str, pages: dict[str, str]) -> dict[str, Any]:
    """One round: a fresh browser and profile logs in through the form; then each page loaded with
    the HTTP cache emptied, its first live update awaited, and the page loaded again."""
    from selenium.webdriver.common.by import By

    chromium, profile = support.open_browser(*found)
    seen: dict[str, Any] = {}
    try:
        chromium.set_page_load_timeout(60)
        chromium.set_script_timeout(30)
        chromium.get(url + "/")
        chromium.find_element(By.ID, "token").send_keys(TOKEN)
        chromium.find_element(By.ID, "login").click()
        _until(lambda: chromium.find_elements(By.ID, "live"), "runs page after logging in")
        for name, path in pages.items():
            chromium.execute_cdp_cmd("Network.clearBrowserCache", {})
            cold = _load(chromium, url + path)
            chromium.execute_script(WATCH_JS)
            update = _until(lambda: chromium.execute_script(UPDATE_JS), f"live update of {path}", 15)
            seen[name] = {"cold": cold, "update": update, "warm": _load(chromium, url + path)}
    finally:
        chromium.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return seen


def page_in_a_browser(folder: Path, runs: int = 1000, rounds: int = 5) -> list[tuple[str, dict[str, Any]]]:
    """The runs page and a run's page loaded by headless Chromium: rows for the table, or one saying
    why the figure was skipped."""
    support = _browser_support()
    if isinstance(support, str):
        print(f"page in a browser: skipped: {support}", file=sys.stderr, flush=True)
        return [("page in headless Chromium", {"skipped": support})]
    module, found = support
    (folder / "project").mkdir(parents=True)
    (folder / "project" / "bench_steps.py").write_text(STEPS)
    backend = Backend(folder)
    try:
        _store_runs(backend, runs)
        run = backend.call("POST", "/workflows", {"name": "fifty tasks talking"})
        done = subprocess.run([_dotflow(), "start", "--workflow", "bench_steps:fifty_talking"], cwd=folder / "project",
                              env=_env(folder, **run["env"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=300)
        assert done.returncode == 0, f"the run of 50 tasks exited {done.returncode}"
        detail = backend.call("GET", f"/workflows/{run['id']}")
        lines = len(backend.call("GET", f"/workflows/{run['id']}/logs?limit=1000")["records"])
        pages = {"runs": "/", "run": f"/workflows/{run['id']}"}
        results = [_in_one_browser(module, found, backend.url, pages) for _ in range(rounds)]
    finally:
        backend.stop()

    def ms(values: list[float]) -> tuple[float, float]:
        return round(statistics.median(values), 1), round(max(values), 1)

    def row(page: str, when: str) -> dict[str, Any]:
        loads = [result[page][when] for result in results]
        values: dict[str, Any] = {
            "rounds": rounds, "first byte ms": ms([load["response"] for load in loads]),
            "DOMContentLoaded ms": ms([load["dom"] for load in loads]), "load ms": ms([load["load"] for load in loads]),
        }
        paints = [load["paint"] for load in loads if load["paint"] is not None]
        if paints:
            values["first paint ms"] = ms(paints)
        values["style and script fetched"] = " or ".join(str(n) for n in sorted({load["statics_fetched"]
                                                                                for load in loads}))
        values["HTML KB"] = round(loads[0]["bytes"] / 1024)
        shown = ("rows", loads[0]["rows"]) if page == "runs" else ("tasks", loads[0]["tasks"])
        values[f"{shown[0]} shown"] = shown[1]
        if page == "run":
            values["log lines shown"] = loads[0]["lines"]
        return values

    def update(page: str) -> dict[str, Any]:
        updates = [result[page]["update"] for result in results]
        rendered = [u["rendered"] for u in updates if u["rendered"] is not None]
        fetches = [u["fetch"] for u in updates if u["fetch"] is not None]
        return {"rounds": len(updates), "rendered ms": ms(rendered) if rendered else "not seen",
                "its fragment fetched in ms": ms(fetches) if fetches else "not seen",
                "missed": len(updates) - len(rendered)}

    stored = f"{runs:,} runs"
    tasks = f"{len(detail['tasks'])} tasks, {lines} log lines"
    return [(f"runs page in Chromium, {stored} stored, first load (cache empty)", row("runs", "cold")),
            ("runs page in Chromium, loaded again (cached)", row("runs", "warm")),
            ("runs page: first live update (a poll every 2 s)", update("runs")),
            (f"a run's page in Chromium, {tasks}, first load (cache empty)", row("run", "cold")),
            ("a run's page in Chromium, loaded again (cached)", row("run", "warm")),
            ("a run's page: first live update (a poll every 1 s)", update("run"))]


def _use_test_support() -> None:
    """Make the tests' helpers for PostgreSQL and Chromium importable (tests/backend)."""
    folder = str(Path(__file__).resolve().parent.parent / "tests" / "backend")
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _postgres_url(folder: Path) -> tuple[Any, str]:
    _use_test_support()
    from postgres_support import Postgres, find_binaries

    binaries = find_binaries()
    assert binaries is not None, "PostgreSQL is not installed: apt-get install postgresql"
    cluster = Postgres(binaries).start()
    return cluster, cluster.new_database()


FIGURES = ("runners", "ingest", "kill", "page", "browser")


def _shown(value: Any) -> str:
    """A value in the table: a (median, max) pair of a browser figure as ``median / max``."""
    return f"{value[0]:g} / {value[1]:g}" if isinstance(value, tuple) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", action="store_true", help="also measure ingest on PostgreSQL")
    parser.add_argument("--figure", action="append", choices=FIGURES,
                        help="measure this figure (repeatable; all of them by default)")
    parser.add_argument("--runs", type=int, default=1000, help="runs stored for the page figures (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="browsers, one per round, for the browser figure")
    args = parser.parse_args()
    chosen = args.figure or FIGURES
    rows: list[tuple[str, dict[str, Any]]] = []

    def add(*found: tuple[str, dict[str, Any]]) -> None:
        for row in found:
            rows.append(row)
            print(row[0], row[1], flush=True)

    with tempfile.TemporaryDirectory(prefix="dotflow-bench-backend-") as tmp:
        root = Path(tmp)
        if "runners" in chosen:
            add(("20 runners x 50 tasks, SQLite", twenty_runners(root / "twenty")))
        if "ingest" in chosen:
            add(("ingest, 50 clients, SQLite", ingest(root / "ingest-sqlite", None)))
            if args.postgresql:
                cluster, url = _postgres_url(root)
                try:
                    add(("ingest, 50 clients, PostgreSQL", ingest(root / "ingest-pg", url)))
                finally:
                    cluster.stop()
        if "kill" in chosen:
            add(("kill -9 to Crashed, 1 s beat", kill_to_crashed(root / "kill")))
        if "page" in chosen:
            add((f"runs page, {args.runs:,} runs stored", page_with_a_thousand_runs(root / "page", args.runs)))
        if "browser" in chosen:
            add(*page_in_a_browser(root / "browser", args.runs, args.rounds))
    print()
    print("| figure | result |\n|---|---|")
    for name, values in rows:
        print(f"| {name} | {', '.join(f'{k}: {_shown(v)}' for k, v in values.items())} |")
    if "browser" in chosen:
        print("(browser figures: median / max of the rounds, in ms from the navigation's start)")
    sys.stdout.flush()
    print(json.dumps({"figure": "backend", "python": sys.version.split()[0],
                      "results": [{"figure": name, **values} for name, values in rows]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
