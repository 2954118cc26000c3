import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx

from ems_readiness.probes.graph import backoff_seconds, is_granted, retry_after_seconds


def test_retry_after_accepts_fractional_integer_and_http_date():
    assert retry_after_seconds(httpx.Headers({"Retry-After": "2.128"})) == 2.128
    assert retry_after_seconds(httpx.Headers({"Retry-After": "3"})) == 3.0
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(httpx.Headers({"Retry-After": later})) <= 30
    assert retry_after_seconds(httpx.Headers({})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "-5"})) == 0.0


def test_backoff_is_exponential_with_jitter_and_capped():
    rng = random.Random(1)
    for attempt in range(12):
        delay = backoff_seconds(attempt, rng)
        assert 0 <= delay <= min(30.0, 0.5 * 2**attempt)


def test_higher_privileges_satisfy_lower_ones():
    assert is_granted("User.Read.All", frozenset({"Directory.Read.All"}))
    assert is_granted("GroupMember.Read.All", frozenset({"Group.Read.All"}))
    assert not is_granted("Agreement.Read.All", frozenset({"Directory.Read.All"}))
