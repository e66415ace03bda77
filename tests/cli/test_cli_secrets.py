"""A step's own exception text never carries a secret out: the token, URL credentials and a
profile's secret values are masked in the summary, the log lines, ``-v`` tracebacks, ``--output
json``, the log file, ``result()`` and every body sent to the backend, whatever characters they
hold and whoever wrote the text."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest

LEAKY = textwrap.dedent(
    '''
    import os
    from dotflow import action

    @action
    def leak():
        token = os.environ["SERVER_USER_TOKEN"]
        base_url = os.environ["SERVER_BASE_URL"]
        password = os.environ.get("LEAK_PASSWORD", "")
        raise RuntimeError("failed: token=" + token + " url=" + base_url + " password=" + password)
    '''
)

# (token, password as written in the URL, the password itself): special characters, a trailing
# newline in the token, an encoded and a raw "@" in the password, unicode, a 3-character token
CASES = {
    "special": ("t0k!$&'()*+,;=%-secret", quote("p@ss w'rd\"", safe=""), "p@ss w'rd\""),
    "newline": ("tok-with-newline-secret\n", "plainpassword", "plainpassword"),
    "raw-at": ("tok-raw-at-secret", "p@ssw0rd", "p@ssw0rd"),
    "unicode": ("tok-unicode-password-secret", quote("пароль-секрет", safe=""), "пароль-секрет"),
    "short": ("a7z", "shortpw-secret", "shortpw-secret"),
}


@pytest.fixture
def backend(httpserver):
    """A backend that accepts every report; returns (host:port, the bodies it was sent)."""
    httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_json({"ok": True}, status=200)

    def bodies() -> list[str]:
        return [request.get_data().decode("utf-8", "replace") for request, _ in httpserver.log]

    return f"{httpserver.host}:{httpserver.port}", bodies


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_steps_error_holding_secrets_is_masked_in_every_output(case, run_cli, project: Path, backend) -> None:
    """A step raising with the token, the URL and the password in its message: no output of the
    run and no request body holds any of them (text and JSON output, -v, the log file)."""
    token, written, password = CASES[case]
    host, bodies = backend
    (project / "leaky.py").write_text(LEAKY)
    base_url = f"http://user:{written}@{host}/api/v1"
    env = {"SERVER_BASE_URL": base_url, "SERVER_USER_TOKEN": token, "LEAK_PASSWORD": password,
           "DOTFLOW_LOG_OUTPUT": "file", "DOTFLOW_LOG_PATH": str(project / "run.log")}
    text = run_cli("start", "--step", "leaky.leak", "-v", env=env)
    machine = run_cli("start", "--step", "leaky.leak", "--output", "json", env=env)
    assert text.returncode == 1 and machine.returncode == 1, text.stderr + machine.stderr
    assert "failed: token=***" in text.stdout + text.stderr  # the message is there, masked
    error = json.loads(machine.stdout)["tasks"][0]["error"]["message"]
    assert error.startswith("failed: token=***")
    log_file = (project / "run.log").read_text(encoding="utf-8")
    outputs = {"stdout": text.stdout, "stderr": text.stderr, "json": machine.stdout,
               "json stderr": machine.stderr, "log file": log_file, "backend": "\n".join(bodies())}
    secrets = {token.strip(), written, password, f"user:{written}"}
    for where, output in outputs.items():
        for secret in secrets:
            assert secret not in output, f"{secret!r} in {where}"
            assert json.dumps(secret)[1:-1] not in output, f"{secret!r} (JSON-escaped) in {where}"


def test_result_and_task_errors_hold_the_masked_text(backend) -> None:
    """In a library run, ``result()`` and ``task.errors`` hold the masked message and traceback;
    the exception object itself is left as raised."""
    from dotflow import Config, DotFlow, action
    from dotflow.providers import ServerAPI

    token = "lib-token-9f8e7d-secret"

    @action
    def leak():
        raise ValueError(f"cannot log in with {token} at http://admin:hunter22@db.internal/x")

    host, bodies = backend
    flow = DotFlow(config=Config(server=ServerAPI(f"http://{host}/api/v1", token)), workflow_id="masked")
    flow.task.add(leak)
    flow.start()
    flow.flush(5)
    assert bodies() and not any(token in body or "hunter22" in body for body in bodies())
    error = flow.result_task()[0].errors[-1]
    assert error.message == "cannot log in with *** at http://***@db.internal/x"
    assert token not in error.traceback and "hunter22" not in error.traceback
    assert token not in json.dumps(flow.result())
    assert token in str(error.error)  # the exception object is the step's own


def test_short_secrets_are_masked_only_where_they_stand_alone() -> None:
    """A secret under 8 characters is hidden where it stands alone, never inside a word; one under
    3 characters is not remembered at all: it cannot be told from ordinary text."""
    from dotflow.redact import mask_secrets, remember_secrets

    remember_secrets("q9z", "7")
    assert mask_secrets("token=q9z; sq9zz") == "token=***; sq9zz"
    assert mask_secrets("attempt 7 of 9") == "attempt 7 of 9"
