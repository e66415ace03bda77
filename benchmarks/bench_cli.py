"""CLI start-up: whole-process wall time of ``dotflow start --step noopmod.noop``, median of N runs.

Usage: python bench_cli.py [-n 20] [--dotflow PATH ...]

With no --dotflow it measures the ``dotflow`` console script next to the interpreter
running it. Given several, the runs alternate between them round by round. Each run
has a clean environment (PATH, HOME and ``PYTHONPATH=.``, nothing else) and its cwd is
a temp dir holding ``noopmod.py`` with one ``@action noop``. PYTHONPATH=. is set for
every CLI alike because dotflow 1.0.1 does not put the cwd on sys.path itself.
Output goes to /dev/null. Last line: JSON ``{"results": {PATH: {"ms", "version"}}, "n": N}``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from _common import NOOP_MODULE, clean_env, emit, median, temp_cwd, timed_run

ARGS = ["start", "--step", "noopmod.noop"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs per CLI (default 20)")
    parser.add_argument("--dotflow", action="append", help="dotflow console script to measure; repeatable")
    args = parser.parse_args()
    clis = args.dotflow or [os.path.join(os.path.dirname(sys.executable), "dotflow")]
    n = max(1, min(args.n, 200))
    env = clean_env(PYTHONPATH=".")
    times: dict[str, list[float]] = {cli: [] for cli in clis}
    versions = {}
    with temp_cwd() as tmp:
        with open(os.path.join(tmp, "noopmod.py"), "w") as f:
            f.write(NOOP_MODULE)
        for cli in clis:
            python = os.path.join(os.path.dirname(cli), "python")
            versions[cli] = subprocess.run(
                [python, "-c", "import importlib.metadata as m; print(m.version('dotflow'))"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            # one checked run: it must succeed (and it writes the .pyc files)
            done = subprocess.run([cli, *ARGS], env=env, capture_output=True, text=True, timeout=60, check=False)
            if done.returncode != 0:
                sys.exit(f"{cli} {' '.join(ARGS)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        for i in range(n):
            order = clis[i % len(clis) :] + clis[: i % len(clis)]
            for cli in order:
                times[cli].append(timed_run([cli, *ARGS], cwd=tmp, env=env))
    results = {}
    print(f"{'console script':60} {'version':12} {'median ms':>10} {'min ms':>8}")
    for cli in clis:
        ms = median(times[cli]) * 1000
        results[cli] = {"version": versions[cli], "ms": round(ms, 2), "min_ms": round(min(times[cli]) * 1000, 2)}
        print(f"{cli:60} {versions[cli]:12} {ms:10.1f} {min(times[cli]) * 1000:8.1f}")
    emit({"figure": "cli", "n": n, "args": ARGS, "env": "PATH, HOME, PYTHONPATH=.", "results": results})


if __name__ == "__main__":
    main()
