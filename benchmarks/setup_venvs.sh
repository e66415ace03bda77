#!/usr/bin/env bash
# Create the two benchmark venvs: .venv-new (this repo) and .venv-101 (dotflow==1.0.1 from PyPI).
# Idempotent: a venv whose install already succeeded is left alone, except that this repo's
# package is reinstalled into .venv-new each time (the repo changes under it). --fresh rebuilds both.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"

if [[ "${1:-}" == "--fresh" ]]; then
    rm -rf "$here/.venv-new" "$here/.venv-101"
fi

make_venv() {
    local dir="$1"
    if [[ ! -x "$dir/bin/python" ]]; then
        "$python" -m venv "$dir"
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    fi
}

# dotflow 1.0.1: install once, marked done by a stamp file so a half-finished install is retried.
make_venv "$here/.venv-101"
if [[ ! -f "$here/.venv-101/.installed" ]]; then
    "$here/.venv-101/bin/python" -m pip install --quiet --disable-pip-version-check "dotflow==1.0.1"
    touch "$here/.venv-101/.installed"
fi

# This repo: a regular (non-editable) install, so the benchmark sees what a user would get.
# --force-reinstall --no-deps refreshes our package only; deps are installed the first time.
make_venv "$here/.venv-new"
if [[ ! -f "$here/.venv-new/.installed" ]]; then
    "$here/.venv-new/bin/python" -m pip install --quiet --disable-pip-version-check "$repo"
    touch "$here/.venv-new/.installed"
else
    "$here/.venv-new/bin/python" -m pip install --quiet --disable-pip-version-check \
        --force-reinstall --no-deps "$repo"
    # a dependency added to pyproject.toml since the first install: let pip resolve it
    if ! "$here/.venv-new/bin/python" -m pip check --disable-pip-version-check >/dev/null 2>&1; then
        "$here/.venv-new/bin/python" -m pip install --quiet --disable-pip-version-check "$repo"
    fi
fi
# the Dask rows (executors, cancellation) need the extra
if ! "$here/.venv-new/bin/python" -c "import distributed" 2>/dev/null; then
    "$here/.venv-new/bin/python" -m pip install --quiet --disable-pip-version-check "$repo[dask]"
fi

for v in .venv-101 .venv-new; do
    printf '%s: ' "$v"
    "$here/$v/bin/python" -c 'import importlib.metadata as m, sys; print("dotflow", m.version("dotflow"), "python", sys.version.split()[0])'
done
