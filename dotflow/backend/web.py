"""The page: log in with the operator token, the runs, a run with its tasks, and its Cancel button.

Everything a run sends (names, errors, log lines, metadata) reaches the page as text: the
templates autoescape, the Content-Security-Policy allows scripts from ``/static`` alone (no inline
script, no ``eval``), and the live updates fetch fragments the same templates rendered and put
them in place without running anything in them. The timeline is SVG whose sizes are attributes,
so no inline style is needed either.

A session is a signed cookie (HttpOnly, SameSite=Strict): its expiry and a nonce, signed with a
key derived from a random secret kept in the database and from the operator token's digest, so
every backend on the database reads it and a new operator token ends every session. The operator
token itself is never in a page, a URL, a cookie or a log. Forms that change state carry a CSRF
token derived from the session's nonce; the login form one from a cookie of its own. A failed
login waits 1 s, doubling with each failure from the same address up to 8 s.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dotflow.backend import statuses, tokens
from dotflow.backend.store import OPERATOR, BadReport, RunEnded, Store, UnknownRun

if TYPE_CHECKING:
    from jinja2 import Environment
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SESSION_COOKIE: Final = "dotflow_session"
LOGIN_COOKIE: Final = "dotflow_login"
SESSION_SECONDS: Final = 12 * 3600
LINES_PER_TASK: Final = 5
FORM_LIMIT: Final = 16 * 1024
CSP: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Sessions:
    """Signed session cookies, and the CSRF tokens of their forms."""

    def __init__(self, secret: bytes, operator_digest: str, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret, operator_digest.encode("ascii"), hashlib.sha256).digest()
        self._clock = clock

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode("ascii"), hashlib.sha256).hexdigest()

    def new(self) -> str:
        """A fresh session cookie's value."""
        expires, nonce = int(self._clock()) + SESSION_SECONDS, secrets.token_urlsafe(18)
        return f"{expires}.{nonce}.{self._sign(f'session.{expires}.{nonce}')}"

    def nonce(self, cookie: str | None) -> str | None:
        """The session's nonce when ``cookie`` is a valid, unexpired session; else None."""
        if not cookie or len(cookie) > 256:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        expires, nonce, signature = parts
        if not tokens.same_digest(self._sign(f"session.{expires}.{nonce}"), signature):
            return None
        return nonce if int(expires) > self._clock() else None

    def csrf(self, nonce: str) -> str:
        return self._sign(f"csrf.{nonce}")

    def csrf_ok(self, nonce: str, given: Any) -> bool:
        return isinstance(given, str) and len(given) < 256 and tokens.same_digest(self.csrf(nonce), given)


class LoginThrottle:
    """How long a failed login waits: 1 s, doubling per failure from one address, at most 8 s."""

    FIRST, MOST, FORGET = 1.0, 8.0, 900.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def failed(self, client: str) -> float:
        now = self._clock()
        if len(self._failures) > 10_000:
            self._failures = {k: v for k, v in self._failures.items() if now - v[1] < self.FORGET}
        count, last = self._failures.get(client, (0, now))
        count = count + 1 if now - last < self.FORGET else 1
        self._failures[client] = (count, now)
        return min(self.MOST, self.FIRST * 2 ** (count - 1))

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def security_headers(app: ASGIApp) -> ASGIApp:
    """Every answer gets the Content-Security-Policy and the other headers of SECURITY_HEADERS."""
    extra = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await app(scope, receive, sending)

    return wrapped


# -- what the templates show -----------------------------------------------------------------------


