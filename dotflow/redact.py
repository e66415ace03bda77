"""Masking secrets: the one place dotflow decides what a secret looks like and how it is hidden.

Two tools, for two situations:

- a value known to be a URL (``server.base_url``) is masked by parsing it (``mask_url``): its
  ``user:pass@`` becomes ``***@`` whatever characters the password holds, quotes and spaces included;
- free text (an exception message, a log line) is masked by a ``Redactor`` that knows the secret
  strings themselves (a token, a URL's userinfo) and hides them in every form they take in a URL,
  a ``repr()`` or JSON. ``mask_credentials`` is the fallback for URLs whose secrets are unknown.

Every secret the process is given (a server's token and URL credentials, a notifier's token or
webhook, the values a profile marks secret) is remembered (``remember_secrets``), and
``mask_secrets`` hides them all, with URL credentials, in any text: a step's own exception message
and traceback are masked that way when they are recorded, so no output made from them (the
summary, log lines, ``--output json``, ``result()``, a backend's or a chat's message) holds one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from dotflow.lazy import LazyPattern

__all__ = [
    "MIN_SECRET",
    "Redactor",
    "credential_parts",
    "describe",
    "mask_credentials",
    "mask_secrets",
    "mask_url",
    "one_line",
    "origin",
    "remember_secrets",
    "userinfo",
]

MASK = "***"

# requests re-quotes a URL leaving these characters alone, so a secret inside a URL it logged
# appears quoted this way.
_REQUOTE_SAFE = "!#$%&'()*+,/:;=?@[]~"
# A secret shorter than this is hidden only where it stands alone (between non-alphanumeric
# characters): replacing every "t" of a one-letter token would turn "http" into "h***p".
_SHORT = 8
_SCHEME = LazyPattern(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# A secret shorter than this cannot be told from ordinary text ("7", "ab"): masking it would hide
# words and numbers of every message, so it is not remembered for free text (dotflow's own
# displays of settings still show it as ***).
MIN_SECRET = 3


def userinfo(url: str) -> str | None:
    """The ``user:pass`` part of ``url`` (without the ``@``), or None when it has none.

    The authority normally ends at the first ``/``, ``?`` or ``#``; an ``@`` after that may
    still end a password holding one of them (``https://u:pa/ss@host``), so then everything
    up to the last ``@`` counts: hiding too much is safe, hiding too little is not.
    """
    match = _SCHEME.match(url)
    if match is None:
        return None
    rest = url[match.end():]
    if "@" not in rest:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0:
        at = rest.rfind("@")
    return rest[:at]


def credential_parts(url: str) -> tuple[str, ...]:
    """The secrets of ``url``'s ``user:pass@``: the whole userinfo and the password alone, each as
    written and percent-decoded (a message may quote the password without the user). Empty when
    the URL holds none."""
    credentials = userinfo(url)
    if not credentials:
        return ()
    from urllib.parse import unquote

    password = credentials.split(":", 1)[1] if ":" in credentials else ""
    parts = (credentials, password, unquote(credentials), unquote(password))
    return tuple(dict.fromkeys(part for part in parts if part))


def mask_url(url: str, *secrets: str | None) -> str:
    """``url`` with its userinfo replaced by ``***`` (parsed, so any character is handled) and
    every one of ``secrets`` found anywhere in it (a token in the path, say) hidden too."""
    credentials = userinfo(url)
    if credentials is not None:
        scheme = _SCHEME.match(url)
        assert scheme is not None  # userinfo() found one
        url = f"{url[:scheme.end()]}{MASK}@{url[scheme.end() + len(credentials) + 1:]}"
    if any(secrets):
        url = Redactor(*secrets)(url)
    return url


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` with any userinfo masked, and ``/...`` when a path
    follows: the part of a URL an error may echo when a secret could sit in the rest."""
    match = _SCHEME.match(url)
    if match is None:
        return "(not a URL)"
    masked = mask_url(url)
    rest = masked[match.end():]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return masked[: match.end() + end] + ("/..." if end < len(rest) else "")


class Redactor:
    """Hides known secret strings in text, in each form they take: raw, percent-encoded (as
    ``quote`` and requests write them), escaped inside a ``repr()`` and inside JSON.

    ``Redactor(token, userinfo(base_url))(message)``; None and empty secrets are ignored. Calling
    it never raises, and a text without any secret comes back unchanged.
    """

    __slots__ = ("_long", "_short")

    def __init__(self, *secrets: str | None) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms.update(_forms(secret))
        ordered = sorted(forms, key=len, reverse=True)  # longest first: a form may contain a shorter one
        self._long = [form for form in ordered if len(form) >= _SHORT]
        short = [re.escape(form) for form in ordered if len(form) < _SHORT]
        self._short = re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(short)})(?![A-Za-z0-9])") if short else None

    @classmethod
    def remembering(cls, *secrets: str | None) -> Redactor:
        """The Redactor of ``secrets``, which the process also remembers from now on
        (``remember_secrets``): what a provider given a secret hides with."""
        remember_secrets(*secrets)
        return cls(*secrets)

    def __bool__(self) -> bool:
        return bool(self._long or self._short)

    def __call__(self, text: str) -> str:
        for form in self._long:
            if form in text:
                text = text.replace(form, MASK)
        if self._short is not None:
            text = self._short.sub(MASK, text)
        return text


