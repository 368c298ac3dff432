"""The core flow end to end: /presales -> modal -> broadcast -> Claim -> updates."""

from datetime import timedelta

from bot import clock
from bot.slack.ids import Action, View
from models import RequestStatus
from tests.harness import AE


def test_command_opens_the_prefilled_modal(h):
    h.person(AE, tz="America/New_York")
    h.expert("U0EXP1", "kubernetes:expert")
    reply = h.open_form(AE, "demo kubernetes for Acme Tue 3pm")
    assert reply.status == 200
    view = h.slack.opened_views[-1]
    assert view["callback_id"] == View.REQUEST
    by_block = {b.get("block_id"): b for b in view["blocks"]}
    assert by_block["kind"]["element"]["initial_option"]["value"] == "demo"
    assert by_block["account"]["element"]["initial_value"] == "Acme"
    assert [o["value"] for o in by_block["skills"]["element"]["initial_options"]] == ["kubernetes"]
    # Tue 24 Nov 15:00 in New York is 20:00 UTC
    assert by_block["meeting_at"]["element"]["initial_date_time"] == 1795550400


def test_submit_broadcasts_to_matching_experts_and_posts_status(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes:expert", tz="Europe/Berlin")
    h.expert("U0EXP2", "kubernetes, security", tz="America/Los_Angeles")
    h.expert("U0EXP3", "security")  # no matching skill
    reply = h.submit_request(AE, account="Acme", skills=("kubernetes",))
    assert reply.status == 200 and reply.body in ("", "{}") or reply.json in (None, {})
    request = h.last_request()
    assert request.status == RequestStatus.OPEN
    dms = {u: h.slack.dm_messages(u) for u in ("U0EXP1", "U0EXP2", "U0EXP3")}
    # 16:00 in Berlin: asked now; 07:00 in Los Angeles: asked when their working day starts
    assert len(dms["U0EXP1"]) == 1 and dms["U0EXP2"] == [] and dms["U0EXP3"] == []
    assert "1 notified" in h.status_text(request.id)
    h.at(clock.now() + timedelta(hours=2))  # 09:00 in Los Angeles
    h.tick()
    assert h.offer(request.id, "U0EXP2").ts and h.slack.dm_messages("U0EXP3") == []
    # each expert sees the meeting time in their own timezone: Slack renders <!date> per reader,
    # and the fallback text uses the timezone users.info gave us
    assert "<!date^" in h.dm_text("U0EXP1", request.id)
    assert "CET" in h.dm_text("U0EXP1", request.id)
    assert "PST" in h.dm_text("U0EXP2", request.id)
    assert "Claim" in h.dm_text("U0EXP1", request.id) and "Decline" in h.dm_text("U0EXP1", request.id)
    assert "2 notified" in h.status_text(request.id)
    offer = h.offer(request.id, "U0EXP1")
    assert offer.sent_at is not None and offer.ts


def test_first_claim_wins_and_everyone_sees_it(h):
    h.person(AE)
    for u in ("U0EXP1", "U0EXP2", "U0EXP3"):
        h.expert(u)
    h.submit_request(AE)
    request = h.last_request()
    clock.advance(timedelta(minutes=4))
    h.click("U0EXP2", Action.CLAIM, request.id)
    clock.advance(timedelta(minutes=1))
    late = h.click("U0EXP3", Action.CLAIM, request.id)
    assert "already claimed by <@U0EXP2>" in h.said(late)
    assert "You claimed this" in h.dm_text("U0EXP2", request.id)
    assert "Claimed by <@U0EXP2>" in h.dm_text("U0EXP1", request.id)
    assert "Claimed by <@U0EXP2>" in h.status_text(request.id)
    thread = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(thread) == 1 and "<@U0AE>" in thread[0].params["text"] and "<@U0EXP2>" in thread[0].params["text"]
    winner = h.offer(request.id, "U0EXP2")
    assert winner.response == "claim" and (winner.responded_at - winner.sent_at) == timedelta(minutes=4)
    assert h.offer(request.id, "U0EXP3").response == "late_claim"
    assert h.offer(request.id, "U0EXP1").responded_at is None
