"""What a workflow id may hold, checked the same way for an argument, a file, a variable and a flag."""

from __future__ import annotations

import re

_BAD_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def workflow_id_problem(workflow_id: str) -> str | None:
    """Why ``workflow_id`` cannot be used, or None when it can.

    An id must not be blank, split log lines (control characters, line separators) or fail
    to encode as UTF-8 (lone surrogates) in file names, URLs and reports. Anything else,
    ``/``, ``..``, ``?``, ``#`` and spaces included, is fine: it is encoded where it is used.
    """
    if not workflow_id.strip():
        return "must not be empty"
    bad = _BAD_CHARS.search(workflow_id)
    if bad is not None:
        return f"contains the control character {bad.group()!r}; use printable characters only"
    try:
        workflow_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains {workflow_id[exc.start]!r}, which is not valid text (a lone surrogate)"
    return None
