"""Import cost: wall time of ``python -c "import dotflow"`` minus ``python -c pass``, median of N runs.

Usage: python bench_import.py [-n 30] [--python PY ...]

With no --python it measures the interpreter running it. Given several, the runs
alternate between them (and between ``pass`` and ``import``) round by round, so a noisy
spell on the machine hits every interpreter alike. Each child runs in an empty temp dir
with a clean environment, so it imports the venv's installed dotflow, not a source tree.
Last line: JSON ``{"results": {PY: {"import_ms", "pass_ms", "net_ms", "version"}}, "n": N}``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from _common import clean_env, emit, median, temp_cwd, timed_run


def timed(cmd: list[str], cwd: str) -> float:
    return timed_run(cmd, cwd=cwd, env=clean_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="runs per interpreter (default 30)")
    parser.add_argument("--python", action="append", help="interpreter to measure; repeatable")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    n = max(1, min(args.n, 500))
    times: dict[str, dict[str, list[float]]] = {py: {"pass": [], "import": []} for py in pythons}
    versions = {}
    with temp_cwd() as tmp:
        for py in pythons:
            versions[py] = subprocess.run(
                [py, "-c", "import importlib.metadata as m; print(m.version('dotflow'))"],
                cwd=tmp,
                env=clean_env(),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            timed([py, "-c", "import dotflow"], tmp)  # warm the page cache and write the .pyc files
        for i in range(n):
            # rotate the order each round so no interpreter always runs first
            order = pythons[i % len(pythons) :] + pythons[: i % len(pythons)]
            for py in order:
                steps = ("pass", "import") if i % 2 == 0 else ("import", "pass")
                for what in steps:
                    code = "pass" if what == "pass" else "import dotflow"
                    times[py][what].append(timed([py, "-c", code], tmp))
    results = {}
    print(f"{'interpreter':60} {'version':12} {'pass ms':>8} {'import ms':>10} {'net ms':>8}")
    for py in pythons:
        pass_ms = median(times[py]["pass"]) * 1000
        import_ms = median(times[py]["import"]) * 1000
        results[py] = {
            "version": versions[py],
            "pass_ms": round(pass_ms, 2),
            "import_ms": round(import_ms, 2),
            "net_ms": round(import_ms - pass_ms, 2),
        }
        print(f"{py:60} {versions[py]:12} {pass_ms:8.1f} {import_ms:10.1f} {import_ms - pass_ms:8.1f}")
    emit({"figure": "import", "n": n, "results": results})


if __name__ == "__main__":
    main()
