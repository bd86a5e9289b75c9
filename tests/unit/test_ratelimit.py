"""The per-tenant token bucket."""

from __future__ import annotations

from stenograph.api.ratelimit import RateLimiter


def test_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate_per_s=2.0, burst=3)
    assert [limiter.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", 0.0) == 0.5  # the next token in half a second
    assert limiter.take("b", 0.0) == 0.0  # tenants do not share a bucket
    assert limiter.take("a", 0.5) == 0.0
    assert limiter.take("a", 0.5) > 0
    assert limiter.take("a", 100.0) == 0.0  # refilled, but never past the burst
    assert [limiter.take("a", 100.0) for _ in range(3)][-1] > 0


def test_zero_rate_is_unlimited_and_retry_after_is_whole_seconds() -> None:
    assert RateLimiter(0, 0).take("a", 0.0) == 0.0
    assert RateLimiter.retry_after(0.2) == "1" and RateLimiter.retry_after(2.5) == "3"
