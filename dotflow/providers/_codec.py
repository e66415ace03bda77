"""How a stored Context looks as bytes, shared by every persistent storage provider."""

from __future__ import annotations

import json
import re
from typing import Any

from dotflow.context import Context, to_jsonable

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def encode(context: Context) -> bytes:
    """The JSON document stored for ``context``: ``{"storage": <value>}``."""
    value: Any = context.storage if isinstance(context, Context) else context
    return json.dumps({"storage": to_jsonable(value)}, ensure_ascii=False).encode("utf-8")


def decode(data: bytes | str) -> Context:
    """The Context stored in ``data`` (the output of ``encode``)."""
    document = json.loads(data)
    return Context(storage=document.get("storage") if isinstance(document, dict) else document)


def safe_name(key: str) -> str:
    """``key`` as one file or object name that cannot climb out of its folder.

    Every character outside ``[A-Za-z0-9_.-]`` is percent-encoded, and a leading dot
    is too, so ``..``, ``/`` and ``\\`` never survive as path syntax.
    """
    name = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), str(key))
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name or "%00"
