"""Ask the experts who are actually there (issue 11): routing by each expert's working hours in
their own timezone, Slack's out-of-office status and Do Not Disturb, claimed meetings that
overlap; "Send as urgent" when nobody is there; ask one expert first; book the next meeting.

A team with experts in Berlin, Los Angeles and Tokyo and an AE in New York; the clock is frozen
at Monday 23 Nov 2026 15:00 UTC (16:00 Berlin, 07:00 Los Angeles, 00:00 Tokyo, 10:00 New York).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from bot import clock
from bot.slack.ids import Action, Field, View
from models import RequestStatus
from tests.fakes import signing
from tests.harness import AE

UTC = timezone.utc
MS = timedelta(milliseconds=1)  # message ts handed out at one frozen instant differ by microseconds
MON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
THU = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
BERLIN, LA, TOKYO = "U0BERLIN", "U0LA", "U0TOKYO"


def team(h):
    h.person(AE, tz="America/New_York")
    h.expert(BERLIN, tz="Europe/Berlin")
    h.expert(LA, tz="America/Los_Angeles")
    h.expert(TOKYO, tz="Asia/Tokyo")


def asked(h, request_id) -> set[str]:
    return {u for u in (BERLIN, LA, TOKYO) if (o := h.offer(request_id, u)) is not None and o.ts}


def test_a_normal_request_reaches_each_expert_in_their_working_hours(h):
    team(h)
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert asked(h, request.id) == {BERLIN}  # 16:00 in Berlin; 07:00 in LA; midnight in Tokyo
    h.at(MON + timedelta(hours=2))  # 09:00 in Los Angeles
    h.tick()
    assert asked(h, request.id) == {BERLIN, LA}
    h.at(datetime(2026, 11, 23, 23, 59, tzinfo=UTC))  # 08:59 in Tokyo: not yet
    h.tick()
    assert TOKYO not in asked(h, request.id)
    h.at(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))  # 09:00 Tuesday in Tokyo
    h.tick()
    assert asked(h, request.id) == {BERLIN, LA, TOKYO}
    tokyo = h.offer(request.id, TOKYO)
    assert abs(tokyo.sent_at - datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) < MS  # Slack's ts for the DM


def test_an_expert_reached_later_is_not_asked_once_someone_claimed_it(h):
    team(h)
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click(BERLIN, Action.CLAIM, request.id)
    h.at(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    h.tick()
    assert asked(h, request.id) == {BERLIN}
    assert h.slack.dm_messages(TOKYO) == [] and h.slack.dm_messages(LA) == []


def test_an_urgent_request_reaches_everyone_not_out_of_office_at_once(h):
    team(h)
    h.slack.set_status(LA, "Vacationing", ":palm_tree:")
    h.tick_job("refresh_availability")
    h.submit_request(AE, meeting_at=THU, urgency="urgent")
    assert asked(h, h.last_request().id) == {BERLIN, TOKYO}  # Tokyo at midnight too: it is urgent


def test_out_of_office_by_slack_status_is_never_asked_and_excused(h):
    team(h)
    h.at(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # 09:00 LA, 18:00 Berlin: only LA is working
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert asked(h, request.id) == {LA}
    # LA sets "Out of office" (a user_change event): their unanswered DM no longer counts against them
    user = h.slack.set_status(LA, "Out of office until Monday", ":spiral_calendar_pad:")
    h.driver.event({"type": "user_change", "user": user})
    h.drain()
    assert h.offer(request.id, LA).excused
    second_request_at = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 LA
    h.at(second_request_at)
    h.submit_request(AE, meeting_at=THU + timedelta(hours=1), account="Globex")
    assert LA not in asked(h, h.last_request().id)
    # the excused DM is not in LA's rate: notified 0, not "notified 1 · responded 0"
    with h.db.read() as session:
        from bot.services import stats

        figures = stats.response_figures(session, team_id="T0001", since=MON, until=second_request_at + timedelta(1))
    la = next(f for pid, f in figures.items() if h.offer(request.id, LA).expert_id == pid)
    assert la.notified == 0 and la.excused == 1


def test_do_not_disturb_holds_a_normal_request_until_it_ends(h):
    team(h)
    snooze_end = int((MON + timedelta(minutes=45)).timestamp())
    h.slack.set_dnd(BERLIN, {"snooze_enabled": True, "snooze_endtime": snooze_end})
    h.driver.event({"type": "dnd_updated_user", "user": BERLIN,
                    "dnd_status": {"dnd_enabled": False, "snooze_enabled": True, "snooze_endtime": snooze_end}})
    h.drain()
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert asked(h, request.id) == set()
    assert "Nobody who matches is working right now" in h.status_text(request.id)
    h.at(MON + timedelta(minutes=45))
    h.tick()
    assert BERLIN in asked(h, request.id)


def test_an_overlapping_claimed_meeting_excludes_the_expert(h):
    team(h)
    h.submit_request(AE, meeting_at=THU, account="First")
    first = h.last_request()
    h.click(BERLIN, Action.CLAIM, first.id)
    h.submit_request(AE, meeting_at=THU + timedelta(minutes=75), account="Second")  # 15 min after the first ends
    assert BERLIN not in asked(h, h.last_request().id)  # inside the 30-minute buffer
    h.submit_request(AE, meeting_at=THU + timedelta(hours=3), account="Third")
    assert BERLIN in asked(h, h.last_request().id)


def test_nobody_there_shows_who_is_first_and_send_as_urgent_asks_everyone(h):
    team(h)
    h.at(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))  # 16:00 New York: 22:00 Berlin, 13:00 LA... LA works
    h.slack.set_status(LA, "PTO", "")
    h.tick_job("refresh_availability")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert asked(h, request.id) == set()
    status = h.status_text(request.id)
    assert "first expert starts in 3 h 00 min" in status and "09:00 Tokyo" in status  # Tokyo's Tuesday
    assert Action.SEND_URGENT.value in json.dumps(h.slack.message(request.status_channel, request.status_ts))
    reply = h.driver.action(AE, Action.SEND_URGENT, str(request.id), channel_id=request.status_channel,
                            message_ts=request.status_ts)
    assert reply.status == 200
    h.drain()
    assert asked(h, request.id) == {BERLIN, TOKYO}  # not LA: out of office
    assert h.last_request().urgency == "urgent"


def test_ask_first_then_everyone(h):
    team(h)
    h.submit_request(AE, meeting_at=THU, ask_first=TOKYO)
    request = h.last_request()
    assert asked(h, request.id) == set()  # only Tokyo, at 09:00 their time
    h.at(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    h.tick()
    assert asked(h, request.id) == {TOKYO}
    h.click(TOKYO, Action.DECLINE, request.id)  # a decline ends their turn at once: everyone who matches
    assert asked(h, request.id) == {TOKYO, LA}  # Monday 16:00 in LA; Berlin is asked at 09:00 theirs
    assert any(n.kind == "offer" and n.recipient.slack_user_id == BERLIN and n.state == "pending"
               for n in h.notices(request.id))


def test_ask_first_ends_after_their_working_time(h):
    team(h)
    h.submit_request(AE, meeting_at=THU, ask_first=BERLIN)
    request = h.last_request()
    assert asked(h, request.id) == {BERLIN}
    h.at(MON + timedelta(hours=2))  # 18:00 in Berlin: only 2 working hours of theirs have passed
    h.tick()
    assert asked(h, request.id) == {BERLIN, LA}  # everyone who matches (and is working)


def test_a_decline_closed_without_a_reason_is_a_response_at_the_click(h):
    team(h)
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.at(MON + timedelta(minutes=7))
    h.click(BERLIN, Action.DECLINE, request.id)
    assert h.slack.opened_views[-1]["callback_id"] == View.DECLINE  # the reason is asked, optionally...
    offer = h.offer(request.id, BERLIN)  # ...but the decline is already recorded: the modal is closed
    assert offer.response == "decline" and offer.responded_at == MON + timedelta(minutes=7)
    assert abs(offer.response_ms - 7 * 60_000) <= 1 and offer.decline_reason is None
    h.driver.submit_view(BERLIN, View.DECLINE, {Field.REASON: {"value": signing.plain_text_input("At a conference")}},
                         private_metadata=json.dumps({"r": request.id}))
    h.drain()
    offer = h.offer(request.id, BERLIN)
    assert offer.decline_reason == "At a conference" and offer.responded_at == MON + timedelta(minutes=7)


def test_times_are_slacks_not_the_busy_bots(h):
    """The DM's sent time is the ts Slack returned and the response is the click's action_ts: a
    bot that gets to the work late does not make the expert look slower."""
    team(h)
    slack_lead = timedelta(seconds=3)  # Slack's clock runs 3 s before the bot gets to record things
    h.slack.clock = h.driver.clock = lambda: (clock.now() - slack_lead).timestamp()
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    offer = h.offer(request.id, BERLIN)
    assert abs(offer.sent_at - (MON - slack_lead)) < MS
    h.at(MON + timedelta(minutes=2))
    h.click(BERLIN, Action.CLAIM, request.id)
    offer = h.offer(request.id, BERLIN)
    assert offer.responded_at == MON + timedelta(minutes=2) - slack_lead
    assert abs(offer.response_ms - 120_000) <= 1


def test_working_time_response_across_a_weekend(h):
    team(h)
    friday_5pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    h.at(friday_5pm)
    h.submit_request(AE, meeting_at=friday_5pm + timedelta(days=5))
    request = h.last_request()
    monday_10am = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    h.at(monday_10am)
    h.click(BERLIN, Action.CLAIM, request.id)
    offer = h.offer(request.id, BERLIN)
    assert abs(offer.response_ms - int((monday_10am - friday_5pm).total_seconds() * 1000)) <= 1
    assert abs(offer.response_work_ms - 2 * 3600 * 1000) <= 1  # 17:00-18:00 Friday + 09:00-10:00 Monday


def test_booking_the_next_meeting_asks_the_same_expert_first(h):
    team(h)
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.click(BERLIN, Action.CLAIM, request.id)
    h.at(THU + timedelta(hours=4))
    h.driver.action(AE, Action.FOLLOWUP_OUTCOME, str(request.id))
    h.drain()
    next_meeting = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    reply = h.driver.submit_view(AE, View.OUTCOME, {
        Field.OUTCOME_DECIDED: {"value": {"type": "radio_buttons", "selected_option": {"value": "not_yet"}}},
        Field.OUTCOME_NEXT_MEETING: {"value": signing.datetimepicker(int(next_meeting.timestamp()))},
    }, private_metadata=json.dumps({"r": request.id}))
    assert reply.status == 200
    h.drain()
    booked = h.last_request()
    assert booked.id != request.id and booked.follows_id == request.id
    assert booked.meeting_at == next_meeting and booked.account == request.account
    assert booked.ask_first_id == h.offer(request.id, BERLIN).expert_id and booked.status == RequestStatus.OPEN
    assert asked(h, booked.id) == set()  # Thursday 20:00 in Berlin: their turn starts at 09:00
    h.at(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    h.tick()
    assert asked(h, booked.id) == {BERLIN}
    assert "Request #" in " ".join(m["text"] for m in h.slack.dm_messages(AE))


def test_an_expert_sets_their_own_working_days_and_hours(h):
    team(h)
    h.command(BERLIN, "skills")
    form = h.slack.opened_views[-1]
    by_block = {b.get("block_id"): b for b in form["blocks"]}
    assert by_block["work_days"]["element"]["initial_value"] == "Mon–Fri"
    assert by_block["work_hours"]["element"]["initial_value"] == "09:00-18:00"

    def submit(days, hours):
        return h.driver.submit_view(BERLIN, View.SKILLS, {
            Field.EXPERT_SKILLS: {"value": signing.plain_text_input("kubernetes:expert")},
            Field.CAPACITY: {"value": {"type": "number_input", "value": "3"}},
            Field.WORK_DAYS: {"value": signing.plain_text_input(days)},
            Field.WORK_HOURS: {"value": signing.plain_text_input(hours)}})

    bad = submit("Funday", "18-9")
    assert bad.json["response_action"] == "errors" and set(bad.json["errors"]) == {"work_days", "work_hours"}
    assert submit("Tue-Sat", "07:00-15:30").status == 200
    h.drain()
    h.submit_request(AE, meeting_at=THU)  # Monday 16:00 in Berlin: not one of their days
    request = h.last_request()
    assert BERLIN not in asked(h, request.id)
    h.at(datetime(2026, 11, 24, 6, 0, tzinfo=UTC))  # Tuesday 07:00 in Berlin
    h.tick()
    assert BERLIN in asked(h, request.id)
