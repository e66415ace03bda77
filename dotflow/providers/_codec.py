"""How a stored Context looks as bytes, shared by every persistent storage provider."""

from __future__ import annotations

import json
import re
from typing import Any

from dotflow.context import Context, to_jsonable

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def encode(context: Context) -> bytes:
    """The JSON document stored for ``context``: ``{"storage": <value>}``.

    A list of Contexts (what a class step returns: one Context per ``@action`` method) is
    stored as the list of their values plus ``"contexts": true``, so that ``decode`` gives
    back Contexts and a resumed run hands the next step the same shape as the first run.
    """
    value: Any = context.storage if isinstance(context, Context) else context
    document: dict[str, Any] = {"storage": to_jsonable(value)}
    if isinstance(value, list) and value and all(isinstance(item, Context) for item in value):
        document["contexts"] = True
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def decode(data: bytes | str) -> Context:
    """The Context stored in ``data`` (the output of ``encode``)."""
    document = json.loads(data)
    if not isinstance(document, dict):
        return Context(document)
    value = document.get("storage")
    if document.get("contexts") is True and isinstance(value, list):
        value = [Context(item) for item in value]
    return Context(value)


def safe_name(key: str) -> str:
    """``key`` as one file or object name that cannot climb out of its folder.

    Every character outside ``[A-Za-z0-9_.-]`` is percent-encoded, and a leading dot
    is too, so ``..``, ``/`` and ``\\`` never survive as path syntax.
    """
    name = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), str(key))
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name or "%00"