def _forms(secret: str) -> Iterable[str]:
    from urllib.parse import quote  # here, not at import: urllib.parse (and ipaddress) cost the first DotFlow() ~2 ms

    yield secret
    yield quote(secret, safe="")
    yield quote(secret, safe=_REQUOTE_SAFE)
    yield repr(secret)[1:-1]  # as it stands inside a repr() of a string holding it
    yield repr(secret + '"')[1:-2]  # ... inside a repr() that switched to double quotes
    yield json.dumps(secret)[1:-1]  # inside JSON (ensure_ascii escapes)
    yield json.dumps(secret, ensure_ascii=False)[1:-1]


_URL = LazyPattern(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"]*")
_BARE_USERINFO = LazyPattern(r"^(['\"]?)[^/?#@\s:'\"]+:[^/?#@\s]*@")


def mask_credentials(text: str) -> str:
    """``text`` with every ``user:pass@`` of a URL in it replaced by ``***@``: the fallback for
    free text whose secrets are not known. A ``text`` that is itself a URL is parsed instead
    (``mask_url``), so a password holding quotes or spaces is hidden whole."""
    if "@" not in text:
        return text
    if _SCHEME.match(text):
        return mask_url(text)
    return _BARE_USERINFO.sub(r"\1***@", _URL.sub(lambda m: mask_url(m.group()), text))


_QUERY = LazyPattern(r"(https?://[^\s?\"']*)\?[^\s\"']*")


_known: set[str] = set()
_known_redactor: list[Redactor] = []  # the Redactor of every secret remembered, rebuilt when one is added


def remember_secrets(*secrets: str | None) -> None:
    """Remember secrets this process was given, so that ``mask_secrets`` hides them from now on.
    None, empty and too short values (``MIN_SECRET``) are ignored. Thread-safe enough: a set's
    update and a list's item swap are atomic, and a Redactor is immutable."""
    new = {secret for secret in secrets if isinstance(secret, str) and len(secret.strip()) >= MIN_SECRET}
    new = {secret.strip() for secret in new} | new
    if new <= _known:
        return
    _known.update(new)
    redactor = Redactor(*_known)
    if _known_redactor:
        _known_redactor[0] = redactor
    else:
        _known_redactor.append(redactor)


def mask_secrets(text: str) -> str:
    """``text`` with every remembered secret and every URL's ``user:pass@`` masked."""
    if _known_redactor:
        text = _known_redactor[0](text)
    return mask_credentials(text)


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one short line fit for an error message: whitespace collapsed, URL query
    strings dropped (they can carry keys), known secrets and credentials masked, cut at ``limit``
    characters."""
    line = mask_secrets(_QUERY.sub(r"\1", " ".join(str(text).split())))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException, limit: int = 300) -> str:
    """``ExceptionType: message`` on one line (see ``one_line``)."""
    return f"{type(exc).__name__}: {one_line(str(exc), limit) or 'no detail'}"
