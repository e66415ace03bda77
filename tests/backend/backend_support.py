"""The real ``dotflow backend start`` process for the backend's tests, an HTTP client for its API, and
real ``dotflow start`` runs as managed containers using the env the backend hands out."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

OPERATOR = "operator-token-for-the-tests-5f2c9a"
LISTENING = re.compile(r"listening on (http://\S+)")
WAIT = 30.0  # an upper bound on anything here; a pass takes a fraction of it

STEPS = '''
import os, sys, time
import dotflow
from dotflow import DotFlow, TaskCancelled, action


@action
def extract():
    print("extracted 3 rows")
    task = dotflow.current_task()
    task.metadata(rows=3, report="https://example.com/r/1")
    task.progress(3, 3, "rows")
    return 3


@action
def broken():
    print("about to fail", file=sys.stderr)
    raise RuntimeError("the source is down")


@action
def load():
    return "loaded"


@action
def slow():
    task = dotflow.current_task()
    steps = int(float(os.environ.get("SLOW_SECONDS", "60")) / 0.05)
    for done in range(steps):
        task.progress(done, steps, "waiting")
        if task.cancel_requested():
            raise TaskCancelled("stopping as asked")
        time.sleep(0.05)
    return "waited"


@action
def chatter():
    lines, pause = int(os.environ.get("CHATTER_LINES", "20")), float(os.environ.get("CHATTER_PAUSE", "0.03"))
    for line in range(lines):
        print(f"line {line} of {lines}")
        time.sleep(pause)
    return lines


@action
def hostile():
    print('<script>window.__xss = "print"</script><img src=x onerror="window.__xss = 1">')
    dotflow.current_task().metadata(note='<img src=x onerror="window.__xss = 2">', link="javascript:alert(1)")
    raise RuntimeError('<script>window.__xss = "error"</script><img src=x onerror="window.__xss = 3">')


def hostile_flow():
    flow = DotFlow()
    flow.task.add(hostile)
    return flow


def passing():
    flow = DotFlow()
    flow.task.add([extract, load])
    return flow


def failing():
    flow = DotFlow()
    flow.task.add([extract, broken, load, load])
    return flow


def noisy():
    flow = DotFlow()
    flow.task.add([extract, chatter, chatter, broken, load])
    return flow


def waiting():
    flow = DotFlow()
    flow.task.add([extract, slow, load])
    return flow
'''


class Reply(NamedTuple):
    """An answer of the backend: status, headers (names lower-cased), the body parsed (None when not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without dotflow's or a managed runner's variables, with private
    config and data folders, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DOTFLOW_") and key not in ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def dotflow_exe() -> str:
    found = shutil.which("dotflow", path=str(Path(sys.executable).parent)) or shutil.which("dotflow")
    assert found, "the dotflow console script is not installed"
    return found


def call(base: str, method: str, path: str, body: Any = None, *, token: str | None = OPERATOR,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    """One request to the backend at ``base`` (``http://host:port``); ``path`` is sent as written."""
    parts = urlsplit(base)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["X-User-Token"] = token
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=WAIT)
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, every: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy and return it; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(every)


class BackendProcess:
    """``dotflow backend start`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, tmp_path: Path, *, db: str | None = None, token: str | None = OPERATOR,
                 args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.tmp_path = tmp_path
        self.db = db if db is not None else f"sqlite:///{tmp_path / 'backend.db'}"
        extra = {} if token is None else {"DOTFLOW_BACKEND_TOKEN": token}
        self.env = clean_env(tmp_path, **extra, **(env or {}))
        self.args = args
        self.lines: list[str] = []
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path = tmp_path / f"backend-stderr-{time.monotonic_ns()}.txt"

    def start(self) -> BackendProcess:
        command = [dotflow_exe(), "backend", "start", "--port", "0", "--db", self.db, *self.args]
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                            env=self.env, cwd=self.tmp_path, stdin=subprocess.DEVNULL)
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()
        found = wait_until(lambda: self.process is not None and (self._listening() or self.process.poll() is not None),
                           timeout=WAIT)
        assert isinstance(found, str), f"the backend did not start: {self.output()} {self.stderr()}"
        self.url = found
        return self

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def _listening(self) -> str | None:
        for line in list(self.lines):
            found = LISTENING.search(line)
            if found and any(line.startswith("  page:") for line in self.lines):
                return found.group(1)
        return None

    def output(self) -> str:
        return "\n".join(self.lines)

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> Reply:
        """A request to ``/api/v1`` + ``path``."""
        return call(self.url, method, "/api/v1" + path, body, **options)

    def new_run(self, name: str = "a managed run") -> dict[str, Any]:
        reply = self.call("POST", "/workflows", {"name": name})
        assert reply.status == 201, reply
        return dict(reply.body)

    def run(self, run_id: str, token: str = OPERATOR) -> dict[str, Any]:
        reply = self.call("GET", f"/workflows/{quote(run_id, safe='')}", token=token)
        assert reply.status == 200, reply
        return dict(reply.body)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT) -> int:
        """Send ``sig`` and wait for the exit; the return code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        return code

    def __enter__(self) -> BackendProcess:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)


