"""``dotflow start`` through the real console script: steps, factories, exit codes and errors."""

from __future__ import annotations

import re

UUID = re.compile(r"workflow ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}): Completed")


def test_step_runs_from_cwd_and_exits_0(run_cli):
    """A --step in a module of the current directory runs (cwd is on sys.path) and exits 0."""
    result = run_cli("start", "--step", "steps.ok")
    assert result.returncode == 0, result.stderr
    assert "ok got None" in result.stdout
    assert UUID.search(result.stdout)


def test_colon_form_and_json_initial_context(run_cli):
    """--step accepts pkg.mod:fn and --initial-context parses JSON."""
    result = run_cli("start", "--step", "steps:ok", "--initial-context", '{"a": [1, 2]}')
    assert result.returncode == 0, result.stderr
    assert "ok got {'a': [1, 2]}" in result.stdout


def test_plain_string_initial_context(run_cli):
    """An --initial-context that is not JSON is passed as a plain string."""
    result = run_cli("start", "--step", "steps.ok", "--initial-context", "hello world")
    assert "ok got 'hello world'" in result.stdout


def test_callback_is_called(run_cli):
    """--callback is imported and called with the finished task."""
    result = run_cli("start", "--step", "steps.ok", "--callback", "steps.on_task")
    assert result.returncode == 0, result.stderr
    assert "callback saw Completed" in result.stdout


def test_failed_task_exits_1_with_summary(run_cli):
    """A failing step gives exit code 1, and the summary shows it Failed with its error."""
    result = run_cli("start", "--step", "steps.boom")
    assert result.returncode == 1
    assert re.search(r"steps\.boom\s+Failed\s+1 attempt\s+\S+\s+RuntimeError: boom \(at steps\.py:\d+\)", result.stdout)
    assert "Traceback" not in result.stderr


def test_assertion_in_step_exits_1_with_one_line(run_cli):
    """An AssertionError raised by a step ends the run with exit 1 and a one-line error."""
    result = run_cli("start", "--step", "steps.check", "--initial-context", "other")
    assert result.returncode == 1
    assert "error: a step's assertion failed: unexpected input" in result.stderr
    assert "Traceback" not in result.stderr


def test_workflow_factory_runs_every_step(run_cli):
    """--workflow pkg.mod:factory runs the DotFlow the factory returns."""
    result = run_cli("start", "--workflow", "steps:build")
    assert result.returncode == 0, result.stderr
    assert "ok got 'first'" in result.stdout and "ok got 'second'" in result.stdout
    assert len(re.findall(r"steps\.ok\s+Completed", result.stdout)) == 2


def test_status_transitions_are_logged(run_cli):
    """Each status change is logged as 'ID <workflow> - <task> - <status>' on stderr."""
    result = run_cli("start", "--step", "steps.ok")
    for status in ("Not started", "In progress", "Completed"):
        assert re.search(rf"ID \S+ - ok \[0-\w+\] - {status}", result.stderr)


def test_quiet_keeps_only_the_summary(run_cli):
    """--quiet drops the per-transition log lines."""
    result = run_cli("start", "--step", "steps.ok", "--quiet")
    assert result.returncode == 0
    assert "In progress" not in result.stderr
    assert "Completed" in result.stdout


