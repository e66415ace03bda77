"""scripts/run_upstream_tests.py: where it finds 1.0.1's tests, and how it counts and tallies them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_upstream_tests.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_upstream_tests", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_without_a_source_it_says_where_the_tests_come_from(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """With no clone given (argument or variable) it exits 2 saying PyPI's packages ship no tests."""
    monkeypatch.delenv("DOTFLOW_UPSTREAM_GIT", raising=False)
    assert _script().main([]) == 2
    err = capsys.readouterr().err
    assert "ship no tests" in err and "DOTFLOW_UPSTREAM_GIT" in err


def test_it_counts_the_tests_pytest_would_collect_inherited_ones_included(tmp_path: Path) -> None:
    """Module functions, Test* classes and TestCase subclasses count, with the test methods of a mixin
    read from the same revision (1.x's StorageContract); other classes and helpers do not."""
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "contract.py").write_text(
        "class Contract:\n    def test_a(self): pass\n    def test_b(self): pass\n    def helper(self): pass\n")
    (repo / "tests" / "test_one.py").write_text(
        "import unittest\nfrom pkg.contract import Contract\n\n"
        "def test_plain(): pass\ndef helper(): pass\n\n"
        "class TestGroup:\n    def test_x(self): pass\n\n"
        "class Mine(Contract, unittest.TestCase):\n    def test_own(self): pass\n\n"
        "class NotATest:\n    def test_hidden(self): pass\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"],
                   check=True)
    script = _script()
    laid = tmp_path / "laid"
    laid.mkdir()
    note = script.lay_out(repo, "HEAD", None, laid)
    assert "none given" in note and (laid / "pytest.ini").exists()
    counting = script.Counting(repo, "HEAD", laid)
    assert [counting.count_file(path) for path in script.test_files(laid)] == [1 + 1 + 3]


def test_outcomes_tell_tests_from_files_that_did_not_load(tmp_path: Path) -> None:
    """A collection failure names a file, not a test; a test reported twice (its teardown failed) failed."""
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="" name="tests.test_gone"><error message="collection failure">E   ImportError: x'
        '</error></testcase>'
        '<testcase classname="tests.test_a.T" name="test_ok"/>'
        '<testcase classname="tests.test_a.T" name="test_td"/>'
        '<testcase classname="tests.test_a.T" name="test_td"><error message="failed on teardown"/></testcase>'
        '<testcase classname="tests.test_a.T" name="test_skip"><skipped/></testcase>'
        '</testsuite></testsuites>')
    tests, broken = _script().outcomes(junit)
    assert tests == {"tests.test_a.T::test_ok": "passed", "tests.test_a.T::test_td": "failed",
                     "tests.test_a.T::test_skip": "skipped"}
    assert broken == {"tests/test_gone.py": "E   ImportError: x"}