def write_steps(folder: Path) -> Path:
    """A project folder holding ``steps.py`` (the workflows ``passing``, ``failing``, ``noisy``,
    ``waiting`` and ``hostile_flow``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "steps.py").write_text(STEPS)
    return folder


def runner_env(tmp_path: Path, run: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a managed container: the env the backend handed out, a 1 s heartbeat."""
    values = {**run["env"], "DOTFLOW_SERVER_HEARTBEAT_INTERVAL": "1", "DOTFLOW_SERVER_FLUSH_TIMEOUT": "10", **extra}
    return clean_env(tmp_path, **values)


def start_runner(project: Path, env: dict[str, str], workflow: str, *args: str) -> subprocess.Popen[str]:
    """``dotflow start --workflow steps:<workflow> [args]`` as a managed container would run it."""
    return subprocess.Popen([dotflow_exe(), "start", "--workflow", f"steps:{workflow}", *args], cwd=project,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def run_runner(project: Path, env: dict[str, str], workflow: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dotflow_exe(), "start", "--workflow", f"steps:{workflow}", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=WAIT * 2, stdin=subprocess.DEVNULL)


def task_statuses(run: dict[str, Any]) -> list[str]:
    return [task["status"] for task in run["tasks"]]


def kill_while_the_second_task_runs(backend: Any, run_id: str, runner: subprocess.Popen[str],
                                    timeout: float = WAIT) -> float:
    """kill -9 ``runner`` once the backend holds a heartbeat of the run and its first task Completed,
    its second In progress; the time.monotonic() of the kill."""
    try:
        wait_until(lambda: (backend.run(run_id)["heartbeat"] or {}).get("last_at")
                   and task_statuses(backend.run(run_id))[:2] == ["Completed", "In progress"], timeout=timeout)
        runner.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        runner.wait(10)
        return killed
    finally:
        runner.kill()


class Exchange(NamedTuple):
    """One request an in-process backend served, and its answer."""

    method: str
    raw_path: str  # as received, still percent-encoded
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int
    answer_headers: dict[str, str]
    answer: bytes


class Recorder:
    """An ASGI wrapper keeping every HTTP exchange of the application it wraps."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, answer = bytearray(), bytearray()
        started: dict[str, Any] = {}

        async def receiving() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                started["status"] = message["status"]
                started["headers"] = {k.decode("latin-1").lower(): v.decode("latin-1")
                                      for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receiving, sending)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.exchanges.append(Exchange(scope["method"], (scope.get("raw_path") or b"").decode("latin-1"), headers,
                                       bytes(body), started.get("status", 0), started.get("headers", {}),
                                       bytes(answer)))


class InProcessBackend:
    """The backend's application served by uvicorn on a thread of the test process (to wrap it, as
    :class:`Recorder` does), over a SQLite file; the operator token is ``OPERATOR``."""

    def __init__(self, tmp_path: Path, wrap: Callable[[Any], Any] = lambda app: app) -> None:
        import uvicorn

        from dotflow.backend.app import AppOptions, create_app
        from dotflow.backend.database import open_engine, parse_url
        from dotflow.backend.migrations import migrate
        from dotflow.backend.server import bind
        from dotflow.backend.store import Store

        engine = open_engine(parse_url(f"sqlite:///{tmp_path / 'in-process.db'}"))
        migrate(engine)
        self.store = Store(engine)
        self.store.use_operator_token(OPERATOR)
        self.app = wrap(create_app(self.store, AppOptions()))
        self._socket = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_config=None, lifespan="on"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> Reply:
        return call(self.url, method, "/api/v1" + path, body, **options)

    def __enter__(self) -> InProcessBackend:
        self._thread.start()
        wait_until(lambda: self.server.started, timeout=WAIT)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.should_exit = True
        self._thread.join(WAIT)
        self._socket.close()
