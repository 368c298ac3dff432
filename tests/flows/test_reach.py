"""Nobody silently unreachable (issue 11, item 6): the admins in PRESALES_ADMINS are reached by
escalations and digests even if they never used the bot, and an escalation step with nobody to
tell says so in the deal channel instead of reaching no manager in silence."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.flows import digests
from models import Person
from tests.harness import ADMIN, AE

MON = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # the frozen "now" of every test
THU = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


def _people(h) -> set[str]:
    with h.db.read() as session:
        return set(session.scalars(select(Person.slack_user_id)))


def test_an_admin_who_never_used_the_bot_receives_the_escalation(h):
    h.person(ADMIN, tz="Europe/Berlin")  # in Slack (users.info answers), never seen by the bot
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, kind="rfp", meeting_at=None, needed_by=THU, brief=False)  # no brief: no managers yet
    assert ADMIN not in _people(h)
    h.at(MON + timedelta(minutes=91))
    h.tick()
    assert any("still unclaimed" in m["text"] for m in h.slack.dm_messages(ADMIN))
    assert any("still unclaimed" in m["text"] for m in h.slack.dm_messages(AE))
    with h.db.read() as session:
        admin = session.scalar(select(Person).where(Person.slack_user_id == ADMIN))
    assert admin is not None and not admin.is_manager and admin.tz == "Europe/Berlin"  # a row, no new role


def test_an_escalation_with_nobody_to_tell_says_so_in_the_deal_channel(make_harness, caplog):
    h = make_harness(admins=frozenset())
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    status_before = json.dumps(h.slack.message(request.status_channel, request.status_ts))
    assert "No manager to escalate to" not in status_before
    h.at(MON + timedelta(minutes=91))
    with caplog.at_level(logging.WARNING):
        h.tick()
    h.drain()
    assert any("still unclaimed" in m["text"] for m in h.slack.dm_messages(AE))  # the AE still hears it
    status = json.dumps(h.slack.message(request.status_channel, request.status_ts))
    assert "No manager to escalate to" in status
    assert any("reaches no manager" in r.getMessage() for r in caplog.records)


def test_an_admin_who_never_used_the_bot_gets_the_weekly_digest(h):
    h.person(ADMIN, tz="Europe/Berlin")
    h.expert("U0EXP1")  # the workspace is known to the bot, its admin is not
    assert ADMIN not in _people(h)
    assert digests.send_weekly_digests(h.deps) == 1  # Monday 16:00 in Berlin: 09:00 has passed
    assert h.slack.dm_messages(ADMIN)
