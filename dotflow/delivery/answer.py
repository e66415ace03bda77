"""What a provider needs from one HTTP answer, and how much of it is read: shared by both kinds of connection."""

from __future__ import annotations

from typing import NamedTuple

# Bytes of an answer's body read at most; the rest is never read (the connection is closed instead).
BODY_LIMIT = 64 * 1024
# Characters of a body kept for a log line.
SNIPPET = 200


class Answer(NamedTuple):
    """What a provider needs from one HTTP answer. ``text`` is the body's start, not yet redacted;
    ``body`` the bytes read of it (at most ``BODY_LIMIT``); ``protocol`` and ``token`` the
    ``Dotflow-Protocol`` and ``Dotflow-Token`` headers of the runner protocol version 2."""

    status: int
    retry_after: str | None
    location: str | None
    text: str
    body: bytes = b""
    protocol: str | None = None
    token: str | None = None
