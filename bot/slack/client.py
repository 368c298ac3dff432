"""The one Slack Web API client factory.

slack_sdk retries only connection errors by default; we add its rate-limit
handler (honours Retry-After) and its server-error handler (5xx, with backoff
and jitter) so a 429 storm or a flaky Slack does not lose a DM.
"""

from __future__ import annotations

import random

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from bot.config import Settings


class ScaledJitter(Jitter):
    """slack_sdk's RandomJitter adds up to 1 s to every wait; this adds up to one backoff factor."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def recalculate(self, duration: float) -> float:
        return duration + random.random() * self.scale


def retry_handlers(*, rate_limit_retries: int = 5, server_error_retries: int = 5, backoff_factor: float = 0.5) -> list:
    """slack_sdk's handlers share one attempt count per call: a 5xx after three 429s was not
    retried when server errors had 3. The same budget of 5 for both (RELIABILITY 36, 37)."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor, jitter=ScaledJitter(backoff_factor))
    return [
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ServerErrorRetryHandler(max_retry_count=server_error_retries, interval_calculator=backoff),
    ]


def make_client(settings: Settings, *, token: str | None = None, timeout: int = 10) -> WebClient:
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=retry_handlers(backoff_factor=settings.slack_retry_backoff),
    )
