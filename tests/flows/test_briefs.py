"""No demo without a brief: hold / warn, the brief modal, its rules, edits, and who sees it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.services import briefs
from bot.slack.ids import Action, Field, View
from models import Brief, BriefEdit, RequestStatus
from tests.harness import ADMIN, AE


def _submit_brief(h, user_id, request_id, **fields):
    """Click Add brief on the status message, then submit the brief modal."""
    request = h.last_request()
    h.driver.action(user_id, Action.ADD_BRIEF, str(request_id), channel_id=request.status_channel,
                    message_ts=request.status_ts)
    h.drain()
    values = h.brief_values(meeting_at=request.meeting_at, **fields)
    reply = h.driver.submit_view(user_id, View.BRIEF, {str(k): {"value": v["value"]} for k, v in values.items()})
    h.drain()
    return reply


def test_hold_policy_waits_for_the_brief_then_broadcasts(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    assert request.status == RequestStatus.HELD and request.needs_brief
    assert h.slack.dm_messages("U0EXP1") == []  # experts are not asked yet
    status = h.status_text(request.id)
    assert "Waiting for the brief" in status and "Add brief" in status
    nudge = h.slack.dm_messages(AE)[-1]
    assert "needs a prep brief" in nudge["text"] and "brief_add" in str(nudge["blocks"])
    reply = _submit_brief(h, AE, request.id)
    assert reply.status == 200 and not (reply.json or {}).get("errors")
    request = h.last_request()
    assert request.status == RequestStatus.OPEN
    dm = h.dm_text("U0EXP1", request.id)
    assert "Pick the platform vendor" in dm and "View brief" in dm
    assert "Brief complete" in h.status_text(request.id)


def test_warn_policy_broadcasts_with_a_visible_flag_and_the_claimer_gets_the_brief(make_harness):
    h = make_harness(brief_policy="warn")
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    assert request.status == RequestStatus.OPEN
    assert "Brief missing" in h.dm_text("U0EXP1", request.id)
    assert "Brief missing" in h.status_text(request.id)
    h.click("U0EXP1", Action.CLAIM, request.id)
    _submit_brief(h, AE, request.id)
    assert "View brief" in h.dm_text("U0EXP1", request.id)
    ready = [m for m in h.slack.dm_messages("U0EXP1") if "brief for request" in m["text"]]
    assert len(ready) == 1
    view = h.driver.action("U0EXP1", Action.VIEW_BRIEF, str(request.id), block_id="b")
    h.drain()
    assert view.status == 200
    assert h.slack.opened_views[-1]["callback_id"] == View.BRIEF_VIEW


def test_types_without_a_brief_rule_are_never_held(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, kind="rfp", meeting_at=None, duration=None, needed_by=clock.now() + timedelta(days=5),
                     brief=False)
    assert h.last_request().status == RequestStatus.OPEN and not h.last_request().needs_brief


@pytest.mark.parametrize(
    "fields, block, words",
    [
        ({"problem": "   \n  "}, Field.BRIEF_PROBLEM, "Required"),
        ({"show": "demo stuff"}, Field.BRIEF_SHOW, "20 characters"),
        ({"attendees": "Jane Doe"}, Field.BRIEF_ATTENDEES, "add the role"),
        ({"attendees": "\n".join(f"Person {i} - user" for i in range(50))}, Field.BRIEF_ATTENDEES, "more than 25"),
        ({"decision_by": "2026-11-20"}, Field.BRIEF_DECISION_BY, "past"),
        ({"decision_by": "2026-11-24"}, Field.BRIEF_DECISION_BY, "after the meeting"),
        ({"decision": "x" * 2901}, Field.BRIEF_DECISION, "2900"),
    ],
)
def test_thin_or_wrong_answers_get_inline_errors(h, fields, block, words):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    reply = _submit_brief(h, AE, request.id, **fields)
    assert reply.json["response_action"] == "errors"
    assert words.lower() in reply.json["errors"][block].lower()
    with h.db.session() as session:
        assert briefs.get(session, request_id=request.id) is None
    assert h.last_request().status == RequestStatus.HELD


def test_partial_brief_in_the_request_modal_is_refused_inline(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.open_form(AE)
    values = h.request_values(brief={"show": "", "attendees": ""})
    reply = h.driver.submit_view(AE, View.REQUEST, values)
    assert reply.json["response_action"] == "errors"
    assert set(reply.json["errors"]) == {Field.BRIEF_SHOW, Field.BRIEF_ATTENDEES}


def test_edits_are_kept_with_who_and_when_and_only_owner_or_manager_may_edit(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)  # with a brief from the request modal
    request = h.last_request()
    clock.advance(timedelta(hours=1))
    _submit_brief(h, ADMIN, request.id, show="Now also the cost dashboard, with real numbers from their bill.")
    stranger = h.driver.action("U0RANDO", Action.ADD_BRIEF, str(request.id), channel_id=request.status_channel,
                               message_ts=request.status_ts)
    h.drain()
    assert "Only the requester or a manager" in h.said(stranger)
    with h.db.session() as session:
        history = list(session.scalars(select(BriefEdit).order_by(BriefEdit.at)))
        brief = session.scalar(select(Brief))
        assert [e.editor_id for e in history] == [request.requester_id, brief.updated_by_id]
        assert history[1].at - history[0].at == timedelta(hours=1)
        assert "real numbers" in brief.show


def test_a_cancelled_requests_brief_cannot_be_edited(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    h.command(AE, f"cancel {request.id}")
    reply = h.driver.action(AE, Action.ADD_BRIEF, str(request.id), block_id="b")
    h.drain()
    assert "can no longer be edited" in h.said(reply)


def test_long_answers_fit_block_kit_and_the_view_has_everything(h):
    h.person(AE)
    h.expert("U0EXP1")
    long = ("All of the detail <matters> & more. " * 100)[:2900]
    h.submit_request(AE, brief={"problem": long, "show": long, "decision": long[:2000]})
    request = h.last_request()
    dm = h.dm_text("U0EXP1", request.id)
    assert "…" in dm and "View brief" in dm  # summary clipped, the rest one click away
    h.driver.action("U0EXP1", Action.VIEW_BRIEF, str(request.id), block_id="b")
    h.drain()
    opened = h.slack.opened_views[-1]
    text = " ".join(b.get("text", {}).get("text", "") for b in opened["blocks"] if b["type"] == "section")
    assert text.count("&lt;matters&gt;") >= 2 * 70  # both long answers complete, escaped once


def test_last_minute_requests_are_flagged_and_explained(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, meeting_at=clock.now() + timedelta(hours=20))
    request = h.last_request()
    assert request.last_minute
    assert "Last-minute" in h.status_text(request.id) and "48 h" in h.status_text(request.id)
    h.submit_request(AE, meeting_at=clock.now() + timedelta(days=5))
    assert not h.last_request().last_minute


def test_brief_command_opens_the_modal_and_refuses_strangers(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    h.command(AE, f"brief {request.id}")
    assert h.slack.opened_views[-1]["callback_id"] == View.BRIEF
    assert "Only the requester" in h.said(h.command("U0RANDO", f"brief {request.id}"))
    assert "Which request" in h.said(h.command(AE, "brief"))