def _usage_error(result, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


def test_missing_step_module_is_a_usage_error(run_cli):
    """A --step whose module does not exist: exit 2, one line naming it."""
    _usage_error(run_cli("start", "--step", "nowhere.fn"), "'nowhere'")


def test_missing_attribute_is_a_usage_error(run_cli):
    """A --step naming a missing function: exit 2, one line naming it."""
    _usage_error(run_cli("start", "--step", "steps.nothing"), "'nothing'")


def test_malformed_step_is_a_usage_error(run_cli):
    """A --step that is not an import string: exit 2 with the expected form."""
    _usage_error(run_cli("start", "--step", "not a path"), "package.module")


def test_step_and_workflow_together_is_a_usage_error(run_cli):
    """Giving both --step and --workflow (or neither) is a usage error."""
    _usage_error(run_cli("start", "--step", "steps.ok", "--workflow", "steps:build"), "exactly one")
    _usage_error(run_cli("start"), "exactly one")


def test_factory_returning_something_else_is_a_usage_error(run_cli):
    """A --workflow factory that does not return a DotFlow: exit 2."""
    _usage_error(run_cli("start", "--workflow", "steps:not_a_flow"), "not a DotFlow")


def test_unknown_mode_is_a_usage_error(run_cli):
    """An unknown --mode: exit 2 listing the modes."""
    _usage_error(run_cli("start", "--step", "steps.ok", "--mode", "warp"), "sequential")


def test_unknown_flag_is_a_usage_error(run_cli):
    """An unknown flag: exit 2, one line, no traceback."""
    _usage_error(run_cli("start", "--bogus"), "--bogus")


def test_version_flag(run_cli):
    """--version prints the version and exits 0."""
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("dotflow ")


def test_factory_that_raises_is_a_usage_error(run_cli):
    """A --workflow factory that raises: exit 2, one line naming the factory and the exception."""
    _usage_error(run_cli("start", "--workflow", "steps:raises"), "'steps:raises' raised RuntimeError: db down")


def test_factory_with_no_tasks_is_a_usage_error(run_cli):
    """A --workflow factory returning an empty DotFlow: exit 2 rather than a run of nothing."""
    _usage_error(run_cli("start", "--workflow", "steps:empty"), "no tasks")


def test_step_calling_sys_exit_fails_that_step(run_cli):
    """A step that calls sys.exit(0) fails (exit 1) instead of ending the run as a success."""
    result = run_cli("start", "--step", "steps.exits")
    assert result.returncode == 1
    assert re.search(r"steps\.exits\s+Failed\s+1 attempt\s+\S+\s+StepExitError: step steps\.exits called "
                     r"sys\.exit\(0\)", result.stdout)


def test_factory_calling_sys_exit_is_a_usage_error(run_cli):
    """A --workflow factory that calls sys.exit(3) gets exit 2 and one line, not a silent exit 3."""
    _usage_error(run_cli("start", "--workflow", "steps:factory_exits"), "called sys.exit(3)")


def test_sys_exit_in_on_failure_is_not_taken_for_a_signal(run_cli):
    """An on_failure callback calling sys.exit(9): one error line, the summary, and exit 1 for the failed task."""
    result = run_cli("start", "--workflow", "steps:on_failure_exits")
    assert result.returncode == 1
    assert "called sys.exit(9)" in result.stderr and "signal" not in result.stderr
    assert re.search(r"steps\.boom\s+Failed", result.stdout)


def test_storage_flags_a_factorys_own_config_does_not_take_are_warned_about(run_cli, project):
    """--storage and --path choose the profile's storage: a factory passing its own Config does not
    use it, and the run says so (naming the factory and the storage it has) instead of keeping
    the results elsewhere without a word; a factory leaving config out takes the flags."""
    result = run_cli("start", "--workflow", "steps:build_own_config", "--storage", "file", "--path", "out")
    assert result.returncode == 0, result.stderr
    assert "--storage and --path not used: --workflow 'steps:build_own_config' passes its own Config, " \
        "whose storage is StorageDefault" in result.stderr
    assert not (project / "out").exists()
    taken = run_cli("start", "--workflow", "steps:build", "--storage", "file", "--path", "out")
    assert taken.returncode == 0 and "not used" not in taken.stderr
    assert (project / "out").is_dir()


def test_a_step_that_is_not_there_or_not_a_function_says_what_to_name(run_cli, project):
    """A mistyped --step lists what the module defines; one naming data says to point at a step."""
    (project / "named.py").write_text("from dotflow import action\nLIMITS = {'a': 1}\n\n@action\ndef extract():\n"
                                      "    return 1\n")
    typo = run_cli("start", "--step", "named.extrct")
    assert typo.returncode == 2
    assert "error: step 'named.extrct': 'named' has no attribute 'extrct'; it has: extract" in typo.stderr
    data = run_cli("start", "--step", "named.LIMITS")
    assert data.returncode == 2
    assert "error: step 'named.LIMITS' is a dict; point it at a function decorated with @action" in data.stderr
