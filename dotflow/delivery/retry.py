"""The retry policy of remote reports: which answers are worth another attempt, and how long to wait first.

Pure functions, so the policy is tested without a clock, a network or a random generator.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# The first backoff window, in seconds; window n (1 for the first retry) is base * 2**(n-1), capped.
BASE = 0.25


def is_transient(status: int) -> bool:
    """Whether an HTTP answer may go away by itself: 408 (timeout), 429 (slow down) and any 5xx."""
    return status in (408, 429) or 500 <= status <= 599


def delay(retry: int, retry_after: float | None, *, cap: float, rand: float, base: float = BASE) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first).

    The server's ``Retry-After`` wins when given; otherwise full jitter: ``rand`` (uniform in
    [0, 1)) times the exponential window. Either way, never more than ``cap``.
    """
    if retry_after is not None:
        return min(cap, max(0.0, retry_after))
    window = min(cap, base * 2.0 ** min(max(retry, 1) - 1, 60))
    return max(0.0, min(1.0, rand)) * window


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP-date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)
