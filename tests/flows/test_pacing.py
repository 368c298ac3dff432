"""Slack's rate tiers (RELIABILITY 55, 56): chat.update and views.publish fan-outs are paced
per method on lanes of their own, the person who acted is never queued behind them, and a
queued call is replaced by a newer one for the same message or Home. Time is virtual: the
pacer's clock moves forward when it is waited on, so nothing here sleeps."""

from __future__ import annotations

import json
import threading
import time as _time
from collections import Counter
from datetime import timedelta

import pytest

from bot import clock
from bot.services import home
from bot.slack.ids import Action
from bot.config import DEFAULT_PACE, parse_pace
from bot.flows import homes
from bot.slack.pace import Clock, Pacer
from models import Person
from tests.harness import AE, TEAM


class VirtualClock(Clock):
    """Seconds that pass only when someone waits (instantly), with a log of each call's moment."""

    def __init__(self) -> None:
        self.now = 0.0
        self.taken: list[tuple[str, float, bool]] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        self.now += seconds


def paced(pacer_rates: str) -> tuple[Pacer, VirtualClock]:
    virtual = VirtualClock()
    pacer = Pacer(parse_pace(pacer_rates), clock=virtual)
    real_take = pacer.take

    def take(method: str, *, urgent: bool = False) -> float:
        waited = real_take(method, urgent=urgent)
        virtual.taken.append((method, virtual.now, urgent))
        return waited

    pacer.take = take  # type: ignore[method-assign]
    return pacer, virtual


def only(rates: str, method: str) -> str:
    """One method's rule out of a PRESALES_SLACK_PACE value."""
    rule = next(part for part in rates.split(",") if part.startswith(f"{method}="))
    assert method in parse_pace(rule)
    return rule


def within_tier(moments: list[float], *, per_minute: int, burst: int) -> bool:
    """No more calls by any moment than the burst plus the tier's rate since the first."""
    moments = sorted(moments)
    return all(i + 1 <= burst + (t - moments[0]) * per_minute / 60 + 1e-9 for i, t in enumerate(moments))


@pytest.mark.db_agnostic  # the pacer alone, on its virtual clock: no database
def test_the_pacer_keeps_each_method_to_its_tier_and_lets_urgent_calls_through():
    pacer, virtual = paced("chat.update=50/min,views.publish=100/min")
    for _ in range(100):
        pacer.take("chat.update")
    updates = [t for m, t, _ in virtual.taken if m == "chat.update"]
    assert updates[:25] == [0.0] * 25  # half a minute's worth at once
    assert within_tier(updates, per_minute=50, burst=25)
    assert updates[-1] == pytest.approx(75 * 60 / 50)  # then 50 a minute: the 100th after 90 s
    before = virtual.now
    assert pacer.take("chat.update", urgent=True) == 0.0 and virtual.now == before  # never waits (borrows)
    assert pacer.take("chat.postMessage") == 0.0 and pacer.take("users.info") == 0.0  # unpaced / not in the table


@pytest.mark.db_agnostic  # the pacer alone, on its virtual clock: no database
@pytest.mark.parametrize("text, error", [
    ("chat.update=fast", "'chat.update=fast' is not METHOD=N/min"),
    ("chat.update=0/min", "'chat.update=0/min' is not METHOD=N/min"),
    ("chat.update=50/min,,", "'' is not METHOD=N/min"),
])
def test_a_bad_pace_setting_says_which_part_is_wrong(text, error):
    with pytest.raises(ValueError, match=error):
        parse_pace(text)
    assert parse_pace("off") == {} and parse_pace("views.publish=2/s")["views.publish"].per_second == 2


def test_a_claim_on_a_forty_expert_request_updates_the_claimer_first_and_every_dm_within_tier_3(make_harness):
    """RELIABILITY 55: 40 DMs, one claim. The claimer's DM changes at once (urgent); the 39 others
    go out on the chat.update lane at no more than Tier 3 allows, and each ends up showing who
    claimed it. The default rate (PRESALES_SLACK_PACE) is the one under test."""
    h = make_harness(fanout_limit=40)
    # the default tier of chat.update (one clock: a second paced method would move it too)
    h.deps.notifier.pacer, virtual = paced(only(DEFAULT_PACE, "chat.update"))
    h.person(AE)
    experts = [h.expert(f"U0EX{i:02d}") for i in range(40)]
    h.submit_request(AE)
    request = h.last_request()
    assert len(h.slack.calls_to("chat.update")) <= 1  # the status message at most
    h.slack.clear_calls()
    virtual.taken.clear()
    winner = experts[7]
    reply = h.click(winner, Action.CLAIM, request.id)
    assert reply.status == 200
    updates = [c for c in h.slack.calls_to("chat.update")]
    winner_channel = h.offer(request.id, winner).channel_id
    assert updates[0].params["channel"] == winner_channel  # the claimer first, not queued behind 39 others
    dm_channels = {h.offer(request.id, e).channel_id for e in experts}
    assert {c.params["channel"] for c in updates} >= dm_channels
    for expert in experts:
        assert "claimed" in h.dm_text(expert, request.id).lower()
    paced_updates = [t for m, t, urgent in virtual.taken if m == "chat.update" and not urgent]
    assert len(paced_updates) >= 39
    assert within_tier(paced_updates, per_minute=50, burst=25)
    assert max(paced_updates) >= (len(paced_updates) - 25) * 60 / 50 - 1e-6  # it really waited its turn


