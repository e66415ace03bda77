"""``dotflow logs`` through the real console script: the log file a run wrote, or one clear line."""

from __future__ import annotations


def test_logs_prints_what_a_file_logging_run_wrote(run_cli, project):
    """A run with [log] output = "file" writes .output/flow.log; `dotflow logs` prints it."""
    (project / "dotflow.toml").write_text('[log]\noutput = "file"\n')
    assert run_cli("start", "--step", "steps.ok", "-q").returncode == 0
    result = run_cli("logs")
    assert result.returncode == 0, result.stderr
    assert "ok [0-" in result.stdout and "Completed" in result.stdout


def test_logs_without_a_log_file_says_how_to_get_one(run_cli, project):
    """No log file: exit 1, one line naming the place and the setting that writes it, no traceback."""
    result = run_cli("logs")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no log file at .output/flow.log;") and 'output = "file"' in result.stderr
    assert "Traceback" not in result.stderr
    other = run_cli("logs", "--path", "elsewhere.log")
    assert other.returncode == 1 and "elsewhere.log" in other.stderr


def test_an_unreadable_log_file_is_one_line(run_cli, project):
    """A log file that cannot be opened for another reason than its absence (here a name too long
    for the file system; permissions do not stop root) is one error line with the reason, exit 1."""
    result = run_cli("logs", "--path", str(project / ("x" * 300)))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: cannot read the log file ") and "too long" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_stdout_that_cannot_be_written_is_not_called_unreadable_log(run_cli, project, tmp_path):
    """`dotflow logs > /dev/full`: one line saying the log cannot be written to stdout, exit 1 (it
    said the log file could not be read)."""
    import subprocess

    from cli_support import clean_env, dotflow_exe

    (project / "flow.log").write_text("a line of log\n")
    with open("/dev/full", "w") as full:
        result = subprocess.run([dotflow_exe(), "logs", "--path", "flow.log"], cwd=project, env=clean_env(tmp_path),
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "error: cannot write the log to stdout: No space left on device"
