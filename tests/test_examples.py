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
    ],
)
def test_example_prints_its_result(script: str, expected: str, tmp_path: Path) -> None:
    """The example exits 0 and prints its documented result."""
    assert expected in _run(script, tmp_path)


def test_resume_example_skips_work_on_the_second_run(tmp_path: Path) -> None:
    """examples/resume.py computes on the first run and reads checkpoints on the second."""
    first = _run("resume.py", tmp_path)
    second = _run("resume.py", tmp_path)
    assert "expensive: computing" in first and "expensive: computing" not in second
    assert "[{'answer': 42}, 43]" in second
