"""dotflow.redact: secrets hidden whatever characters they hold and whatever form they take in text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotflow.redact import Redactor, mask_credentials, mask_url, origin, userinfo

ODD_PASSWORDS = ["p'ss", 'p"ss', "p ss", "p\\ss", "p@ss", "p:ss", "pä$s", "p%20ss", "p/ss"]


@pytest.mark.parametrize("password", ODD_PASSWORDS)
def test_mask_url_hides_any_password(password: str) -> None:
    """A URL's user:pass@ is masked whole, quotes, spaces, '@', '/' and '%' included."""
    url = f"https://alice:{password}@api.example/v1"
    shown = mask_url(url)
    assert shown == "https://***@api.example/v1"
    assert userinfo(url) == f"alice:{password}"


def test_mask_url_hides_secrets_found_anywhere_in_the_url() -> None:
    """A token in the path (raw or percent-encoded) is hidden too."""
    token = "tok/with space"
    url = f"https://api.example/{quote(token, safe='')}/v1"
    assert mask_url(url, token) == "https://api.example/***/v1"


@pytest.mark.parametrize("secret", ["tok'en-1234", 'tok"en-1234', "tok en\\1234", "tökén-1234", "tok%2Fen-1234"])
def test_a_redactor_hides_every_form_of_a_secret(secret: str) -> None:
    """Raw, percent-encoded, inside a repr() and inside JSON: the secret never survives."""
    hide = Redactor(secret)
    for text in (secret, quote(secret, safe=""), quote(secret), repr(secret), repr({"t": secret}),
                 json.dumps({"t": secret}), json.dumps(secret, ensure_ascii=False)):
        assert secret not in hide(text) and "***" in hide(text), text


@given(st.text(min_size=8, max_size=40).filter(lambda s: s.strip() == s and s))
def test_a_redactor_hides_any_long_secret(secret: str) -> None:
    """Any secret of 8 characters or more disappears from a message quoting it, however it is quoted."""
    hide = Redactor(secret)
    message = f"failed for {secret!r} at https://h.example/{quote(secret, safe='')} ({json.dumps(secret)})"
    shown = hide(message)
    assert secret not in shown and quote(secret, safe="") not in shown


def test_a_short_secret_is_hidden_only_where_it_stands_alone() -> None:
    """A 1-letter token is masked as a word, not inside 'http' or a host name."""
    assert Redactor("t")("http://host/t/x token=t") == "http://host/***/x token=***"


def test_a_redactor_of_nothing_changes_nothing() -> None:
    """No secret (None, empty) means the text comes back as it was, and the redactor is falsy."""
    hide = Redactor(None, "")
    assert not hide and hide("a b c") == "a b c"


def test_origin_keeps_only_scheme_and_host() -> None:
    """origin() is the part of a URL an error may echo: the host, credentials masked, the rest elided."""
    assert origin("https://u:p@h.example:8443/secret/path?q=1") == "https://***@h.example:8443/..."
    assert origin("https://h.example") == "https://h.example"
    assert origin("not a url") == "(not a URL)"


def test_mask_credentials_in_free_text() -> None:
    """In free text, URLs' credentials are masked; a text that is itself a URL is parsed whole."""
    assert mask_credentials("see https://u:p@h.example/x and ftp://a:b@c/d") == "see https://***@h.example/x and ftp://***@c/d"
    assert mask_credentials("https://u:pa ss@h.example/x") == "https://***@h.example/x"
    assert mask_credentials("no credentials here") == "no credentials here"


def test_no_log_line_of_a_run_shows_a_password_in_an_error(caplog: Any) -> None:
    """A step's error holding a URL's user:password: every log line of the run masks it, the
    DEBUG line of each failed attempt included."""
    import logging

    from dotflow import DotFlow, action

    @action(retry=2, retry_delay=0)
    def leaks() -> None:
        raise ConnectionError("cannot reach postgresql://admin:hunter2@db/x")

    with caplog.at_level(logging.DEBUG, logger="dotflow"):
        flow = DotFlow()
        flow.task.add(leaks)
        flow.start()
    assert "attempt 1 failed" in caplog.text and "postgresql://***@db/x" in caplog.text
    assert "hunter2" not in caplog.text
