"""Operability: Prometheus metrics, one structured log line per Slack request, request ids in
background work."""

from __future__ import annotations

import json
import logging
import re

from bot.logs import JsonFormatter
from bot.slack.ids import Action
from tests.harness import AE


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + labels + r"[^}]*\}" if labels else r"(\{[^}]*\})?") + r" ([0-9.e+-]+)"
    return sum(float(m.group(m.lastindex)) for m in re.finditer(pattern, text))


def scrape(h) -> str:
    reply = h.driver.get("/metrics")
    assert reply.status == 200 and reply.headers.get("content-type", "").startswith("text/plain")
    return reply.body


def test_metrics_count_what_happens(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0GONE")
    h.slack.strict_users = True
    h.slack.add_user("U0GONE", deleted=True)  # Slack refuses this DM for good
    before = scrape(h)
    h.submit_request(AE)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    after = scrape(h)
    assert metric(after, "presales_requests_created_total") - metric(before, "presales_requests_created_total") == 1
    assert metric(after, "presales_offers_sent_total") - metric(before, "presales_offers_sent_total") == 1
    assert metric(after, "presales_claims_total") - metric(before, "presales_claims_total") == 1
    assert metric(after, "presales_slack_api_errors_total", 'code="channel_not_found"') \
        - metric(before, "presales_slack_api_errors_total", 'code="channel_not_found"') >= 1
    assert metric(after, "presales_ack_seconds_count") > metric(before, "presales_ack_seconds_count")
    assert "presales_scheduler_lag_seconds 0.0" in after


def test_scheduler_lag_shows_the_oldest_due_notice(h):
    from datetime import timedelta

    from bot import clock

    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    h.at(clock.now() + timedelta(minutes=45))  # the re-ping (due at +30 min) waits: nobody ticked
    assert abs(metric(scrape(h), "presales_scheduler_lag_seconds") - 43 * 60) < 1


def test_one_log_line_per_slack_request_with_a_request_id_carried_into_background_work(h, caplog):
    caplog.set_level(logging.INFO)
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0GONE")
    h.slack.strict_users = True
    h.slack.add_user("U0GONE", deleted=True)
    h.submit_request(AE)
    lines = [r for r in caplog.records if r.getMessage() == "slack request"]
    kinds = {(r.kind, r.action) for r in lines}
    assert ("command", "/presales") in kinds and ("view_submission", "request_modal") in kinds
    submit = next(r for r in lines if r.kind == "view_submission")
    assert submit.team == "T0001" and submit.user == AE and submit.ms > 0 and submit.status == 200
    assert len(submit.rid) == 12
    failure = next(r for r in caplog.records if getattr(r, "slack_error", None) == "channel_not_found")
    assert failure.rid == submit.rid  # the broadcast after the ack logs under the submission's id
    line = json.loads(JsonFormatter().format(submit))
    assert {"ts", "level", "logger", "msg", "rid", "team", "user", "kind", "action", "ms"} <= set(line)


def test_a_self_test_goes_end_to_end_and_counts_nowhere(h):
    """RELIABILITY 61: a synthetic request reaches a test expert (the manager who asked) and is
    excluded from every figure."""
    from bot.services import digest as digest_service
    from tests.harness import ADMIN

    h.person(ADMIN)
    assert "Only managers" in h.said(h.command(AE, "selftest"))
    assert "on its way" in h.said(h.command(ADMIN, "selftest"))
    request = h.last_request()
    assert request.synthetic and "Claim" in h.dm_text(ADMIN, request.id)
    h.click(ADMIN, Action.CLAIM, request.id)
    assert h.last_request().claimed_by.slack_user_id == ADMIN
    assert "Claimed by" in h.status_text(request.id)
    said = h.said(h.command(ADMIN, "stats"))
    assert "0 requests, 0 claimed" in said and "notified 0" in said
    with h.db.read() as session:
        week = digest_service.week_of(request.created_at.date(), "UTC")
        data = digest_service.compute(session, team_id="T0001", week=week, due_before=h.settings.brief_due_before,
                                      now=request.created_at)
    assert data.team.made == 0
    assert [n.kind for n in h.notices(request.id) if n.state == "pending"] == []  # no escalation, no reminders
