"""Hostile or broken input to the real console script: modules that exit, interrupt or raise
BaseException when imported, provider strings naming dangerous functions, a failing callback, bad
numbers and profiles. Each is one ``error:`` line and exit 2 (a managed backend told Failed), never a
traceback, a killed process or a debugger."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe
from terminal_support import assert_one_line_error

TOKEN = "tok-attack-5e1f-SECRET"
MANAGED = {"SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-bad"}
FAILED = [("PATCH", "/api/v1/workflows/wf-bad", {"status": "Failed"})]

MODULES = {
    "exits": "import sys\n\nsys.exit(7)\n",
    "interrupts": "raise KeyboardInterrupt\n",
    "odd": 'raise BaseException("odd module")\n',
}
FACTORIES = '''
def odd():
    raise BaseException("odd factory")


def closes():
    raise GeneratorExit


def interrupted():
    raise KeyboardInterrupt
'''
CALLBACKS = '''
def broken(task):
    raise ValueError("callback broke")
'''


@pytest.fixture
def backend(httpserver):
    """A backend that accepts every report and records it; returns (base_url, calls)."""
    httpserver.expect_request(re.compile(r"^/api/v1/.*")).respond_with_json({"ok": True}, status=200)

    def calls() -> list[tuple[str, str, dict]]:
        out = []
        for request, _ in httpserver.log:
            assert request.headers.get("X-User-Token") == TOKEN
            out.append((request.method, request.path, json.loads(request.get_data() or b"{}")))
        return out

    return httpserver.url_for("/api/v1"), calls


@pytest.fixture
def hostile(project: Path) -> Path:
    """The project folder, holding the hostile modules, factories.py and callbacks.py too."""
    for name, text in MODULES.items():
        (project / f"{name}.py").write_text(text)
    (project / "factories.py").write_text(FACTORIES)
    (project / "callbacks.py").write_text(CALLBACKS)
    return project


@pytest.fixture
def run_closed(project: Path, tmp_path: Path):
    """Run ``dotflow ARGS`` in the project folder with stdin closed (a debugger would read EOF, not hang)."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([dotflow_exe(), *args], cwd=project, env=clean_env(tmp_path, **(env or {})),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    return run


@pytest.mark.parametrize(
    ("module", "says"),
    [("exits", "called sys.exit(7)"), ("interrupts", "raised KeyboardInterrupt"),
     ("odd", "raised BaseException: odd module")],
)
@pytest.mark.parametrize(
    ("flags", "label"),
    [(("--step", "{m}.fn"), "step '{m}.fn'"),
     (("--step", "steps.ok", "--callback", "{m}.fn"), "--callback '{m}.fn'"),
     (("--workflow", "{m}:build"), "--workflow '{m}:build'")],
    ids=["step", "callback", "workflow"],
)
def test_a_module_that_misbehaves_when_imported_is_one_line(run_cli, hostile, backend, module, says, flags, label):
    """A --step, --callback or --workflow module that exits, raises KeyboardInterrupt or raises
    BaseException at import: exit 2 with one line (never 'interrupted', never 130), nothing runs,
    and in managed mode the backend's workflow is told Failed."""
    base, calls = backend
    result = run_cli("start", *(flag.format(m=module) for flag in flags), env={"SERVER_BASE_URL": base, **MANAGED})
    line = assert_one_line_error(result, label.format(m=module), f"importing '{module}' {says}")
    assert "interrupted" not in line
    assert "ok got" not in result.stdout
    assert calls() == FAILED


@pytest.mark.parametrize(("factory", "says"), [("odd", "BaseException: odd factory"),
                                               ("closes", "GeneratorExit")])
def test_a_factory_raising_a_base_exception_is_one_line(run_cli, hostile, backend, factory, says):
    """A --workflow factory raising BaseException or GeneratorExit when called: exit 2, one line, and
    the managed backend told Failed."""
    base, calls = backend
    result = run_cli("start", "--workflow", f"factories:{factory}", env={"SERVER_BASE_URL": base, **MANAGED})
    assert_one_line_error(result, f"--workflow 'factories:{factory}' raised {says}")
    assert calls() == FAILED


