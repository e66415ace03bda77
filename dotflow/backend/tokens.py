"""Tokens: made with ``secrets``, kept only as their SHA-256 digest, compared in constant time.

A token here is 32 random bytes (256 bits), so one round of SHA-256 is enough to keep it: no
dictionary or brute force reaches a preimage, and a leaked database yields no usable token. The
operator token given by ``DOTFLOW_BACKEND_TOKEN`` is chosen by a person, so it must be long.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

OPERATOR_PREFIX: Final = "dfo_"  # an operator token, so a leaked one is recognisable as such
RUN_PREFIX: Final = "dfr_"  # a run token
MIN_CHOSEN_LENGTH: Final = 16  # characters of a token an operator chooses
MAX_LENGTH: Final = 512  # what a request may present; anything longer is no token of ours


def new_operator_token() -> str:
    """A fresh operator token."""
    return OPERATOR_PREFIX + secrets.token_urlsafe(32)


def new_run_token() -> str:
    """A fresh token for one run."""
    return RUN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 digest (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(known: str, presented: str) -> bool:
    """Whether two digests are equal, in time that does not depend on where they differ."""
    return hmac.compare_digest(known.encode("ascii"), presented.encode("ascii"))


def chosen_token_problem(token: str) -> str | None:
    """Why a token an operator chose (``DOTFLOW_BACKEND_TOKEN``) cannot be used, or None.

    The message never holds the token."""
    if len(token) < MIN_CHOSEN_LENGTH:
        return f"is {len(token)} characters long; use at least {MIN_CHOSEN_LENGTH} (such as the output of " \
               "'python -c \"import secrets; print(secrets.token_urlsafe(32))\"')"
    if len(token) > MAX_LENGTH:
        return f"is {len(token)} characters long; use at most {MAX_LENGTH}"
    if not token.isprintable() or any(c.isspace() for c in token) or not token.isascii():
        return "holds spaces, control or non-ASCII characters, which an HTTP header cannot carry as they are"
    return None
