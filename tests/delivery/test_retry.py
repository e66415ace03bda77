"""The retry policy as pure functions: which answers are transient, and how long to wait."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotflow.delivery import retry


@pytest.mark.parametrize(("status", "expected"), [(408, True), (429, True), (500, True), (503, True), (599, True),
                                                  (200, False), (301, False), (400, False), (401, False),
                                                  (404, False), (409, False), (422, False), (600, False)])
def test_transient_statuses(status: int, expected: bool) -> None:
    """408, 429 and 5xx are worth another attempt; other answers are not."""
    assert retry.is_transient(status) is expected


def test_full_jitter_scales_the_doubling_window() -> None:
    """The wait before retry n is rand times base * 2**(n-1), capped."""
    assert retry.delay(1, None, cap=30, rand=1.0) == 0.25
    assert retry.delay(3, None, cap=30, rand=0.5) == 0.5
    assert retry.delay(10, None, cap=30, rand=1.0) == 30
    assert retry.delay(1, None, cap=30, rand=0.0) == 0.0


def test_retry_after_wins_and_is_capped() -> None:
    """A Retry-After is used as is (no jitter), but never above the cap, and never negative."""
    assert retry.delay(1, 2.5, cap=30, rand=0.0) == 2.5
    assert retry.delay(1, 120, cap=30, rand=0.9) == 30
    assert retry.delay(4, -3, cap=30, rand=0.9) == 0.0


@given(st.integers(min_value=-5, max_value=10_000), st.floats(min_value=0, max_value=1),
       st.floats(min_value=0.01, max_value=1e6), st.one_of(st.none(), st.floats(allow_nan=False)))
def test_a_wait_is_never_negative_nor_above_the_cap(attempt: int, rand: float, cap: float, after: float | None) -> None:
    """Whatever the attempt, jitter and Retry-After, the wait lies in [0, cap]."""
    assert 0.0 <= retry.delay(attempt, after, cap=cap, rand=rand) <= cap


def test_retry_after_parses_seconds_and_http_dates() -> None:
    """Delta-seconds and HTTP-dates give seconds from now; junk, blanks and NaN give None."""
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry.parse_retry_after("3", now) == 3.0
    assert retry.parse_retry_after(" 0.5 ", now) == 0.5
    assert retry.parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert retry.parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "nan", "Mon, 99 Foo"):
        assert retry.parse_retry_after(junk, now) is None
