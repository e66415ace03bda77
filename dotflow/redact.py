"""Masking credentials in URLs and messages: the one place dotflow decides what a secret looks like."""

from __future__ import annotations

import re

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"]*")
_BARE_USERINFO = re.compile(r"^(['\"]?)[^/?#@\s:'\"]+:[^/?#@\s]*@")


def mask_credentials(text: str) -> str:
    """``text`` with every ``user:pass@`` in a URL (or at the start of a bare ``user:pass@host``)
    replaced by ``***@``, safe to print."""
    if "@" not in text:
        return text
    return _BARE_USERINFO.sub(r"\1***@", _URL.sub(lambda m: _mask_url(m.group()), text))


def _mask_url(url: str) -> str:
    head, _, rest = url.partition("//")
    if "@" not in rest:
        return url
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    if "@" in rest[:authority_end]:
        return f"{head}//***@{rest[:authority_end].rpartition('@')[2]}{rest[authority_end:]}"
    # an "@" past the first "/" may end a malformed password holding "/": hide all before it
    return f"{head}//***@{rest.rpartition('@')[2]}"


_QUERY = re.compile(r"(https?://[^\s?\"']*)\?[^\s\"']*")


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one short line fit for an error message: whitespace collapsed, URL query
    strings dropped (they can carry keys), credentials masked, cut at ``limit`` characters."""
    line = mask_credentials(_QUERY.sub(r"\1", " ".join(str(text).split())))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException, limit: int = 300) -> str:
    """``ExceptionType: message`` on one line (see ``one_line``)."""
    return f"{type(exc).__name__}: {one_line(str(exc), limit) or 'no detail'}"