def test_home_refreshes_for_many_watchers_are_queued_off_the_request_path_once_each(make_harness, monkeypatch):
    """RELIABILITY 56: 60 experts who look at their Home, one request offered to all of them; two
    changes in a row (a claim, then the requester cancels) while the views.publish lane is busy.
    The clicks are answered at once; every watcher's Home is published with the final state, at
    most once per change, paced to Tier 4; queued refreshes are replaced, not repeated."""
    h = make_harness(fanout_limit=60)
    h.deps.notifier.pacer, virtual = paced(only(DEFAULT_PACE, "views.publish"))
    h.person(AE)
    experts = [h.expert(f"U0EX{i:02d}") for i in range(60)]
    h.submit_request(AE)
    request = h.last_request()
    with h.db.session() as session:  # everyone opened their Home this week
        for person in session.query(Person).filter(Person.slack_user_id.in_(experts + [AE])):
            home.seen(session, person=person, now=clock.now() - timedelta(hours=1))
    homes.publish_home(h.deps, TEAM, experts[1])
    assert Action.CLAIM.value in json.dumps(h.slack.views_published[experts[1]])  # open to them: a Claim button
    gate = threading.Event()
    real_publish = homes.publish_home

    def publish_after_gate(deps, team_id, user_id, **kwargs):
        gate.wait(10)
        return real_publish(deps, team_id, user_id, **kwargs)

    monkeypatch.setattr(homes, "publish_home", publish_after_gate)
    h.slack.clear_calls()
    virtual.taken.clear()
    claim = h.click(experts[0], Action.CLAIM, request.id, drain=False)
    assert claim.status == 200  # answered while the Homes wait their turn
    lane = wait_for_lane(h, "views.publish", queued=len(experts))  # 61 watchers: one at the gate, 60 queued
    homes.refresh_homes(h.deps, request.id)  # a second change before the lane got to them
    assert lane.replaced == len(experts)
    gate.set()
    h.drain()
    per_user = Counter(call.params["user_id"] for call in h.slack.calls_to("views.publish"))
    assert set(per_user) == set(experts) | {AE}
    assert sorted(per_user.values())[-2:] == [1, 2]  # the one at the gate again, everyone else once
    moments = [t for m, t, urgent in virtual.taken if m == "views.publish" and not urgent]
    assert len(moments) == len(experts) + 2
    assert within_tier(moments, per_minute=100, burst=50)
    assert max(moments) > 0  # past the burst: it waited
    for expert in experts[1:]:  # the newest state: the request is no longer open to them
        assert Action.CLAIM.value not in json.dumps(h.slack.views_published[expert])


def wait_for_lane(h, name: str, *, queued: int, timeout: float = 10.0):
    """The lane once ``queued`` calls wait on it (the claim's background flow fills it)."""
    deadline = _time.monotonic() + timeout
    while _time.monotonic() < deadline:
        lane = h.deps.work._lanes.get(name)
        if lane is not None and lane.queued >= queued:
            return lane
        _time.sleep(0.01)
    raise AssertionError(f"lane {name} never had {queued} calls queued")


def test_a_queued_dm_update_never_puts_back_a_state_that_changed_meanwhile(make_harness, monkeypatch):
    """RELIABILITY 55 (found in review): DM updates wait on the chat.update lane. E0 claims, then
    releases (every other DM queued as "open, Claim"), then E5 claims while those still wait: E5's
    own DM turns "claimed by you" at once, and when its queued update finally runs it renders what
    the database says then — never the Claim button of the release."""
    from bot.slack.notify import Notifier

    h = make_harness(fanout_limit=30)
    h.deps.notifier.pacer, _virtual = paced(only(DEFAULT_PACE, "chat.update"))
    h.person(AE)
    experts = [h.expert(f"U0EX{i:02d}") for i in range(30)]
    h.submit_request(AE)
    request = h.last_request()
    gate = threading.Event()
    real_update = Notifier.update

    def update(notifier, channel, ts, text, blocks=None, *, urgent=False):
        if threading.current_thread().name == "lane-chat.update":
            gate.wait(10)  # the lane is busy: what is queued on it waits here
        return real_update(notifier, channel, ts, text, blocks, urgent=urgent)

    monkeypatch.setattr(Notifier, "update", update)
    h.click(experts[0], Action.CLAIM, request.id, drain=False)
    wait_for_lane(h, "chat.update", queued=len(experts) - 2)  # one at the gate, the rest queued
    h.click(experts[0], Action.RELEASE, request.id, drain=False)
    deadline = _time.monotonic() + 10
    while h.last_request().status != "open" and _time.monotonic() < deadline:
        _time.sleep(0.01)  # the release is stored after its ack: E5 clicks once it is
    claim = h.click(experts[5], Action.CLAIM, request.id, drain=False)
    assert claim.status == 200
    deadline = _time.monotonic() + 10
    while "claimed" not in h.dm_text(experts[5], request.id).lower() and _time.monotonic() < deadline:
        _time.sleep(0.01)  # E5's own DM is urgent: it does not wait for the gate
    assert "claimed" in h.dm_text(experts[5], request.id).lower()
    gate.set()
    h.drain()
    assert h.last_request().claimed_by.slack_user_id == experts[5]
    mine = h.slack.message(h.offer(request.id, experts[5]).channel_id, h.offer(request.id, experts[5]).ts)
    assert Action.CLAIM.value not in json.dumps(mine)  # no Claim button put back on a request E5 holds
    for expert in experts[1:5] + experts[6:]:
        assert "claimed" in h.dm_text(expert, request.id).lower()
