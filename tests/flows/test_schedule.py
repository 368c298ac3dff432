"""The scheduler: the timeline of a request, escalation, reminders, snooze, follow-up,
expiry, catch-up after downtime, and DST. Time is moved, never slept."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import clock
from bot.flows import notices
from bot.services import leases
from bot.slack.ids import Action, Field, View
from models import FollowUp, RequestStatus
from tests.fakes import signing
from tests.harness import ADMIN, AE

UTC = timezone.utc
MON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # the frozen "now" of every test
THU = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def pending(h, request_id):
    return {(n.kind, n.recipient.slack_user_id, n.due_at) for n in h.notices(request_id) if n.state == "pending"}


def sent_of(h, request_id, kind):
    return [n for n in h.notices(request_id) if n.kind == kind and n.state == "sent"]


def threads_in_dm(h, user_id):
    return [c for c in h.slack.calls_to("chat.postMessage")
            if c.params.get("thread_ts") and c.params.get("channel", "").endswith(user_id[1:])]


def test_timeline_of_a_request_from_broadcast_to_follow_up(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU, duration=60)
    request = h.last_request()
    assert pending(h, request.id) == {
        ("expire", AE, THU),
        ("broadcast_check", AE, MON + timedelta(minutes=2)),
        ("reping", AE, MON + timedelta(minutes=30)),
        ("widen", AE, MON + timedelta(minutes=60)),
        ("escalate", AE, MON + timedelta(minutes=90)),
    }
    h.at(MON + timedelta(minutes=10))
    h.click("U0EXP1", Action.CLAIM, request.id)
    assert pending(h, request.id) == {
        ("reminder", "U0EXP1", THU - timedelta(hours=24)),
        ("reminder", AE, THU - timedelta(hours=24)),
        ("reminder", "U0EXP1", THU - timedelta(hours=1)),
        ("reminder", AE, THU - timedelta(hours=1)),
        ("followup", AE, THU + timedelta(hours=3)),
        ("followup", "U0EXP1", THU + timedelta(hours=3)),
    }
    cancelled = {n.kind for n in h.notices(request.id) if n.state == "cancelled"}
    assert cancelled == {"expire", "broadcast_check", "reping", "widen", "escalate"}


def test_escalation_repings_widens_then_tells_managers_and_stops_on_claim(make_harness):
    h = make_harness(experts_channel="C0EXPERTS", fanout_limit=1)
    h.person(AE)
    h.expert("U0EXP1", "kubernetes:expert")
    h.expert("U0EXP2", "kubernetes:learning")  # beyond the fan-out limit of 1
    h.expert("U0REL", "kubernetes-security")  # a related skill
    h.command(ADMIN, "manager add <@U0MGR|mgr>")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert h.offer(request.id, "U0EXP2") is None
    h.at(MON + timedelta(minutes=31))
    assert h.tick()["sent"] >= 1
    assert len(threads_in_dm(h, "U0EXP1")) == 1  # re-pinged in the thread of their DM
    h.at(MON + timedelta(minutes=61))
    h.tick()
    assert h.offer(request.id, "U0EXP2").ts and h.offer(request.id, "U0REL").ts  # widened
    widen_post = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0EXPERTS"
                  and c.params.get("thread_ts")]
    assert len(widen_post) == 1
    h.at(MON + timedelta(minutes=91))
    h.tick()
    assert any("still unclaimed" in m["text"] for m in h.slack.dm_messages("U0MGR"))
    assert any("still unclaimed" in m["text"] for m in h.slack.dm_messages(AE))
    assert [n.state for n in h.notices(request.id) if n.kind in ("reping", "widen", "escalate")] == ["sent"] * 3


def test_a_claim_stops_the_ladder_even_for_a_step_already_leased(h):
    """RELIABILITY 31/52: state is re-checked at send time; no escalation after a claim."""
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.at(MON + timedelta(minutes=31))
    with h.db.session() as session:  # a scheduler took the re-ping...
        taken = leases.take_due(session, now=clock.now(), limit=10, lease=timedelta(minutes=2), token="tick-a")
    h.click("U0EXP1", Action.CLAIM, request.id)  # ...the expert claims before it is sent
    before = len(threads_in_dm(h, "U0EXP1"))
    for notice_id in taken:
        notices.deliver(h.deps, notice_id, "tick-a")
    assert len(threads_in_dm(h, "U0EXP1")) == before
    reping = next(n for n in h.notices(request.id) if n.kind == "reping")
    assert reping.state == "skipped" and "claimed" in reping.last_error


@pytest.mark.parametrize(
    "urgency, lead, expected",
    [
        ("urgent", timedelta(hours=5), [10, 20, 30]),  # 10-minute steps for urgent requests
        ("normal", timedelta(hours=1), [15, 26.25, 34.6875]),  # never more than a quarter of what is left
    ],
)
def test_escalation_tightens_as_the_meeting_approaches(h, urgency, lead, expected):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=MON + lead, urgency=urgency)
    request = h.last_request()
    steps = sorted(n.due_at for n in h.notices(request.id) if n.kind in ("reping", "widen", "escalate"))
    assert steps == [MON + timedelta(minutes=m) for m in expected]


def test_meeting_reminders_with_brief_and_snooze(h):
    h.person(AE, tz="America/New_York")
    h.expert("U0EXP1", tz="Europe/Berlin")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    h.at(THU - timedelta(hours=1))
    h.tick()
    reminder = h.slack.dm_messages("U0EXP1")[-1]
    assert "starts in 1h" in reminder["text"] and "16:00 CET" in reminder["text"]
    assert "Pick the platform vendor" in str(reminder["blocks"])  # the customer's decision is in it
    ae_reminder = h.slack.dm_messages(AE)[-1]
    assert "10:00 EST" in ae_reminder["text"]
    notice = next(n for n in h.notices(request.id) if n.kind == "reminder" and n.recipient.slack_user_id == "U0EXP1"
                  and n.state == "sent" and n.slot.startswith("1h"))
    first = h.driver.action("U0EXP1", Action.SNOOZE_30, str(notice.id), channel_id=reminder["channel"],
                            message_ts=reminder["ts"])
    h.drain()
    assert "remind you again" in h.said(first)
    second = h.driver.action("U0EXP1", Action.SNOOZE_60, str(notice.id), channel_id=reminder["channel"],
                             message_ts=reminder["ts"])
    h.drain()
    assert "already snoozed" in h.said(second)
    intruder = h.driver.action(AE, Action.SNOOZE_30, str(notice.id), block_id="b")
    h.drain()
    assert "someone else's" in h.said(intruder)
    h.at(THU - timedelta(minutes=29))
    h.tick()
    again = h.slack.dm_messages("U0EXP1")[-1]
    assert "starts in 29m" in again["text"]
    snoozed = next(n for n in h.notices(request.id) if n.slot == f"snooze-{notice.id}")
    late = h.driver.action("U0EXP1", Action.SNOOZE_60, str(snoozed.id), block_id="b")
    h.drain()
    assert "meeting starts before then" in h.said(late)


def test_follow_up_asks_the_ae_for_the_outcome_and_the_expert_for_hours_once(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU, duration=60)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    h.at(THU + timedelta(hours=3, minutes=1))
    h.tick()
    assert "How did it go?" in h.slack.dm_messages(AE)[-1]["text"]
    assert "How many hours" in h.slack.dm_messages("U0EXP1")[-1]["text"]
    h.driver.action(AE, Action.FOLLOWUP_OUTCOME, str(request.id), block_id="b")
    h.drain()
    outcome = {Field.OUTCOME_DECIDED: {"value": {"type": "radio_buttons",
                                                 "selected_option": {"value": "not_yet", "text": {"type": "plain_text", "text": "Not yet"}}}},
               Field.OUTCOME_NEXT: {"value": signing.plain_text_input("Security review next week")},
               Field.OUTCOME_NEW_DATE: {"value": {"type": "datepicker", "selected_date": "2026-12-15"}}}
    outcome = {str(k): v for k, v in outcome.items()}
    assert h.driver.submit_view(AE, View.OUTCOME, outcome).status == 200
    h.drain()
    hours = {str(Field.HOURS_PREP): {"value": {"type": "number_input", "value": "2.5"}},
             str(Field.HOURS_MEETING): {"value": {"type": "number_input", "value": "1"}}}
    h.driver.action("U0EXP1", Action.FOLLOWUP_HOURS, str(request.id), block_id="b")
    h.drain()
    assert h.driver.submit_view("U0EXP1", View.HOURS, hours).status == 200
    h.drain()
    bad = h.driver.submit_view("U0EXP1", View.HOURS, {**hours, str(Field.HOURS_PREP): {"value": {"type": "number_input", "value": "-3"}}})
    assert bad.json["response_action"] == "errors"
    twice = h.driver.submit_view(AE, View.OUTCOME, outcome)
    assert twice.json["response_action"] == "push" and "already answered" in str(twice.json["view"])
    with h.db.session() as session:
        rows = {f.role: f for f in session.scalars(select(FollowUp))}
    assert rows["ae"].decision_made == "not_yet" and rows["ae"].new_date.isoformat() == "2026-12-15"
    assert rows["expert"].prep_hours == 2.5 and rows["expert"].meeting_hours == 1.0


def test_cancel_stops_every_pending_notice(h):
    """RELIABILITY 53: a reminder for a cancelled request is never sent."""
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    h.command(AE, f"cancel {request.id}")
    assert pending(h, request.id) == set()
    h.at(THU + timedelta(hours=4))
    dms_before = len(h.slack.dm_messages("U0EXP1"))
    assert h.tick()["sent"] == 0
    assert len(h.slack.dm_messages("U0EXP1")) == dms_before


def test_reschedule_moves_reminders_and_expiry(h):
    h.person(AE, tz="UTC")
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    reply = h.command(AE, f"reschedule {request.id} 2026-11-27 16:00")
    assert "moved to" in h.said(reply)
    new = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    reminders = {n.due_at for n in h.notices(request.id) if n.kind == "reminder" and n.state == "pending"}
    assert reminders == {new - timedelta(hours=24), new - timedelta(hours=1)}
    assert any("moved to" in m["text"] for m in h.slack.dm_messages("U0EXP1"))
    assert "in the past" in h.said(h.command(AE, f"reschedule {request.id} 2025-01-01 10:00"))
    assert "Only the requester" in h.said(h.command("U0RANDO", f"reschedule {request.id} Fri 4pm"))


def test_unclaimed_requests_expire_as_unfilled(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=MON + timedelta(hours=3))
    request = h.last_request()
    h.at(MON + timedelta(hours=3, minutes=1))
    h.tick()
    assert h.last_request().status == RequestStatus.UNFILLED
    assert "Unfilled" in h.status_text(request.id)
    assert "Closed" in h.dm_text("U0EXP1", request.id)
    assert any("unfilled" in m["text"] for m in h.slack.dm_messages(AE))
    late = h.click("U0EXP1", Action.CLAIM, request.id)
    assert "unfilled" in h.said(late)


def test_brief_nudges_to_the_ae_in_working_hours_and_the_manager_at_due(h):
    h.person(AE, tz="America/New_York")
    h.expert("U0EXP1")
    h.command(ADMIN, "manager add <@U0MGR|mgr>")
    monday_meeting = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Mon 10:00 New York
    h.submit_request(AE, meeting_at=monday_meeting, brief=False)
    request = h.last_request()
    nudges = sorted((n.slot, n.due_at) for n in h.notices(request.id) if n.kind == "brief_nudge")
    # due Sun 29 Nov 15:00 UTC (10:00 NY, a Sunday) -> Friday's last working hour, 17:00 NY
    assert nudges == [("created", MON),  # sent at once (a notice too, so a Slack hiccup is retried)
                      ("due", datetime(2026, 11, 27, 22, 0, tzinfo=UTC))]  # due-24h (Sat) lands there too
    assert next(n for n in h.notices(request.id) if n.slot == "created").state == "sent"
    overdue = [n for n in h.notices(request.id) if n.kind == "brief_overdue"]
    assert [n.recipient.slack_user_id for n in overdue] == ["U0MGR"]
    h.at(datetime(2026, 11, 27, 22, 1, tzinfo=UTC))
    h.tick()
    ae_nudges = [m for m in h.slack.dm_messages(AE) if "prep brief" in m["text"]]
    assert len(ae_nudges) == 2  # at creation, and Friday (the two due nudges coincide: sent once)
    h.at(datetime(2026, 11, 29, 15, 1, tzinfo=UTC))
    h.tick()
    assert any("still missing" in m["text"] for m in h.slack.dm_messages("U0MGR"))


def test_a_scheduler_that_was_down_catches_up_with_one_reminder(h, caplog):
    """RELIABILITY 40: down for hours -> overdue reminders coalesce into one, marked late;
    notices past their grace are skipped and logged, never silently dropped."""
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    h.at(THU - timedelta(minutes=20))  # missed both the 24h and the 1h reminder
    before = len(h.slack.dm_messages("U0EXP1"))
    h.tick()
    reminders = h.slack.dm_messages("U0EXP1")[before:]
    assert len(reminders) == 1 and "starts in 1h" in reminders[0]["text"]
    states = {(n.slot.split("@")[0], n.recipient.slack_user_id): (n.state, n.late) for n in h.notices(request.id)
              if n.kind == "reminder"}
    assert states[("1h", "U0EXP1")] == ("sent", True)
    assert states[("24h", "U0EXP1")][0] == "skipped"
    # a follow-up more than 3 days overdue is skipped with a log line
    h.at(THU + timedelta(days=5))
    with caplog.at_level(logging.WARNING):
        h.tick()
    followups = [n for n in h.notices(request.id) if n.kind == "followup"]
    assert all(n.state == "skipped" for n in followups)
    assert "overdue past its grace" in caplog.text


def test_dst_changes_neither_skip_nor_double_a_reminder(h):
    """RELIABILITY 50: spring-forward and fall-back days in Berlin."""
    h.person(AE, tz="Europe/Berlin")
    h.expert("U0EXP1", tz="Europe/Berlin")
    cases = [datetime(2027, 3, 28, 1, 30, tzinfo=UTC),   # 03:30 CEST, the day clocks jump 02:00 -> 03:00
             datetime(2027, 10, 31, 1, 30, tzinfo=UTC)]  # 02:30 CET, the day 02:00-03:00 happens twice
    h.at(datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    ids = []
    for meeting in cases:
        h.at(meeting - timedelta(days=6))
        h.submit_request(AE, meeting_at=meeting)
        request = h.last_request()
        h.click("U0EXP1", Action.CLAIM, request.id)
        ids.append(request.id)
        step = meeting - timedelta(hours=3)
        while step <= meeting:  # tick every 10 minutes across the night
            h.at(step)
            h.tick()
            step += timedelta(minutes=10)
    for request_id, meeting in zip(ids, cases):
        sent = [n for n in h.notices(request_id) if n.kind == "reminder" and n.state == "sent"
                and n.recipient.slack_user_id == "U0EXP1" and n.slot.startswith("1h")]
        assert len(sent) == 1 and sent[0].due_at == meeting - timedelta(hours=1)
        assert sent[0].sent_at - sent[0].due_at < timedelta(minutes=10)


def test_reminder_offsets_setting_is_validated():
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError) as err:
        load_settings({"PRESALES_REMINDER_OFFSETS": "banana"}, env_file=None)
    assert "PRESALES_REMINDER_OFFSETS" in str(err.value) and "\n" not in str(err.value)
