"""Running the real ``dotflow`` console script under a pseudo-terminal, and the one-line error check
the CLI tests share."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

# variables that change how rich draws (or whether it draws at all), dropped for a fixed terminal
_RICH_NAMES = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")


def terminal_env(env: dict[str, str], term: str = "xterm-256color") -> dict[str, str]:
    """``env`` for a colour terminal of a known kind: ``TERM`` set, rich's overrides dropped."""
    return {**{k: v for k, v in env.items() if k not in _RICH_NAMES}, "TERM": term}


def run_in_pty(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 30
) -> tuple[int, str]:
    """Run ``args`` with stdin, stdout and stderr on one 120x40 pseudo-terminal; returns the exit
    code and everything it wrote (the terminal's \\r\\n line ends kept). Every wait is bounded."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, and stderr is exactly one line starting ``error:`` holding every needle; returns it."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
