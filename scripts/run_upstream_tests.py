"""Run dotflow 1.0.1's own test suite against this package and print passed / failed / not loaded.

    python scripts/run_upstream_tests.py GIT_DIR [--examples GIT_DIR] [--rev v1.0.1] [-v] [-- PYTEST_ARGS]

Where the tests come from: 1.0.1's distributions on PyPI ship none (its sdist, what
``pip download dotflow==1.0.1 --no-deps --no-binary :all:`` gives, holds ``dotflow/``,
``README.md``, ``LICENSE``, ``pyproject.toml`` and ``PKG-INFO``; the wheel the package alone), so
they are read from a git clone of the dotflow-io/dotflow repository: GIT_DIR, or the variable
``DOTFLOW_UPSTREAM_GIT``, is its work tree or its git directory (a bare clone will do). Nothing is
fetched. Its ``tests/test_integration.py`` imports the ``examples`` submodule (dotflow-io/examples),
at the commit the clone records for it: from the submodule when it is checked out in the clone's
work tree (``git clone --recurse-submodules``), else from ``--examples`` (or
``DOTFLOW_UPSTREAM_EXAMPLES_GIT``), a clone of that repository; without either, that file's
tests count as not loaded.

The tests are copied to a temporary folder and run there by pytest, in a subprocess whose
``sys.path`` starts with that folder and then this repository, so ``import dotflow`` is this
package; the environment's dotflow variables are dropped and HOME is a temporary folder, so no
profile, server or saved login of this machine takes part. "Not loaded" counts the tests of the
files pytest could not import (1.0.1's internal modules, mostly); the total is counted from the
sources (test functions and methods, inherited ones included), as pytest collects them under 1.0.1.
Prints the summary line, and with ``-v`` every test that did not pass and every file not loaded.
Exit status: 0 when it ran, 2 when the tests cannot be found.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIT_VARIABLE = "DOTFLOW_UPSTREAM_GIT"
EXAMPLES_VARIABLE = "DOTFLOW_UPSTREAM_EXAMPLES_GIT"
NO_SOURCE = f"""\
error: no source for dotflow 1.0.1's tests.
  1.0.1's packages on PyPI ship no tests (the sdist holds the package, README, LICENSE and
  pyproject.toml only), so they are read from a clone of the dotflow-io/dotflow repository:
    python scripts/run_upstream_tests.py PATH/TO/CLONE [--examples PATH/TO/EXAMPLES-CLONE]
  or set {GIT_VARIABLE} (and {EXAMPLES_VARIABLE} for the examples submodule, which
  tests/test_integration.py imports)."""


def git(repo: Path, *args: str, binary: bool = False) -> bytes:
    """The output of ``git -C repo args``; raises CalledProcessError with git's message."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout


def extract(repo: Path, rev: str, path: str, into: Path) -> None:
    """Write ``path`` of ``rev`` in ``repo`` (a file or a folder) under ``into``."""
    archive = git(repo, "archive", "--format=tar", rev, path)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def resolve_rev(repo: Path, wanted: str) -> str:
    """``wanted`` when the clone has it, else HEAD (a clone without tags)."""
    for rev in (wanted, "HEAD"):
        try:
            return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
        except subprocess.CalledProcessError:
            continue
    raise SystemExit(f"error: {repo} has neither {wanted!r} nor HEAD; is it a clone of dotflow-io/dotflow?")


def lay_out(repo: Path, rev: str, examples_repo: Path | None, into: Path) -> str:
    """Put 1.0.1's ``tests/`` and ``examples/`` in ``into``; returns what became of the examples."""
    extract(repo, rev, "tests", into)
    examples = into / "examples"
    note = "examples: "
    gitlink = git(repo, "ls-tree", rev, "examples").decode().split()
    checked_out = repo / "examples"
    if checked_out.is_dir() and any(checked_out.glob("*.py")):
        try:  # the commit the submodule records, which the checkout may have moved from
            examples.mkdir()
            extract(checked_out, gitlink[2], ".", examples)
            note += f"the submodule in {checked_out} at {gitlink[2][:7]}"
        except (IndexError, subprocess.CalledProcessError):
            subprocess.run(["rm", "-rf", str(examples)], check=True)
            subprocess.run(["cp", "-r", str(checked_out), str(into)], check=True)
            note += f"the submodule as checked out in {checked_out}"
    elif examples_repo is not None and len(gitlink) >= 3:
        examples.mkdir()
        extract(examples_repo, gitlink[2], ".", examples)
        note += f"{examples_repo} at {gitlink[2][:7]}"
    else:
        note += "none given (tests/test_integration.py does not load)"
    if examples.is_dir():
        # a regular package, so that another `examples` package on sys.path (this repository's,
        # through an editable install) cannot shadow 1.0.1's namespace package
        (examples / "__init__.py").touch()
    (into / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n", encoding="utf-8")
    return note


class Counting:
    """Counts the tests pytest collects from 1.0.1's test files, by reading them (and the modules
    their test classes inherit from, read from the same revision)."""

    def __init__(self, repo: Path, rev: str, root: Path) -> None:
        self.repo, self.rev, self.root = repo, rev, root
        self.modules: dict[str, ast.Module | None] = {}

    def module(self, dotted: str) -> ast.Module | None:
        if dotted not in self.modules:
            relative = dotted.replace(".", "/") + ".py"
            local = self.root / relative
            try:
                text = local.read_text(encoding="utf-8") if local.exists() else (
                    git(self.repo, "show", f"{self.rev}:{relative}").decode("utf-8")
                )
                self.modules[dotted] = ast.parse(text)
            except (subprocess.CalledProcessError, SyntaxError, UnicodeDecodeError):
                self.modules[dotted] = None
        return self.modules[dotted]

    def find_class(self, dotted: str, name: str) -> tuple[str, ast.ClassDef] | None:
        tree = self.module(dotted)
        if tree is None:
            return None
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return dotted, node
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self.find_class(node.module, alias.name)
        return None

    def methods(self, dotted: str, cls: ast.ClassDef, seen: frozenset[str] = frozenset()) -> tuple[set[str], bool]:
        """The test methods of ``cls`` with its bases', and whether it is a unittest.TestCase."""
        names = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name.startswith("test")}
        is_case = False
        for base in cls.bases:
            base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
            if base_name in ("TestCase", "IsolatedAsyncioTestCase"):
                is_case = True
                continue
            if base_name is None or base_name in seen:
                continue
            found = self.find_class(dotted, base_name)
            if found is not None:
                inherited, case = self.methods(*found, seen=seen | {base_name})
                names |= inherited
                is_case = is_case or case
        return names, is_case

    def count_file(self, path: Path) -> int:
        dotted = ".".join(path.relative_to(self.root).with_suffix("").parts)
        tree = self.module(dotted)
        if tree is None:
            return 0
        total = 0
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                total += 1
            elif isinstance(node, ast.ClassDef):
                names, is_case = self.methods(dotted, node)
                if is_case or node.name.startswith("Test"):
                    total += len(names)
        return total


