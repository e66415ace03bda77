"""How a stored Context looks as bytes and as a name, shared by every persistent storage provider.

Also reads what dotflow 1.0.1 wrote (a JSON array of JSON-encoded strings), so checkpoints
made before an upgrade stay readable; nothing is ever written in that format.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from dotflow.context import Context, to_jsonable
from dotflow.errors import UsageError
from dotflow.lazy import LazyPattern

_UNSAFE = LazyPattern(r"[^A-Za-z0-9_.-]")
_SAFE_NAME = LazyPattern(r"(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+")
# encode() writes "expires_at" first, so a reader can tell from the first bytes whether it must
# parse the rest of a (possibly large) document to know if it has expired
_EXPIRES_HEAD = LazyPattern(rb'^\{"expires_at": ?(-?[0-9][0-9.eE+-]*)')
EMPTY_KEY_NAME = "%"  # no other key's safe_name is a lone "%": every other "%" starts an escape
EXPIRES_METADATA = "dotflow-expires-at"  # object metadata copy of expires_at (buckets)


class Entry:
    """One stored document: the Context, and when it expires (epoch seconds, None: never).

    A plain class: a NamedTuple with this module's string annotations would ``compile()`` them,
    and the first ``compile()`` of a process costs a millisecond, paid by the first ``DotFlow()``
    (its default storage imports this module)."""

    __slots__ = ("context", "expires_at", "fingerprint", "key")

    def __init__(
        self,
        context: Context,
        expires_at: float | None = None,
        fingerprint: str | None = None,
        key: str | None = None,
    ) -> None:
        self.context = context
        self.expires_at = expires_at
        self.fingerprint = fingerprint
        self.key = key

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


_WARNED: set[frozenset[str]] = set()


def _warn_lossy(lost: set[str], key: str | None) -> None:
    """Once per process and set of types: a stored result that JSON cannot hold as it is comes
    back changed on resume (a step that got a date gets a str), which would otherwise show only
    as a later step failing on the resumed run."""
    seen = frozenset(lost)
    if seen in _WARNED:
        return
    _WARNED.add(seen)
    import logging

    logging.getLogger("dotflow").warning(
        "the result stored as %r holds %s, kept as JSON, where tuples and sets become lists and other objects "
        "their str: a resumed run gets those back in their place; return JSON data (dict, list, str, numbers, "
        "bool, None) from steps whose results are checkpointed",
        key or "?",
        ", ".join(sorted(seen)),
    )


def encode(
    context: Any,
    expires_at: float | None = None,
    fingerprint: str | None = None,
    key: str | None = None,
    *,
    stored_as: str | None = None,
) -> bytes:
    """The JSON document stored for ``context``: ``{"storage": <value>, "time": <when it was made>}``.

    A list of Contexts (what a class step returns: one Context per ``@action`` method) is
    stored as the list of their values plus ``"contexts": true``, so that ``decode`` gives
    back Contexts and a resumed run hands the next step the same shape as the first run.
    ``expires_at`` (first, see ``expires_at_of``), ``fingerprint`` and ``key`` are added only
    when given. A value JSON cannot hold as it is gets one warning naming ``stored_as``.
    """
    value: Any = context.storage if isinstance(context, Context) else context
    document: dict[str, Any] = {}
    if expires_at is not None:
        document["expires_at"] = expires_at
    lost: set[str] = set()
    document["storage"] = to_jsonable(value, lost)
    if lost:
        _warn_lossy(lost, stored_as)
    if isinstance(value, list) and value and all(isinstance(item, Context) for item in value):
        document["contexts"] = True
    if fingerprint is not None:
        document["fingerprint"] = fingerprint
    if key is not None:
        document["key"] = key
    if isinstance(context, Context):
        document["time"] = context.timestamp  # when the result was made: what a resumed task shows
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """``json.loads``, with JSON nested deeper than the interpreter's stack can read a ValueError
    like any other unreadable document, instead of a RecursionError out of the storage."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be read") from None


