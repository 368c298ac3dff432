"""Response figures: SQL results against an independent calculation on generated data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot import clock
from bot.services import stats
from bot.slack.ids import Action
from models import Offer, Person, Request
from tests.harness import ADMIN, AE, quantile, record_response_times

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def seed(h, rng: random.Random, *, experts=6, requests=40):
    """Random offers with known answers; returns expected figures per expert and for the team."""
    expected: dict[str, dict] = {}
    with h.db.session() as session:
        people = [Person(team_id="T0001", slack_user_id=f"U0S{i:02d}", is_manager=False, is_expert=True,
                         max_concurrent=3, created_at=T0, updated_at=T0) for i in range(experts)]
        ae = Person(team_id="T0001", slack_user_id=AE, is_manager=False, is_expert=False, max_concurrent=3,
                    created_at=T0, updated_at=T0)
        silent = Person(team_id="T0001", slack_user_id="U0SILENT", is_manager=False, is_expert=True, max_concurrent=3,
                        created_at=T0, updated_at=T0)
        session.add_all(people + [ae, silent])
        session.flush()
        for n in range(requests):
            start = T0 + timedelta(hours=n * 3)
            req = Request(team_id="T0001", requester_id=ae.id, channel_id="C0DEAL", kind="demo", account=f"A{n}",
                          description="d", urgency="normal", status="open", created_at=start, updated_at=start,
                          broadcast_at=start)
            session.add(req)
            session.flush()
            claimed = False
            for p in rng.sample(people, rng.randint(1, experts)):
                sent = start + timedelta(seconds=rng.randint(0, 5))
                e = expected.setdefault(p.slack_user_id, {"notified": 0, "times": [], "claims": 0, "declines": 0})
                e["notified"] += 1
                roll = rng.random()
                offer = Offer(request_id=req.id, expert_id=p.id, rank=1, created_at=start, sent_at=sent, attempts=1)
                if roll < 0.75:
                    # ties on purpose: whole minutes, often equal
                    delay = timedelta(minutes=rng.choice([1, 2, 2, 5, 30, 90]), milliseconds=rng.choice([0, 0, 250]))
                    offer.responded_at = sent + delay
                    kind = "claim" if not claimed and roll < 0.3 else "decline"
                    claimed = claimed or kind == "claim"
                    offer.response = kind
                    offer.claimed_at = offer.responded_at if kind == "claim" else None
                    e["times"].append(delay.total_seconds())
                    e["claims" if kind == "claim" else "declines"] += 1
                session.add(offer)
        session.flush()
        record_response_times(session)
    return expected


@pytest.mark.parametrize("seed_value", [1, 7])
def test_per_expert_figures_match_an_independent_calculation(h, seed_value):
    expected = seed(h, random.Random(seed_value))
    with h.db.session() as session:
        rows = stats.expert_table(session, team_id="T0001", since=T0, until=T0 + timedelta(days=30))
    by_user = {r.person.slack_user_id: r.figures for r in rows}
    assert "U0SILENT" in by_user and by_user["U0SILENT"].notified == 0  # silence is visible
    for user, e in expected.items():
        f = by_user[user]
        assert f.notified == e["notified"]
        assert f.responded == len(e["times"])
        assert f.claims == e["claims"] and f.declines == e["declines"]
        assert f.response_rate == pytest.approx(len(e["times"]) / e["notified"])
        assert f.median_s == pytest.approx(quantile(e["times"], 0.5), abs=0.002)
        assert f.p90_s == pytest.approx(quantile(e["times"], 0.9), abs=0.002)
    all_times = [t for e in expected.values() for t in e["times"]]
    with h.db.session() as session:
        team = stats.team_figures(session, team_id="T0001", since=T0, until=T0 + timedelta(days=30))
    assert team.responses.notified == sum(e["notified"] for e in expected.values())
    assert team.responses.median_s == pytest.approx(quantile(all_times, 0.5), abs=0.002)
    assert team.requests == 40


def test_the_period_bounds_are_respected(h):
    seed(h, random.Random(3), requests=10)
    with h.db.session() as session:
        empty = stats.response_figures(session, team_id="T0001", since=T0 - timedelta(days=10), until=T0)
        other_team = stats.response_figures(session, team_id="T0OTHER", since=T0, until=T0 + timedelta(days=30))
        team = stats.team_figures(session, team_id="T0001", since=T0 - timedelta(days=10), until=T0)
    assert empty == {} and other_team == {}
    assert team.requests == 0 and team.responses.median_s is None


def test_stats_command_end_to_end_and_permissions(h):
    h.person(AE)
    h.expert("U0FAST")
    h.expert("U0SLOW")
    h.submit_request(AE)
    request = h.last_request()
    clock.advance(timedelta(minutes=3))
    h.click("U0FAST", Action.CLAIM, request.id)
    mine = h.said(h.command("U0FAST", "stats"))
    assert "<@U0FAST>" in mine and "notified 1" in mine and "responded 1 (100%)" in mine and "median 3m" in mine
    assert "<@U0SLOW>" not in mine  # non-managers see only their own figures
    refused = h.said(h.command("U0FAST", "stats <@U0SLOW|slow>"))
    assert "Only managers" in refused
    team = h.said(h.command(ADMIN, "stats"))
    assert "*Team*" in team and "<@U0SLOW>" in team and "responded 0 (0%)" in team
    other = h.said(h.command(ADMIN, "stats <@U0SLOW|slow> 7d"))
    assert "<@U0SLOW>: notified 1 · responded 0 (0%)" in other
    assert "Give a period" in h.said(h.command(ADMIN, "stats banana"))
