"""The page over real HTTP to the real backend process: logging in (the login form's CSRF token, a
slowed failure, the session cookie's flags), the pages and fragments behind the session, the Cancel
form's CSRF token, escaping, and the headers (a Content-Security-Policy without inline script)."""

from __future__ import annotations

import http.client
import re
import time
from http.cookies import SimpleCookie
from typing import NamedTuple
from urllib.parse import quote, urlencode, urlsplit

import pytest
from backend_support import OPERATOR, BackendProcess

from dotflow.backend.web import LoginThrottle, Sessions

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Page(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> SimpleCookie:
        jar: SimpleCookie = SimpleCookie()
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                jar.load(value)
        return jar


def fetch(backend: BackendProcess, method: str, path: str, form: dict[str, str] | None = None,
          cookies: dict[str, str] | None = None) -> Page:
    parts = urlsplit(backend.url)
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Page(response.status, response.getheaders(), response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def log_in(backend: BackendProcess) -> dict[str, str]:
    """The cookies of a logged-in session, through the login form."""
    form = fetch(backend, "GET", "/")
    login = form.cookies()["dotflow_login"].value
    answer = fetch(backend, "POST", "/login", {"token": OPERATOR, "csrf": CSRF.search(form.text).group(1)},
                   {"dotflow_login": login})
    assert answer.status == 303, answer
    return {"dotflow_session": answer.cookies()["dotflow_session"].value}


def test_the_login_form_and_a_session_cookie(backend: BackendProcess) -> None:
    """/ without a session is the login form (its own CSRF cookie); the right token gives a session
    cookie that is HttpOnly and SameSite=Strict, and the runs page; the token is in no page."""
    form = fetch(backend, "GET", "/")
    assert form.status == 200 and 'type="password"' in form.text
    session = log_in(backend)
    page = fetch(backend, "GET", "/", cookies=session)
    assert page.status == 200 and "<h1>Runs</h1>" in page.text and OPERATOR not in page.text
    answer = fetch(backend, "POST", "/login", {"token": OPERATOR, "csrf": CSRF.search(form.text).group(1)},
                   {"dotflow_login": form.cookies()["dotflow_login"].value})
    cookie = answer.cookies()["dotflow_session"]
    assert cookie["httponly"] is True and cookie["samesite"] == "strict" and cookie["path"] == "/"
    assert OPERATOR not in cookie.value


def test_a_wrong_token_is_refused_slowly_and_a_login_without_its_csrf_cookie_at_once(backend: BackendProcess) -> None:
    form = fetch(backend, "GET", "/")
    csrf, login = CSRF.search(form.text).group(1), form.cookies()["dotflow_login"].value
    began = time.monotonic()
    wrong = fetch(backend, "POST", "/login", {"token": "not-the-token-at-all", "csrf": csrf}, {"dotflow_login": login})
    assert wrong.status == 401 and time.monotonic() - began >= 0.9
    assert "not the operator token" in wrong.text and "not-the-token-at-all" not in wrong.text
    assert wrong.cookies().get("dotflow_session") is None
    assert fetch(backend, "POST", "/login", {"token": OPERATOR, "csrf": csrf}).status == 403  # no login cookie
    log_in(backend)  # a success forgets the failures: the next one waits 1 s again
    run = backend.new_run()
    assert fetch(backend, "POST", "/login", {"token": run["token"], "csrf": csrf}, {"dotflow_login": login}).status \
        == 401  # a run token is no operator


def test_failed_logins_wait_longer_each_time() -> None:
    """1 s, 2 s, 4 s, 8 s, 8 s from one address; another address starts at 1 s; a success forgets."""
    throttle = LoginThrottle(clock=lambda: 100.0)
    assert [throttle.failed("a") for _ in range(5)] == [1, 2, 4, 8, 8]
    assert throttle.failed("b") == 1
    throttle.succeeded("a")
    assert throttle.failed("a") == 1


def test_sessions_are_signed_expire_and_end_with_a_new_operator_token() -> None:
    now = [1000.0]
    sessions = Sessions(b"s" * 32, "digest-1", clock=lambda: now[0])
    cookie = sessions.new()
    nonce = sessions.nonce(cookie)
    assert nonce is not None and sessions.csrf_ok(nonce, sessions.csrf(nonce))
    expires, nonce_text, signature = cookie.split(".")
    assert sessions.nonce(f"{int(expires) + 999}.{nonce_text}.{signature}") is None  # expiry changed
    assert Sessions(b"s" * 32, "digest-2").nonce(cookie) is None  # another operator token
    assert not sessions.csrf_ok(nonce, "0" * 64) and not sessions.csrf_ok(nonce, None)
    now[0] += 13 * 3600
    assert sessions.nonce(cookie) is None


def test_pages_need_a_session(backend: BackendProcess) -> None:
    run = backend.new_run()
    path = f"/workflows/{quote(run['id'], safe='')}"
    assert fetch(backend, "GET", path).status == 303
    assert fetch(backend, "GET", "/ui/runs").status == 401
    assert fetch(backend, "GET", "/ui" + path).status == 401
    assert fetch(backend, "GET", path, cookies={"dotflow_session": "1.2.3"}).status == 303
    session = log_in(backend)
    assert fetch(backend, "GET", path, cookies=session).status == 200
    assert fetch(backend, "GET", "/ui" + path, cookies=session).status == 200
    assert fetch(backend, "GET", "/workflows/no-such-run", cookies=session).status == 404


def test_the_cancel_form_needs_its_csrf_token(backend: BackendProcess) -> None:
    """Without the page's CSRF token (or with another session's) the form cancels nothing (403);
    with it the run is cancelled and the browser sent back to the run's page."""
    run = backend.new_run()
    path = f"/workflows/{quote(run['id'], safe='')}"
    session, other = log_in(backend), log_in(backend)
    assert fetch(backend, "POST", path + "/cancel", {"reason": "forged"}, session).status == 403
    theirs = CSRF.search(fetch(backend, "GET", path, cookies=other).text).group(1)
    assert fetch(backend, "POST", path + "/cancel", {"reason": "forged", "csrf": theirs}, session).status == 403
    assert backend.run(run["id"])["cancel"] is None
    page = fetch(backend, "GET", path, cookies=session)
    csrf = re.search(r'id="cancel-form"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', page.text).group(1)
    done = fetch(backend, "POST", path + "/cancel", {"reason": "from the page", "grace": "3", "csrf": csrf}, session)
    assert done.status == 303 and done.header("location") == path
    cancel = backend.run(run["id"])["cancel"]
    assert cancel["reason"] == "from the page" and cancel["grace"] == 3


def test_what_a_run_sends_is_shown_as_text(backend: BackendProcess) -> None:
    """A name holding markup is escaped in the list, the run's page and the fragments."""
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    run = backend.new_run(hostile)
    session = log_in(backend)
    path = f"/workflows/{quote(run['id'], safe='')}"
    for page in (fetch(backend, "GET", "/", cookies=session), fetch(backend, "GET", path, cookies=session),
                 fetch(backend, "GET", "/ui/runs", cookies=session)):
        assert hostile not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize("path", ["/", "/static/backend.js", "/api/v1/workflows"])
def test_every_answer_forbids_inline_script(backend: BackendProcess, path: str) -> None:
    page = fetch(backend, "GET", path)
    policy = page.header("content-security-policy") or ""
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert page.header("x-content-type-options") == "nosniff" and page.header("x-frame-options") == "DENY"


def test_the_pages_hold_no_inline_script(backend: BackendProcess) -> None:
    session = log_in(backend)
    run = backend.new_run()
    for path in ("/", f"/workflows/{run['id']}"):
        text = fetch(backend, "GET", path, cookies=session).text
        assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/backend.js" defer>']
        assert not re.search(r"<[^>]+\son\w+=", text)