def decode_entry(data: bytes | str) -> Entry:
    """The Entry stored in ``data`` (the output of ``encode``). A JSON array there is read as
    dotflow 1.0.1's format. Raises ValueError when ``data`` is not JSON (or is nested too deeply
    to be read)."""
    document = loads(data)
    if isinstance(document, list):
        return Entry(legacy_context(document))
    if not isinstance(document, dict):
        return Entry(Context(document))
    value = document.get("storage")
    if document.get("contexts") is True and isinstance(value, list):
        value = [Context(item) for item in value]
    expires_at = document.get("expires_at")
    fingerprint = document.get("fingerprint")
    key = document.get("key")
    context = Context(value)
    made = document.get("time")
    if isinstance(made, (int, float)) and not isinstance(made, bool) and math.isfinite(made):
        context.timestamp = made
    return Entry(
        context,
        float(expires_at) if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool) else None,
        fingerprint if isinstance(fingerprint, str) else None,
        key if isinstance(key, str) else None,
    )


def decode(data: bytes | str) -> Context:
    """The Context stored in ``data`` (the output of ``encode``), expired or not."""
    return decode_entry(data).context


def expires_at_of(head: bytes) -> float | None:
    """The expiry in the first bytes of an ``encode`` document, or None when it has none."""
    match = _EXPIRES_HEAD.match(head)
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:
        return None


def expired_metadata(metadata: Any) -> bool:
    """Whether object metadata written by a bucket provider says the object has expired."""
    if not metadata:
        return False
    raw = metadata.get(EXPIRES_METADATA)
    try:
        return raw is not None and time.time() >= float(raw)
    except (TypeError, ValueError):
        return False


def expiry(ttl: Any) -> float | None:
    """The epoch second at which an entry posted now with ``ttl`` expires (None: never)."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl >= 0 or math.isinf(ttl):
        raise UsageError(f"ttl={ttl!r}; pass the seconds the entry lives (a finite number >= 0), or None to keep it")
    return time.time() + ttl


def check_prefix(prefix: Any, who: str) -> str:
    """``prefix`` for ``delete_prefix``: a non-empty str (an empty one would delete everything)."""
    if not isinstance(prefix, str) or not prefix:
        raise UsageError(
            f"{who}.delete_prefix({prefix!r}): pass a non-empty prefix such as '<workflow_id>-'; "
            "an empty one would delete every entry"
        )
    return prefix


def legacy_context(items: list[Any]) -> Context:
    """The Context 1.0.1 read back from its array: each element is ``json.dumps`` of a value
    (or its ``str()``); one element is the value, several are a list of Contexts."""

    def load(item: Any) -> Any:
        try:
            return loads(item)
        except (TypeError, ValueError):
            return item

    if not items:
        return Context()
    if len(items) == 1:
        return Context(load(items[0]))
    return Context([Context(load(item)) for item in items])


def decode_legacy(data: bytes | str) -> Context | None:
    """A 1.0.1 checkpoint's Context, or None when ``data`` is not 1.0.1's array of strings
    (1.0.1 read such a file as nothing stored, and so do we)."""
    try:
        document = loads(data)
    except ValueError:
        return None
    return legacy_context(document) if isinstance(document, list) else None


def safe_name(key: str) -> str:
    """``key`` as one file or object name that cannot climb out of its folder.

    Every character outside ``[A-Za-z0-9_.-]`` is percent-encoded, and a leading dot
    is too, so ``..``, ``/`` and ``\\`` never survive as path syntax. The empty key is ``%``.
    Distinct keys give distinct names, and ``key_of`` turns a name back into its key.
    """
    name = _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), str(key))
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name or EMPTY_KEY_NAME


def key_of(name: str) -> str | None:
    """The key whose ``safe_name`` is ``name``, or None when no key has that name."""
    if name == EMPTY_KEY_NAME:
        return ""
    if not _SAFE_NAME.fullmatch(name) or name.startswith("."):
        return None
    from urllib.parse import unquote  # here: urllib.parse (and ipaddress) would cost every first DotFlow()

    key = unquote(name, encoding="utf-8", errors="surrogatepass")
    return key if safe_name(key) == name else None


def is_flat(key: str) -> bool:
    """Whether ``key`` is its own safe name (letters, digits, ``_.-``, no leading dot): the only
    keys looked up in 1.0.1's locations, which used keys as names unchanged."""
    return bool(key) and safe_name(key) == key
