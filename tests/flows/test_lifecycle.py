"""Decline, release, cancel, no match, experts channel: the request moving through its states."""

from datetime import timedelta

from bot import clock
from bot.slack.ids import Action, Block, Field, View
from models import RequestStatus
from tests.fakes import signing
from tests.harness import ADMIN, AE


def test_decline_with_a_reason_is_recorded_and_claim_stays_possible(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    clock.advance(timedelta(minutes=2))
    h.click("U0EXP1", Action.DECLINE, request.id)
    modal = h.slack.opened_views[-1]
    assert modal["callback_id"] == View.DECLINE
    h.driver.submit_view("U0EXP1", View.DECLINE, {Field.REASON: {"value": signing.plain_text_input("On PTO")}})
    h.drain()
    offer = h.offer(request.id, "U0EXP1")
    assert offer.response == "decline" and offer.decline_reason == "On PTO"
    assert offer.responded_at - offer.sent_at == timedelta(minutes=2)
    assert "You declined" in h.dm_text("U0EXP1", request.id)
    assert "1 declined" in h.status_text(request.id)
    clock.advance(timedelta(minutes=1))
    h.click("U0EXP1", Action.CLAIM, request.id)  # changed their mind: still open, so they get it
    assert h.last_request().status == RequestStatus.CLAIMED
    assert h.offer(request.id, "U0EXP1").response == "decline"  # the first response is what is timed


def test_release_reopens_and_asks_the_others_again(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    assert "Release" in h.dm_text("U0EXP1", request.id)
    h.expert("U0EXP3")  # joined after the first broadcast
    reply = h.click("U0EXP1", Action.RELEASE, request.id)
    assert "released" in h.said(reply)
    assert h.last_request().status == RequestStatus.OPEN
    assert "Claim" in h.dm_text("U0EXP2", request.id) and "Claimed by" not in h.dm_text("U0EXP2", request.id)
    assert h.offer(request.id, "U0EXP3") is not None and h.offer(request.id, "U0EXP3").ts  # newly asked
    assert len(h.slack.dm_messages("U0EXP1")) == 1  # the releaser is not asked again
    h.click("U0EXP2", Action.CLAIM, request.id)
    assert "Claimed by <@U0EXP2>" in h.status_text(request.id)


def test_only_the_claimer_can_release(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    h.click("U0EXP1", Action.CLAIM, request.id)
    reply = h.driver.action("U0EXP2", Action.RELEASE, str(request.id), block_id=Block.OFFER_ACTIONS)
    h.drain()
    assert "Only the expert who claimed" in h.said(reply)
    assert h.last_request().claimed_by.slack_user_id == "U0EXP1"


def test_cancel_by_requester_tells_every_expert(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    reply = h.command(AE, f"cancel {request.id}")
    assert "cancelled" in h.said(reply)
    assert h.last_request().status == RequestStatus.CANCELLED
    for expert in ("U0EXP1", "U0EXP2"):
        assert "Cancelled" in h.dm_text(expert, request.id) and "offer_claim" not in str(h.slack.message(
            h.offer(request.id, expert).channel_id, h.offer(request.id, expert).ts))
    assert "Cancelled" in h.status_text(request.id)
    late = h.click("U0EXP1", Action.CLAIM, request.id)
    assert "cancelled" in h.said(late) and h.offer(request.id, "U0EXP1").responded_at is None


def test_cancel_from_the_status_message_button_and_permissions(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    request = h.last_request()
    stranger = h.driver.action("U0RANDO", Action.CANCEL, str(request.id), channel_id=request.status_channel,
                               message_ts=request.status_ts)
    h.drain()
    assert "Only the requester or a manager" in h.said(stranger)
    assert h.last_request().status == RequestStatus.OPEN
    h.driver.action(ADMIN, Action.CANCEL, str(request.id), channel_id=request.status_channel, message_ts=request.status_ts)
    h.drain()
    assert h.last_request().status == RequestStatus.CANCELLED
    again = h.command(AE, f"cancel {request.id}")
    assert "already cancelled" in h.said(again)


def test_no_match_tells_the_ae_with_closest_skills_and_the_admins(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes")
    h.expert("U0EXP2", "openshift")
    with h.db.session() as session:  # the skill exists (someone listed it once) but nobody active has it now
        from bot.services import directory
        directory.set_expert(session, team_id="T0001", user_id="U0OLD", skills=[("kubernetes-security", directory.SkillLevel.EXPERT)],
                             now=clock.now())
        directory.remove_expert(session, team_id="T0001", user_id="U0OLD", now=clock.now())
    h.submit_request(AE, skills=("kubernetes-security",))
    request = h.last_request()
    status = h.status_text(request.id)
    assert "No expert available" in status and "kubernetes" in status
    admin_dms = h.slack.dm_messages(ADMIN)
    assert admin_dms and f"#{request.id}" in admin_dms[-1]["text"]


def test_away_and_full_experts_are_not_asked(h):
    h.person(AE)
    h.expert("U0AWAY")
    h.expert("U0FULL", capacity=1)
    h.expert("U0FREE")
    h.command("U0AWAY", "away until Dec 31")
    h.submit_request(AE, account="First")
    first = h.last_request()
    h.click("U0FULL", Action.CLAIM, first.id)
    h.submit_request(AE, account="Second")
    second = h.last_request()
    assert h.offer(second.id, "U0AWAY") is None
    assert h.offer(second.id, "U0FULL") is None
    assert h.offer(second.id, "U0FREE") is not None
    h.command("U0AWAY", "back")
    h.submit_request(AE, account="Third")
    assert h.offer(h.last_request().id, "U0AWAY") is not None


def test_ranking_prefers_more_skills_then_level_then_load(h):
    h.person(AE)
    h.expert("U0ONE", "kubernetes:learning")
    h.expert("U0BOTH", "kubernetes:proficient, security:proficient")
    h.expert("U0EXPERT", "kubernetes:expert")
    h.submit_request(AE, skills=("kubernetes", "security"))
    request = h.last_request()
    ranks = {u: h.offer(request.id, u).rank for u in ("U0ONE", "U0BOTH", "U0EXPERT")}
    assert ranks["U0BOTH"] < ranks["U0EXPERT"] < ranks["U0ONE"]


def test_fanout_is_capped(make_harness):
    h = make_harness(fanout_limit=3)
    h.person(AE)
    for i in range(6):
        h.expert(f"U0EX{i}")
    h.submit_request(AE)
    assert len(h.slack.calls_to("chat.postMessage")) == 3 + 1  # three DMs and the status message


def test_experts_channel_post_follows_the_request(make_harness):
    h = make_harness(experts_channel="C0EXPERTS")
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    request = h.last_request()
    assert request.experts_post_ts
    post = h.slack.message("C0EXPERTS", request.experts_post_ts)
    assert "offer_claim" in str(post["blocks"])
    h.click("U0EXP1", Action.CLAIM, request.id)
    post = h.slack.message("C0EXPERTS", request.experts_post_ts)
    assert "Claimed by <@U0EXP1>" in str(post["blocks"]) and "offer_claim" not in str(post["blocks"])


def test_nobody_makes_themselves_an_expert(h):
    """Skills are self-service for experts only; joining the directory is a manager's call."""
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    request = h.last_request()
    assert "Only experts in the directory" in h.said(h.command("U0RANDO", "skills"))
    values = {str(Field.EXPERT_SKILLS): {"value": signing.plain_text_input("kubernetes:expert")},
              str(Field.CAPACITY): {"value": {"type": "number_input", "value": "3"}}}
    reply = h.driver.submit_view("U0RANDO", View.SKILLS, values)
    assert reply.json["response_action"] == "push" and "Only experts" in str(reply.json["view"])
    refused = h.driver.action("U0RANDO", Action.CLAIM, str(request.id), block_id=Block.OFFER_ACTIONS)
    h.drain()
    assert "not offered to you" in h.said(refused)
    h.command("U0EXP1", "skills")  # an expert can
    assert h.slack.opened_views[-1]["callback_id"] == View.SKILLS


def test_a_removed_expert_cannot_claim_what_they_were_offered(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    h.command(ADMIN, "expert remove <@U0EXP1|x>")
    reply = h.click("U0EXP1", Action.CLAIM, request.id)
    assert "not offered to you" in h.said(reply)
    assert h.last_request().status == RequestStatus.OPEN


def test_a_claim_after_a_decline_counts_as_a_claim(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    request = h.last_request()
    h.click("U0EXP1", Action.DECLINE, request.id)
    h.driver.submit_view("U0EXP1", View.DECLINE, {Field.REASON: {"value": signing.plain_text_input("busy")}})
    h.drain()
    h.click("U0EXP1", Action.CLAIM, request.id)
    said = h.said(h.command("U0EXP1", "stats"))
    assert "claims 1 · declines 1" in said


def test_only_people_working_on_a_request_read_its_brief(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes")
    h.submit_request(AE)
    request = h.last_request()
    h.expert("U0LATE", "kubernetes")  # has the skill, was never offered this request
    reply = h.driver.action("U0LATE", Action.VIEW_BRIEF, str(request.id), block_id="b")
    h.drain()
    assert "for the people working on it" in h.said(reply)
    ok = h.driver.action("U0EXP1", Action.VIEW_BRIEF, str(request.id), block_id="b")
    h.drain()
    assert h.slack.opened_views[-1]["callback_id"] == View.BRIEF_VIEW and ok.status == 200
