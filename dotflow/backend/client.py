"""Talking to a running backend from the command line, with the standard library alone:
``dotflow backend new-run`` makes a managed run and prints the environment of its container."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from typing import Any

from dotflow.errors import ServerError

TIMEOUT = 15.0


def new_run(url: str, token: str, name: str | None) -> dict[str, Any]:
    """``POST {url}/api/v1/workflows`` ``{"name"}``: the run's id, token and env; ServerError
    saying what went wrong (never with the token)."""
    body = json.dumps({} if name is None else {"name": name}).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/workflows", data=body, method="POST",
                                     headers={"X-User-Token": token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - http(s) URL of the backend
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise ServerError(f"the backend at {url} refused the operator token: set DOTFLOW_BACKEND_TOKEN to "
                              "the token its banner names") from None
        raise ServerError(f"the backend at {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"no backend answered at {url} ({reason}): start one with 'dotflow backend start'") from None


def shell_lines(env: dict[str, str]) -> str:
    """The variables as ``export NAME=value`` lines a POSIX shell can ``eval``."""
    return "\n".join(f"export {name}={shlex.quote(str(value))}" for name, value in env.items())