def test_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "tests").rglob("*.py") if p.name.startswith("test_") or p.stem.endswith("_test"))


def run_pytest(root: Path, junit: Path, extra: list[str], timeout: float) -> int:
    home = root / "_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOTFLOW_", "SERVER_", "PYTHONPATH")) and k != "WORKFLOW_ID"}
    env.update(PYTHONPATH=os.pathsep.join([str(root), str(REPO)]), HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               f"--junitxml={junit}", "-o", "junit_family=xunit2", *extra]
    try:
        return subprocess.run(command, cwd=root, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: 1.0.1's tests did not finish within {timeout:.0f}s") from None


def outcomes(junit: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each test's outcome (passed, failed, skipped) by file::name, and each file that did not load
    with the first line of its error."""
    tests: dict[str, str] = {}
    broken: dict[str, str] = {}
    for case in ET.parse(junit).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        error = case.find("error")
        if error is not None and (error.get("message") or "").startswith("collection failure"):
            text = (error.text or "").strip().splitlines()
            broken[(classname or name).replace(".", "/") + ".py"] = text[-1] if text else ""
            continue
        if case.find("skipped") is not None:
            outcome = "skipped"
        elif case.find("failure") is not None or error is not None:
            outcome = "failed"
        else:
            outcome = "passed"
        if outcome == "passed" and tests.get(f"{classname}::{name}") == "failed":
            continue  # a test whose teardown failed is reported twice: it failed
        tests[f"{classname}::{name}"] = outcome
    return tests, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("git_dir", nargs="?", default=os.environ.get(GIT_VARIABLE),
                        help=f"a clone of dotflow-io/dotflow (default: ${GIT_VARIABLE})")
    parser.add_argument("--examples", default=os.environ.get(EXAMPLES_VARIABLE),
                        help=f"a clone of dotflow-io/examples (default: ${EXAMPLES_VARIABLE})")
    parser.add_argument("--rev", default="v1.0.1", help="the revision whose tests run (default: v1.0.1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the whole run may take")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tests that did not pass")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    if not args.git_dir:
        print(NO_SOURCE, file=sys.stderr)
        return 2
    repo = Path(args.git_dir).expanduser()
    try:
        rev = resolve_rev(repo, args.rev)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"error: cannot read {repo} with git: {exc}\n\n{NO_SOURCE}", file=sys.stderr)
        return 2
    examples = Path(args.examples).expanduser() if args.examples else None
    with tempfile.TemporaryDirectory(prefix="dotflow-upstream-") as tmp:
        root = Path(tmp)
        note = lay_out(repo, rev, examples, root)
        counting = Counting(repo, rev, root)
        per_file = {str(p.relative_to(root)): counting.count_file(p) for p in test_files(root)}
        junit = root / "_junit.xml"
        run_pytest(root, junit, args.pytest_args, args.timeout)
        tests, broken = outcomes(junit)
    tally = Counter(tests.values())
    loaded = sum(tally.values())
    total = sum(per_file.values())
    if args.pytest_args:  # a selection: only what was selected counts
        total = loaded + sum(per_file.get(name, 0) for name in broken)
    not_loaded = total - loaded
    print(f"dotflow 1.0.1's tests ({args.rev} = {rev[:7]}; {note}) against {REPO / 'dotflow'}")
    if args.verbose:
        for name, outcome in sorted(tests.items()):
            if outcome != "passed":
                print(f"  {outcome:8} {name}")
        for name, reason in sorted(broken.items()):
            print(f"  not loaded ({per_file.get(name, 0)}) {name}: {reason}")
    print(f"{total} tests: {tally['passed']} passed, {tally['failed']} failed, {tally['skipped']} skipped, "
          f"{not_loaded} not loaded ({len(broken)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
