"""Time ``dotflow.profiles.resolve`` with a project file, a user file and 10 environment overrides.

Run: ``python benchmarks/bench_profiles.py [--iterations N]``. The script makes its own temporary
folders, warms up, then times each call with ``time.perf_counter_ns`` and prints a small table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

PROJECT = """\
default_profile = "dev"

[server]
timeout = 10
retries = 3

[storage]
provider = "file"
path = ".output"

[workflow]
mode = "sequential"

[profiles.dev.server]
base_url = "http://localhost:8000/api/v1"
user_token = "${DEV_TOKEN}"

[profiles.dev.workflow]
name = "${USER_NAME:-bench}"

[profiles.prod.storage]
provider = "s3"
bucket = "${DATA_BUCKET:?set DATA_BUCKET}"
"""

USER = """\
[server]
flush_timeout = 5

[workflow]
keep_going = true
"""

# Ten overrides, all of the DOTFLOW_<SECTION>_<KEY> form, plus the variables the files use.
ENV_OVERRIDES = {
    "DOTFLOW_SERVER_TIMEOUT": "20",
    "DOTFLOW_SERVER_FLUSH_TIMEOUT": "3",
    "DOTFLOW_SERVER_RETRIES": "2",
    "DOTFLOW_SERVER_BACKOFF_MAX": "12.5",
    "DOTFLOW_STORAGE_PATH": "/tmp/out",
    "DOTFLOW_STORAGE_PREFIX": "runs/",
    "DOTFLOW_WORKFLOW_MODE": "parallel",
    "DOTFLOW_WORKFLOW_NAME": "nightly",
    "DOTFLOW_WORKFLOW_KEEP_GOING": "no",
    "DOTFLOW_WORKFLOW_RESUME": "on",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()

    import logging

    # The env overrides trigger one warning each for file values they replace; keep them off stderr.
    logging.getLogger("dotflow").disabled = True

    t0 = time.perf_counter_ns()
    from dotflow.profiles import resolve

    import_us = (time.perf_counter_ns() - t0) / 1000

    with tempfile.TemporaryDirectory() as root:
        project = os.path.join(root, "project")
        cwd = os.path.join(project, "src", "pkg")
        xdg = os.path.join(root, "xdg")
        os.makedirs(cwd)
        os.makedirs(os.path.join(xdg, "dotflow"))
        with open(os.path.join(project, "dotflow.toml"), "w", encoding="utf-8") as handle:
            handle.write(PROJECT)
        with open(os.path.join(xdg, "dotflow", "dotflow.toml"), "w", encoding="utf-8") as handle:
            handle.write(USER)
        env = {"XDG_CONFIG_HOME": xdg, "DEV_TOKEN": "t0k3n", "HOME": root, "PATH": "/usr/bin", **ENV_OVERRIDES}

        resolved = resolve(env=env, cwd=cwd)
        assert len(resolved.files) == 2 and resolved.name == "dev"
        assert sum(s.source.startswith("env:") for s in resolved.settings.values()) == len(ENV_OVERRIDES)

        for _ in range(args.warmup):
            resolve(env=env, cwd=cwd)
        samples = []
        for _ in range(args.iterations):
            start = time.perf_counter_ns()
            resolve(env=env, cwd=cwd)
            samples.append((time.perf_counter_ns() - start) / 1000)

    samples.sort()
    rows = [
        ("import dotflow.profiles (once)" + (" [no .pyc]" if sys.dont_write_bytecode else ""), import_us),
        ("mean", statistics.fmean(samples)),
        ("median", statistics.median(samples)),
        ("p95", samples[int(len(samples) * 0.95) - 1]),
        ("min", samples[0]),
        ("max", samples[-1]),
    ]
    print(f"resolve(): project file + user file + {len(ENV_OVERRIDES)} env overrides, cwd 2 folders down")
    print(
        f"python {platform.python_version()} on {platform.machine()} {sys.platform}, "
        f"{args.iterations} iterations after {args.warmup} warm-up"
    )
    print(f"{'measure':<42}{'µs':>10}")
    for label, value in rows:
        print(f"{label:<42}{value:>10.1f}")


if __name__ == "__main__":
    main()
