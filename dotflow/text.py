"""Wording that many error messages share: the hint to the name the user most likely meant."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "", quote: bool = True) -> str:
    """``"; did you mean 'x'?"`` for the candidate closest to ``word`` (with ``prefix`` put
    before it), or ``""`` when none is close."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    guess = prefix + close[0]
    return f"; did you mean {guess!r}?" if quote else f"; did you mean {guess}?"