def _moment(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def shown_time(text: str | None) -> str:
    """A backend time (RFC 3339, UTC) as a person reads it."""
    if not text:
        return "-"
    return text.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"


def shown_duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def shown_json(value: Any) -> str:
    """A metadata value as text (a string as it is, anything else as compact JSON)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def timeline(run: dict[str, Any], now: float) -> dict[str, tuple[float, float]]:
    """Each task's bar on a 0..1000 axis from the run's start to its end (or now): ``(x, width)``,
    from its first In progress to its last transition if it ended, else to now."""
    start = _moment(run["started_at"]) or _moment(run["created_at"]) or now
    end = _moment(run["finished_at"]) or now
    span = max(end - start, 1e-3)
    bars = {}
    for task in run["tasks"]:
        moments = [(step["status"], _moment(step["at"])) for step in task["history"]]
        began = next((at for status, at in moments if status == statuses.IN_PROGRESS and at is not None), None)
        finished = moments[-1][1] if task["status"] in statuses.TERMINAL else now
        if began is None and isinstance(task["duration"], (int, float)) and finished is not None:
            began = finished - task["duration"]  # its In progress went by too fast to be reported apart
        if began is None:
            continue
        left = min(1000.0, max(0.0, (began - start) / span * 1000))
        width = max(2.0, min(1000.0 - left, ((finished or now) - began) / span * 1000))
        bars[task["id"]] = (round(left, 1), round(width, 1))
    return bars


def templates() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    environment.filters.update(when=shown_time, took=shown_duration, text=shown_json,
                               url=lambda value: quote(str(value), safe=""))
    environment.globals.update(terminal=statuses.TERMINAL, shown_statuses=sorted(statuses.SHOWN))
    return environment


class Page:
    """The page's routes, over a :class:`Store` and the session signer."""

    def __init__(self, store: Store, sessions: Sessions, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.sessions = sessions
        self.throttle = LoginThrottle()
        self.templates = templates()
        self.clock = clock

    def _render(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        body = self.templates.get_template(name).render(**context)
        return HTMLResponse(body, status_code=code, headers={"Cache-Control": "no-store"})

    def _session(self, request: Request) -> str | None:
        return self.sessions.nonce(request.cookies.get(SESSION_COOKIE))

    # -- logging in and out ----------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        nonce = self._session(request)
        if nonce is None:
            return self._login_page()
        status = request.query_params.get("status")
        if status not in statuses.SHOWN:
            status = None
        runs = await run_in_threadpool(self.store.list_runs, OPERATOR, status, 200)
        return self._render("runs.html", runs=runs, status=status, csrf=self.sessions.csrf(nonce))

    def _login_page(self, code: int = 200, problem: str | None = None) -> Response:
        login = secrets.token_urlsafe(24)
        response = self._render("login.html", code, login_csrf=login, problem=problem)
        response.set_cookie(LOGIN_COOKIE, login, max_age=3600, httponly=True, samesite="strict", path="/login")
        return response

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        expected = request.cookies.get(LOGIN_COOKIE)
        if not expected or not tokens.same_digest(tokens.digest(expected), tokens.digest(form.get("csrf", ""))):
            return self._login_page(403, "The form had expired: log in again.")
        client = request.client.host if request.client else "?"
        who = await run_in_threadpool(self.store.authorize, form.get("token", "").strip())
        if who is None or not who.operator:
            await asyncio.sleep(self.throttle.failed(client))
            return self._login_page(401, "That is not the operator token.")
        self.throttle.succeeded(client)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, self.sessions.new(), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", path="/", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout(self, request: Request) -> Response:
        form = await _form(request)
        nonce = self._session(request)
        if nonce is not None and not self.sessions.csrf_ok(nonce, form.get("csrf")):
            return self._render("message.html", 403, message="The form had expired: go back and try again.")
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- the runs --------------------------------------------------------------------------------

    async def runs_fragment(self, request: Request) -> Response:
        if self._session(request) is None:
            return Response("log in again", status_code=401)
        status = request.query_params.get("status")
        runs = await run_in_threadpool(self.store.list_runs, OPERATOR, status if status in statuses.SHOWN else None,
                                       200)
        return self._render("runs_table.html", runs=runs)

    async def workflow(self, request: Request) -> Response:
        """``/workflows/{id}``, ``/workflows/{id}/cancel`` (POST) and ``/ui/workflows/{id}`` (the fragment)."""
        fragment = request.url.path.startswith("/ui/")
        nonce = self._session(request)
        if nonce is None:
            if fragment:
                return Response("log in again", status_code=401)
            return RedirectResponse("/", status_code=303)
        segments = _raw_segments(request, 3 if fragment else 2)
        if segments is None:
            return self._render("message.html", 404, message="No such page.")
        workflow_id, rest = segments
        if request.method == "POST" and rest == ["cancel"] and not fragment:
            return await self._cancel(request, nonce, workflow_id)
        if rest or request.method != "GET":
            return self._render("message.html", 404, message="No such page.")
        try:
            context = await run_in_threadpool(self._run_context, workflow_id)
        except UnknownRun:
            return self._render("message.html", 404, message="No such run.")
        if fragment:
            return self._render("run_live.html", **context)
        return self._render("run.html", csrf=self.sessions.csrf(nonce), **context)

    def _run_context(self, workflow_id: str) -> dict[str, Any]:
        run = self.store.run_detail(workflow_id, OPERATOR)
        lines = self.store.latest_lines(workflow_id, LINES_PER_TASK)
        steps = self.store.step_names(workflow_id)
        return {"run": run, "lines": lines, "bars": timeline(run, self.clock()), "steps": steps}

    async def _cancel(self, request: Request, nonce: str, workflow_id: str) -> Response:
        form = await _form(request)
        if not self.sessions.csrf_ok(nonce, form.get("csrf")):
            return self._render("message.html", 403, message="The form had expired: go back and try again.")
        body: dict[str, Any] = {"reason": form.get("reason", "").strip() or "cancelled from the page"}
        grace = form.get("grace", "").strip()
        if grace:
            try:
                body["grace"] = float(grace)
            except ValueError:
                return self._render("message.html", 400, message="The grace is a number of seconds.")
        try:
            await run_in_threadpool(self.store.cancel, workflow_id, body)
        except UnknownRun:
            return self._render("message.html", 404, message="No such run.")
        except (RunEnded, BadReport) as exc:
            return self._render("message.html", 409, message=f"Not cancelled: {exc}")
        return RedirectResponse(f"/workflows/{quote(workflow_id, safe='')}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form's fields (the first value of each); {} for anything else."""
    from urllib.parse import parse_qsl

    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > FORM_LIMIT:
            return {}
        chunks.append(chunk)
    try:
        pairs = parse_qsl(b"".join(chunks).decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _raw_segments(request: Request, skip: int) -> tuple[str, list[str]] | None:
    """``(workflow id, the segments after it)`` from the raw path, after ``skip`` leading segments
    (``/workflows`` or ``/ui/workflows``), each percent-decoded after the split."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    parts = [unquote(part, errors="replace") for part in raw.split(b"?", 1)[0].decode("latin-1").split("/")]
    parts = parts[skip:]
    if not parts or not parts[0]:
        return None
    return parts[0], [part for part in parts[1:] if part]