def test_an_interrupted_factory_still_tells_the_backend(run_cli, hostile, backend):
    """Ctrl-C while a --workflow factory builds (KeyboardInterrupt from its call) exits 130, and the
    managed backend's workflow is told Failed rather than left waiting."""
    base, calls = backend
    result = run_cli("start", "--workflow", "factories:interrupted", env={"SERVER_BASE_URL": base, **MANAGED})
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: interrupted"
    assert calls() == FAILED


def test_bad_initial_context_in_managed_mode_tells_the_backend(run_cli, backend):
    """Invalid JSON in --initial-context under a backend's workflow id: one line, and the backend told Failed."""
    base, calls = backend
    result = run_cli("start", "--step", "steps.ok", "-i", "[1, 2", env={"SERVER_BASE_URL": base, **MANAGED})
    assert_one_line_error(result, "--initial-context", "invalid JSON")
    assert calls() == FAILED


@pytest.mark.parametrize(
    ("table", "spec"),
    [("storage", "os:abort"), ("storage", "sys:exit"), ("storage", "builtins:breakpoint"),
     ("server", "os:abort"), ("log", "builtins:breakpoint")],
)
def test_a_provider_naming_a_dangerous_function_is_refused(run_closed, project, table, spec):
    """A dotflow.toml provider string naming os:abort, sys:exit or builtins:breakpoint is refused as
    not a class by `profile check` and `start`: exit 2, one line; no abort, no exit, no debugger."""
    (project / "dotflow.toml").write_text(f'[{table}]\nprovider = "{spec}"\n')
    for args in (("profile", "check"), ("start", "--step", "steps.ok")):
        result = run_closed(*args, env={"PYTHONBREAKPOINT": "pdb.set_trace"})
        assert_one_line_error(result, f"{table}.provider {spec!r}", "is not a class")
        assert "(Pdb)" not in result.stdout and "ok got" not in result.stdout


def test_a_failing_callback_is_one_warning_line(run_cli, hostile):
    """A --callback that raises: the run completes (exit 0) with one WARNING line and no traceback;
    -v adds the callback's traceback."""
    result = run_cli("start", "--step", "steps.ok", "--callback", "callbacks.broken")
    assert result.returncode == 0, result.stderr
    about = [line for line in result.stderr.splitlines() if "callback" in line]
    assert len(about) == 1, result.stderr
    assert " WARNING dotflow: " in about[0] and "the task callback raised ValueError: callback broke" in about[0]
    assert "Traceback" not in result.stdout + result.stderr
    verbose = run_cli("start", "-v", "--step", "steps.ok", "--callback", "callbacks.broken")
    assert verbose.returncode == 0
    assert re.search(r'Traceback .*\n(.*\n)*  File ".*callbacks\.py", line 3, in broken', verbose.stderr)


def test_a_string_flush_timeout_with_underscores_is_refused(run_cli, project):
    """flush_timeout = "1_000" (a string) in dotflow.toml: exit 2, one line naming the file, line and key."""
    (project / "dotflow.toml").write_text('[server]\nflush_timeout = "1_000"\n')
    assert_one_line_error(run_cli("start", "--step", "steps.ok"),
                          "dotflow.toml:2 [server] flush_timeout", "'1_000'")


def test_profile_list_lists_despite_an_unset_variable(run_cli, project):
    """`profile list` exits 0 when the selected profile uses an unset variable, and warns naming it."""
    (project / "dotflow.toml").write_text(
        'default_profile = "dev"\n\n[profiles.dev.storage]\nprovider = "file"\npath = "${DOTFLOW_TEST_NOT_SET}"\n'
    )
    result = run_cli("profile", "list")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\* dev\s", result.stdout, re.M)
    assert result.stderr.startswith("warning: the selected profile does not resolve: ")
    assert "path: variable DOTFLOW_TEST_NOT_SET is not set" in result.stderr


@pytest.mark.parametrize(
    ("toml", "advice"),
    [(None, "set server.base_url and server.user_token (DOTFLOW_SERVER_BASE_URL"),
     ('[server]\nprovider = "none"\n', "server.provider is 'none' (from file:")],
    ids=["nothing-set", "provider-none"],
)
def test_ping_without_a_server_advises_what_is_missing(run_cli, project, toml, advice):
    """`profile check --ping` on a profile with no server: exit 2, one line saying what to set (or
    which setting turned the server off)."""
    if toml is not None:
        (project / "dotflow.toml").write_text(toml)
    assert_one_line_error(run_cli("profile", "check", "--ping"), "nothing to ping", advice)


