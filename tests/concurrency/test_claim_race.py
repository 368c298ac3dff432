"""First claim wins, exactly once: 20 experts clicking at the same moment.

Runs on the suite's database: SQLite by default, PostgreSQL with TEST_DATABASE_URL
(`.ci/run` runs both). Cases 28-30 of docs/reliability-plan.md.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from bot import clock
from bot.app import make_policy
from bot.flows import offers as offer_flow
from bot.db import Database
from bot.config import Settings
from bot.services import claims
from bot.slack.ids import Action
from models import Offer, Request, RequestStatus
from tests.harness import AE

CLICKERS = 20


def test_twenty_clicks_over_http_one_winner_nineteen_told(h):
    """RELIABILITY 28/29: real concurrent signed requests, separate connections."""
    h.person(AE)
    experts = [h.expert(f"U0RACE{i:02d}") for i in range(CLICKERS)]
    h.submit_request(AE)
    request = h.last_request()
    offers = {u: h.offer(request.id, u) for u in experts}
    assert all(o.ts for o in offers.values())
    barrier = threading.Barrier(CLICKERS)
    replies = {}

    def click(user_id: str) -> None:
        barrier.wait()
        offer = offers[user_id]
        replies[user_id] = h.driver.action(user_id, Action.CLAIM, str(request.id), channel_id=offer.channel_id,
                                           message_ts=offer.ts)

    threads = [threading.Thread(target=click, args=(u,)) for u in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    h.drain()
    assert all(r.status == 200 for r in replies.values())
    final = h.last_request()
    assert final.status == RequestStatus.CLAIMED
    winner = final.claimed_by.slack_user_id
    told = [u for u, r in replies.items() if f"already claimed by <@{winner}>" in h.said(r)]
    assert len(told) == CLICKERS - 1 and winner not in told
    with h.db.session() as session:
        responses = dict(session.execute(
            select(Offer.response, func.count()).where(Offer.request_id == request.id).group_by(Offer.response)
        ).all())
    assert responses == {"claim": 1, "late_claim": CLICKERS - 1}
    # every DM ends up telling the truth
    for u in experts:
        text = h.dm_text(u, request.id)
        assert ("You claimed this" in text) if u == winner else (f"Claimed by <@{winner}>" in text), u
    threads_posted = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(threads_posted) == 1


def _claim_in_process(url: str, request_id: int, user_ids: list[str], start, results) -> None:
    clock.set_now(datetime(2026, 11, 23, 15, 5, tzinfo=timezone.utc))
    db = Database(url)
    start.wait()
    for user_id in user_ids:
        with db.session() as session:
            result = claims.claim(session, request_id=request_id, team_id="T0001", expert_user_id=user_id,
                                  policy=make_policy(Settings()), now=clock.now())
            results.put((user_id, result.outcome.value))
    db.dispose()


def test_twenty_clicks_from_four_processes_one_winner(h):
    """RELIABILITY 30 (service level): four OS processes, each with its own engine and connections."""
    h.person(AE)
    experts = [h.expert(f"U0PROC{i:02d}") for i in range(CLICKERS)]
    h.submit_request(AE)
    request = h.last_request()
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    groups = [experts[i::4] for i in range(4)]
    procs = [ctx.Process(target=_claim_in_process, args=(h.settings.database_url, request.id, g, start, results))
             for g in groups]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=60) for _ in range(CLICKERS)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    won = [u for u, outcome in outcomes if outcome == "won"]
    assert len(won) == 1
    assert sorted(outcome for _, outcome in outcomes).count("taken") == CLICKERS - 1
    with h.db.session() as session:
        row = session.get(Request, request.id)
        assert row.claimed_by.slack_user_id == won[0]
        assert session.scalar(select(func.count()).where(Offer.request_id == request.id, Offer.response == "claim")) == 1


def test_same_expert_double_click(h):
    """RELIABILITY 24: two clicks 0 ms apart from the same expert -> one claim, one 'you already claimed'."""
    h.person(AE)
    h.expert("U0DOUBLE")
    h.submit_request(AE)
    request = h.last_request()
    offer = h.offer(request.id, "U0DOUBLE")
    barrier = threading.Barrier(2)
    replies = []

    def click():
        barrier.wait()
        replies.append(h.driver.action("U0DOUBLE", Action.CLAIM, str(request.id), channel_id=offer.channel_id,
                                       message_ts=offer.ts))

    threads = [threading.Thread(target=click) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    h.drain()
    said = [h.said(r) for r in replies]
    assert sum("You already claimed" in s for s in said) == 1
    threads_posted = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(threads_posted) == 1


def test_overlapping_broadcasts_send_each_dm_once_and_one_status_message(h):
    """The web process is still fanning out when the scheduler's safety net re-drives the same
    broadcast, and an expert claims in the middle: one DM each, one status message, and the
    status message ends up telling the truth."""
    h.person(AE)
    experts = [h.expert(f"U0OVR{i:02d}") for i in range(12)]
    h.slack.latency_for["chat.postMessage"] = 0.05
    h.open_form(AE)
    h.driver.submit_view(AE, "request_modal", h.request_values())  # stored and broadcast after the ack
    deadline = time.monotonic() + 10
    while (request := h.last_request()) is None and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the row, not for a result: the race below is the test
    assert request is not None
    racers = [threading.Thread(target=offer_flow.broadcast, args=(h.deps, request.id)) for _ in range(2)]
    [t.start() for t in racers]
    [t.join(30) for t in racers]
    h.drain()
    for u in experts:
        assert len(h.slack.dm_messages(u)) == 1, u
    status_posts = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0DEAL"
                    and not c.params.get("thread_ts")]
    assert len(status_posts) == 1
    h.click(experts[3], Action.CLAIM, request.id)
    assert f"Claimed by <@{experts[3]}>" in h.status_text(request.id)


def test_two_first_brief_saves_at_once_make_one_brief_and_two_edits(h):
    """Review finding: brief saving was read-then-write; the request row is locked now."""
    from bot.services import briefs
    from models import Brief, BriefEdit

    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, brief=False)
    request = h.last_request()
    barrier = threading.Barrier(2)
    errors = []

    def save(show: str) -> None:
        draft = briefs.BriefDraft(problem="The customer misses their batch SLA every month-end.", show=show,
                                  attendees="Jane Doe - decision maker", decision="Pick a vendor for 2027 renewal",
                                  decision_by=(request.meeting_at + timedelta(days=7)).date())
        clean = briefs.validate(draft, meeting_at=request.meeting_at, tz="UTC", now=clock.now())
        barrier.wait()
        try:
            with h.db.session() as session:
                req = session.get(Request, request.id)
                briefs.save(session, request=req, clean=clean, editor_user_id=AE, policy=h.deps.policy,
                            now=clock.now())
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(repr(exc))

    threads = [threading.Thread(target=save, args=(f"Show the failover story, version {i}.",)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert errors == []
    with h.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Brief)) == 1
        assert session.scalar(select(func.count()).select_from(BriefEdit)) == 2
