"""Where the backend keeps its data, and where the operator token is found: the standard library
and platformdirs only, so the commands that merely talk to a backend load nothing of the extra."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

TOKEN_VARIABLE = "DOTFLOW_BACKEND_TOKEN"
TOKEN_FILE = "operator-token"  # in the data folder: the token a first start made, readable by its owner alone
DEFAULT_URL = "http://127.0.0.1:8765"


def data_dir(env: Mapping[str, str]) -> Path:
    """The backend's folder in the user's data directory (``XDG_DATA_HOME`` and the platform's rules apply)."""
    import platformdirs

    if env.get("XDG_DATA_HOME") and sys.platform.startswith("linux"):
        return Path(env["XDG_DATA_HOME"]) / "dotflow" / "backend"
    return Path(platformdirs.user_data_dir("dotflow", appauthor=False)) / "backend"


def operator_token(env: Mapping[str, str]) -> str | None:
    """The operator token as this user has it: ``DOTFLOW_BACKEND_TOKEN``, else the file a first start wrote."""
    chosen = env.get(TOKEN_VARIABLE, "").strip()
    if chosen:
        return chosen
    path = data_dir(env) / TOKEN_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None