UNREACHABLE_STORAGE = """
from dotflow.abc.storage import Storage


class Gone(Storage):
    def post(self, key, context, **kwargs):
        raise OSError(5, "Input/output error")

    def get(self, key):
        raise OSError(5, "Input/output error")
"""


def test_a_plugin_storage_failing_at_start_is_one_line(run_cli, project, backend):
    """A pkg.mod:Class storage whose get/post raise OSError when the run starts: exit 2, one line
    naming the storage and the error, no task run, and the managed backend told Failed."""
    (project / "gonestore.py").write_text(UNREACHABLE_STORAGE)
    base, calls = backend
    result = run_cli("start", "--step", "steps.ok", "-o", "gonestore:Gone", "-q",
                     env={"SERVER_BASE_URL": base, **MANAGED})
    assert_one_line_error(result, "Gone failed while the run read and wrote its checkpoints",
                          "OSError: [Errno 5] Input/output error")
    assert "ok got" not in result.stdout
    assert ("PATCH", "/api/v1/workflows/wf-bad", {"status": "Failed"}) in calls()


def test_a_checkpoint_nested_too_deeply_stops_a_resume_in_one_line(run_cli, project):
    """The inputs fingerprint file holding JSON nested 200,000 deep: `--resume` exits 2 with one line
    telling to delete the file (it died with RecursionError)."""
    (project / "out").mkdir()
    (project / "out" / "nightly-inputs.json").write_text("[" * 200_000 + "]" * 200_000)
    result = run_cli("start", "--step", "steps.ok", "-o", "file", "-p", "out", "--workflow-id", "nightly",
                     "--resume", "-q")
    assert_one_line_error(result, "nightly-inputs.json", "nested too deeply", "delete the file")


def test_a_huge_dotflow_toml_is_refused_unread_under_a_memory_limit(project, tmp_path):
    """A 2 GB dotflow.toml (sparse) under a 1 GiB address-space limit: one line naming the 1 MiB
    bound, exit 2 (reading it whole ended in MemoryError)."""
    import resource

    with open(project / "dotflow.toml", "wb") as handle:
        handle.truncate(2 * 1024**3)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    result = subprocess.run([dotflow_exe(), "start", "--step", "steps.ok"], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)
    assert_one_line_error(result, "dotflow.toml: the file is larger than 1 MiB")


@pytest.mark.parametrize(("path", "says"), [
    ("/dev/null", "StorageFile(path='/dev/null'): it is a character device, not a folder"),
    ("steps.py", "StorageFile(path='steps.py'): it is a file, not a folder"),
    ("x" * 5_000, "the path is 5000 characters long, too long for the file system"),
])
def test_a_storage_path_that_cannot_be_a_folder_is_the_only_line(run_cli, path, says):
    """--path /dev/null, a file or a 5,000-character path: exit 2 with one line (no task announced
    "Not started" before it), and the line shows a long path by its ends."""
    result = run_cli("start", "--step", "steps.ok", "-o", "file", "-p", path)
    line = assert_one_line_error(result, says)
    assert len(line) < 400, line


def test_a_storage_path_thousands_of_folders_deep_is_made(run_cli):
    """--path .../a/a/a/... 1,900 folders deep (under the length limit): the folders are made and the
    run completes (making them recursively overflowed the stack)."""
    import tempfile

    # outside pytest's tmp_path: shutil.rmtree, pytest's clean-up, would overflow the stack on it
    top = Path(tempfile.mkdtemp(prefix="dotflow-deep-"))
    try:
        result = run_cli("start", "--step", "steps.ok", "-o", "file", "-p", str(top) + "/a" * 1_900, "-q")
        assert result.returncode == 0, result.stderr
        assert len(list(top.joinpath(*["a"] * 1_900).glob("*.json"))) == 2
    finally:
        _remove_deep(top / "a")
        top.rmdir()


def _remove_deep(top: Path) -> None:
    """Remove a chain of nested folders bottom-up, without recursion."""
    chain = [top]
    while chain[-1].is_dir() and (chain[-1] / "a").is_dir():
        chain.append(chain[-1] / "a")
    for folder in reversed(chain):
        if folder.is_dir():
            for entry in folder.iterdir():
                if not entry.is_dir():
                    entry.unlink()
            folder.rmdir()
