"""Every example under examples/ runs as a user would run it, and prints what its docstring promises."""

from __future__ import annotations

from pathlib import Path

import engine_support
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, cwd: Path) -> str:
    return engine_support.run_python(ROOT / "examples" / script, cwd=cwd)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("quickstart.py", "['ada: 162.25', 'grace: 75.50']"),
        ("modes.py", "sequential_group: ['a:1', 'a:1:2', 'b:1', 'b:1:2']"),
        ("class_steps.py", "[3, 6]"),
        ("async_steps.py", "'status': 200"),
        ("retry_timeout.py", "Completed after 2 retries"),
        ("cpu_steps.py", "threads: 1 process, process pool: 2 processes"),
        ("tracing_otel.py", "__main__.load OK retries=1 events=1"),
        ("schedule_cron.py", "3 runs, one second apart; the last result was [3]"),
    ],
)
def test_example_prints_its_result(script: str, expected: str, tmp_path: Path) -> None:
    """The example exits 0 and prints its documented result."""
    assert expected in _run(script, tmp_path)


def test_notify_example_runs_offline_by_default(tmp_path: Path) -> None:
    """examples/notify_on_failure.py, given no URL, posts the failure to its local webhook receiver."""
    offline = {"DISCORD_WEBHOOK_URL": "", "TELEGRAM_TOKEN": "", "TELEGRAM_CHAT_ID": ""}
    out = engine_support.run_python(ROOT / "examples" / "notify_on_failure.py", cwd=tmp_path, extra_env=offline)
    assert out.strip() == "received: Failed | ValueError: row 3 has no price"


def test_logging_example_prints_the_json_records(tmp_path: Path) -> None:
    """examples/logging_json.py writes JSON lines to the file it is given and prints them as documented."""
    out = engine_support.run_python(ROOT / "examples" / "logging_json.py", str(tmp_path / "flow.jsonl"), cwd=tmp_path)
    assert "WARNING Retry retry_count=1 error=ConnectionError: the database is waking up" in out
    assert out.strip().endswith("INFO    Completed retry_count=1 duration=yes")
    assert len((tmp_path / "flow.jsonl").read_text().splitlines()) == 5


def test_sentry_example_runs_offline_without_a_dsn(tmp_path: Path) -> None:
    """examples/sentry_errors.py, given no SENTRY_DSN, prints the event and the transaction it would send."""
    out = engine_support.run_python(ROOT / "examples" / "sentry_errors.py", cwd=tmp_path, extra_env={"SENTRY_DSN": ""})
    assert "event KeyError on __main__.price with 5 breadcrumbs" in out
    assert "transaction dotflow.workflow internal_error: __main__.fetch=ok, __main__.price=internal_error" in out


def test_resume_example_skips_work_on_the_second_run(tmp_path: Path) -> None:
    """examples/resume.py computes on the first run and reads checkpoints on the second."""
    first = _run("resume.py", tmp_path)
    second = _run("resume.py", tmp_path)
    assert "expensive: computing" in first and "expensive: computing" not in second
    assert "[{'answer': 42}, 43]" in second
