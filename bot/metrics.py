"""Prometheus metrics (GET /metrics).

Counters for what happens (requests, DMs, claims, declines, escalation steps, notices, Slack
API errors by method and code, background failures), a histogram of the time Slack waits for
our answer on /slack/events, and, computed at scrape time from the database, the scheduler
lag: how long the oldest due notice has been waiting.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR to an empty directory and
prometheus_client keeps the counters in files there; /metrics then sums every worker
(bot/server.py does this for you).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

requests_created = Counter("presales_requests_created", "Requests stored (first submission, not replays)")
offers_sent = Counter("presales_offers_sent", "Offer DMs Slack accepted")
offers_failed = Counter("presales_offers_failed", "Offer DMs Slack refused for good", ["code"])
claims = Counter("presales_claims", "Claims won")
declines = Counter("presales_declines", "Declines recorded")
escalations = Counter("presales_escalations", "Escalation steps sent", ["step"])
notices = Counter("presales_notices", "Due notices handled by the scheduler", ["kind", "outcome"])
slack_errors = Counter("presales_slack_api_errors", "Slack Web API calls that failed", ["method", "code"])
slack_paced = Counter("presales_slack_paced_seconds", "Seconds Slack calls waited for their rate tier (PRESALES_SLACK_PACE)",
                      ["method"])
background_failures = Counter("presales_background_failures", "Background work that raised")
ack_seconds = Histogram(
    "presales_ack_seconds", "Time from a Slack request arriving to our HTTP answer (the ack)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)


class SchedulerLag:
    """presales_scheduler_lag_seconds: age of the oldest pending notice that is due (0 if none).
    ``oldest_due(now)`` reads it from the database (the caller knows how)."""

    def __init__(self, oldest_due: Callable[[datetime], datetime | None], now: Callable[[], datetime]) -> None:
        self.oldest_due = oldest_due
        self.now = now

    def collect(self):
        gauge = GaugeMetricFamily("presales_scheduler_lag_seconds",
                                  "How long the oldest due notice has been waiting to be sent")
        now = self.now()
        try:
            oldest = self.oldest_due(now)
        except Exception:  # the database is down: no sample (healthz says so)
            return
        gauge.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield gauge


def render(oldest_due: Callable[[datetime], datetime | None], now: Callable[[], datetime], *,
           multiprocess_dir: str | None) -> tuple[bytes, str]:
    """The exposition text for GET /metrics: this process's counters (or, with a multiprocess
    directory, every worker's), then the scheduler lag read from the database."""
    if multiprocess_dir:
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters, path=multiprocess_dir)
    else:
        counters = REGISTRY
    lag = CollectorRegistry()
    lag.register(SchedulerLag(oldest_due, now))
    return generate_latest(counters) + generate_latest(lag), CONTENT_TYPE_LATEST
