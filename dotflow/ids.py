"""What a workflow id may hold, checked the same way for an argument, a file, a variable and a flag."""

from __future__ import annotations

from dotflow.lazy import LazyPattern

_BAD_CHARS = LazyPattern("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


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


def new_workflow_id() -> str:
    """A fresh random id, the text of a version-4 UUID (as ``str(uuid.uuid4())`` gives).

    Made here from ``os.urandom`` because importing ``uuid`` (it loads ``platform`` and a C
    module) was a fifth of the first ``DotFlow()``'s time.
    """
    import os

    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
