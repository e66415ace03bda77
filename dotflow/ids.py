"""Ids: what a workflow id may hold (checked the same way for an argument, a file, a variable and
a flag), and how a task's id is made from the workflow's definition."""

from __future__ import annotations

from zlib import crc32

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


def task_id_for(index: int, step_name: str, group_name: str) -> str:
    """A task id that depends only on the workflow definition: the task's position, its
    step's qualified name (``pkg.mod.fn``) and its group. The same pipeline gets the same ids in
    every process, which is what lets ``resume=True`` find the checkpoints of an earlier run.

    The index alone makes ids unique; the checksum makes a checkpoint of another step at the
    same position miss instead of being fed on. CRC-32 is plenty for that and, unlike
    hashlib, costs nothing to import."""
    return f"{index}-{step_checksum(step_name, group_name)}"


def step_checksum(name: str, group_name: str = "default") -> str:
    """The part of a task id that names its step (``pkg.mod.fn``) and group: 8 hex digits."""
    return f"{crc32(f'{name}{chr(0)}{group_name}'.encode()):08x}"
