"""Cover (issue 11, item 5): the claimer asks the others to take a request over and stays on it
until one does; the first to accept takes it, exactly once (also when two accept at once, on
SQLite and on PostgreSQL); the AE and the claimer are told; both keep credit for their part."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import select

from bot import clock
from bot.slack.ids import Action, Field, View
from models import Cover, Offer, RequestStatus
from tests.fakes import signing
from tests.harness import AE

FIRST, SECOND, THIRD = "U0EXP1", "U0EXP2", "U0EXP3"


def claimed(h, *, experts=(FIRST, SECOND, THIRD)):
    h.person(AE)
    for user in experts:
        h.expert(user)
    h.submit_request(AE)
    request = h.last_request()
    h.click(FIRST, Action.CLAIM, request.id)
    return request


def ask_cover(h, request, note="Double-booked on Thursday"):
    h.click(FIRST, Action.ASK_COVER, request.id)
    assert h.slack.opened_views[-1]["callback_id"] == View.COVER
    reply = h.driver.submit_view(FIRST, View.COVER, {Field.COVER_NOTE: {"value": signing.plain_text_input(note)}},
                                 private_metadata=json.dumps({"r": request.id}))
    assert reply.status == 200
    h.drain()


def test_ask_for_cover_then_someone_takes_it_over(h):
    request = claimed(h)
    assert Action.ASK_COVER.value in json.dumps(h.slack.message(h.offer(request.id, FIRST).channel_id,
                                                                h.offer(request.id, FIRST).ts))
    clock.advance(timedelta(minutes=10))
    ask_cover(h, request)
    assert "You asked for cover" in h.dm_text(FIRST, request.id)
    assert "asks for cover" in h.dm_text(SECOND, request.id) and "Take it over" in json.dumps(
        h.slack.message(h.offer(request.id, SECOND).channel_id, h.offer(request.id, SECOND).ts))
    assert any("asks for cover" in m["text"] for m in h.slack.dm_messages(SECOND))  # a thread reply they hear
    assert h.last_request().claimed_by.slack_user_id == FIRST  # still theirs meanwhile
    clock.advance(timedelta(minutes=3))
    h.click(SECOND, Action.TAKE_OVER, request.id)
    final = h.last_request()
    assert final.status == RequestStatus.CLAIMED and final.claimed_by.slack_user_id == SECOND
    assert "You claimed this" in h.dm_text(SECOND, request.id)
    assert f"Claimed by <@{SECOND}>" in h.dm_text(FIRST, request.id)
    assert any("took request" in m["text"] for m in h.slack.dm_messages(FIRST))  # the claimer is told
    thread = [c.params["text"] for c in h.slack.calls_to("chat.postMessage")
              if c.params.get("thread_ts") == final.status_ts]
    assert any("took request" in t and f"<@{AE}>" in t for t in thread)  # and the AE, in the deal channel
    first, second = h.offer(request.id, FIRST), h.offer(request.id, SECOND)
    assert first.claimed_at is not None and second.claimed_at is not None  # both credited
    assert abs(second.response_ms - 3 * 60_000) <= 1  # timed from the cover request, not the first DM
    reminders = {n.recipient.slack_user_id for n in h.notices(request.id) if n.kind == "reminder" and n.state == "pending"}
    assert reminders == {SECOND, AE}


def test_only_the_claimer_asks_and_the_asker_cannot_take_it_over(h):
    request = claimed(h)
    h.click(SECOND, Action.ASK_COVER, request.id)
    reply = h.driver.submit_view(SECOND, View.COVER, {}, private_metadata=json.dumps({"r": request.id}))
    assert "Only the expert who claimed" in json.dumps(reply.json or {})
    ask_cover(h, request)
    said = h.said(h.click(FIRST, Action.TAKE_OVER, request.id))
    assert "someone else takes it over" in said
    assert h.last_request().claimed_by.slack_user_id == FIRST


def test_a_release_closes_the_cover(h):
    request = claimed(h)
    ask_cover(h, request)
    h.click(FIRST, Action.RELEASE, request.id)
    assert h.last_request().status == RequestStatus.OPEN
    said = h.said(h.click(SECOND, Action.TAKE_OVER, request.id))
    assert "needs no cover" in said
    with h.db.read() as session:
        assert session.scalar(select(Cover.state)) == "closed"


def test_two_accept_at_once_exactly_one_takes_it(h):
    """Also on PostgreSQL when TEST_DATABASE_URL is set (.ci/run's second pass)."""
    request = claimed(h)
    ask_cover(h, request)
    barrier = threading.Barrier(2)
    replies = {}

    def take(user_id):
        offer = h.offer(request.id, user_id)
        barrier.wait()
        replies[user_id] = h.driver.action(user_id, Action.TAKE_OVER, str(request.id), channel_id=offer.channel_id,
                                           message_ts=offer.ts)

    threads = [threading.Thread(target=take, args=(u,)) for u in (SECOND, THIRD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    h.drain()
    assert all(r.status == 200 for r in replies.values())
    final = h.last_request()
    winner = final.claimed_by.slack_user_id
    assert winner in (SECOND, THIRD)
    loser = THIRD if winner == SECOND else SECOND
    assert "took request" in h.said(replies[loser]) and winner in h.said(replies[loser])
    with h.db.read() as session:
        covers = list(session.scalars(select(Cover)))
        credited = list(session.scalars(select(Offer.expert_id).where(Offer.request_id == request.id,
                                                                      Offer.claimed_at.is_not(None))))
    assert len(covers) == 1 and covers[0].state == "taken" and covers[0].taken_by.slack_user_id == winner
    assert len(credited) == 2  # the first claimer and the one who took over; not the loser
