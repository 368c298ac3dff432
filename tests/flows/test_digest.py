"""The weekly digest: every figure against an independent calculation on a generated week,
in two timezones and across a DST change; scheduled once per (manager, week); on demand."""

from __future__ import annotations

import json
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from bot.flows import digests
from bot.services import digest
from bot.slack.blocks import digest as digest_ui
from bot.slack.notify import Posted
from models import (
    Brief,
    Digest,
    DueNotice,
    ExpertSkill,
    FollowUp,
    Offer,
    Person,
    Request,
    Skill,
    request_skills,
)
from tests.harness import ADMIN, AE, quantile, record_response_times

UTC = timezone.utc


@dataclass
class World:
    """Rows written to the database, kept in Python for the independent calculation."""

    requests: list[dict] = field(default_factory=list)
    offers: list[dict] = field(default_factory=list)
    experts: list[str] = field(default_factory=list)
    followups: list[dict] = field(default_factory=list)
    escalated: set[int] = field(default_factory=set)


def build_world(h, rng: random.Random, start: datetime, days: int = 21) -> World:
    """Three weeks of activity from ``start``: requests, offers with (tied) response times,
    claims, briefs on time or late, follow-ups, escalations."""
    world = World()
    with h.db.session() as session:
        skills = [Skill(name=n, created_at=start) for n in ("kubernetes", "security", "fintech", "rare-skill")]
        session.add_all(skills)
        aes = [Person(team_id="T0001", slack_user_id=f"U0AE{i}", is_manager=False, is_expert=False, max_concurrent=3,
                      created_at=start, updated_at=start) for i in range(3)]
        experts = [Person(team_id="T0001", slack_user_id=f"U0EX{i:02d}", is_manager=False, is_expert=True,
                          max_concurrent=5, created_at=start, updated_at=start) for i in range(6)]
        silent = Person(team_id="T0001", slack_user_id="U0SILENT", is_manager=False, is_expert=True,
                        max_concurrent=3, created_at=start, updated_at=start)
        session.add_all(aes + experts + [silent])
        session.flush()
        for e in experts[:3]:
            session.add(ExpertSkill(person_id=e.id, skill_id=skills[0].id, level="expert"))
        for e in experts[3:]:
            session.add(ExpertSkill(person_id=e.id, skill_id=skills[1].id, level="proficient"))
        session.add(ExpertSkill(person_id=experts[0].id, skill_id=skills[2].id, level="learning"))
        world.experts = [e.slack_user_id for e in experts] + ["U0SILENT"]
        for n in range(days * 3):
            created = start + timedelta(hours=8 * n + rng.randint(0, 7), minutes=rng.choice([0, 15, 30]))
            ae = rng.choice(aes)
            lead = timedelta(hours=rng.choice([6, 20, 30, 50, 72, 100]))
            meeting = created + lead
            kind = rng.choice(["demo", "demo", "discovery", "rfp"])
            status = rng.choice(["claimed", "claimed", "claimed", "unfilled", "cancelled", "open"])
            req = Request(team_id="T0001", requester_id=ae.id, channel_id="C0DEAL", kind=kind, account=f"A{n}",
                          description="d", urgency="normal", status=status, created_at=created, updated_at=created,
                          broadcast_at=created, ladder_from=created,
                          meeting_at=meeting if kind != "rfp" else None, needed_by=meeting if kind == "rfp" else None,
                          duration_min=60 if kind != "rfp" else None,
                          needs_brief=kind != "rfp", last_minute=lead < timedelta(hours=48))
            session.add(req)
            session.flush()
            chosen = rng.sample(skills[:3] + ([skills[3]] if n % 7 == 0 else []), rng.randint(1, 2))
            for s in chosen:
                session.execute(request_skills.insert().values(request_id=req.id, skill_id=s.id))
            record = {"id": req.id, "created": created, "ae": ae.slack_user_id, "kind": kind, "status": status,
                      "meeting": req.meeting_at, "lead": lead, "last_minute": req.last_minute,
                      "needs_brief": req.needs_brief, "skills": [s.name for s in chosen], "claim_s": None,
                      "brief_on_time": None, "claimer": None}
            claimer = None
            notified = rng.sample(experts, rng.randint(2, 5))
            for e in notified:
                sent = created + timedelta(seconds=rng.choice([0, 0, 1, 2]))
                o = Offer(request_id=req.id, expert_id=e.id, rank=1, created_at=created, sent_at=sent, attempts=1)
                roll = rng.random()
                offer = {"expert": e.slack_user_id, "sent": sent, "response": None, "seconds": None,
                         "request": req.id, "claimed": False}
                if roll < 0.7:
                    delay = timedelta(minutes=rng.choice([1, 2, 2, 5, 5, 30]))  # ties on purpose
                    o.responded_at = sent + delay
                    if status in ("claimed",) and claimer is None and roll < 0.45:
                        o.response, claimer = "claim", e
                    else:
                        o.response = "decline"
                    offer.update(response=o.response, seconds=delay.total_seconds())
                session.add(o)
                world.offers.append(offer)
            if status == "claimed" and claimer is None:
                claimer = notified[0]
                o = session.scalar(select(Offer).where(Offer.request_id == req.id, Offer.expert_id == claimer.id))
                if o.responded_at is None:
                    o.responded_at, o.response = o.sent_at + timedelta(minutes=3), "claim"
                    for rec in world.offers:
                        if rec["expert"] == claimer.slack_user_id and rec["sent"] == o.sent_at and rec["response"] is None:
                            rec.update(response="claim", seconds=180.0)
            if status == "claimed":
                claim_offer = session.scalar(select(Offer).where(Offer.request_id == req.id, Offer.response == "claim"))
                if claim_offer is None:  # the claimer's first response was a decline; they claimed later
                    claim_at = created + timedelta(minutes=45)
                else:
                    claim_at = claim_offer.responded_at
                req.claimed_by_id, req.claimed_at, req.first_claimed_at = claimer.id, claim_at, claim_at
                won = session.scalar(select(Offer).where(Offer.request_id == req.id, Offer.expert_id == claimer.id))
                won.claimed_at = claim_at  # also when the claimer had declined first
                for rec in world.offers:
                    if rec["request"] == req.id and rec["expert"] == claimer.slack_user_id:
                        rec["claimed"] = True
                record["claim_s"] = (claim_at - created).total_seconds()
                record["claimer"] = claimer.slack_user_id
            if req.needs_brief and rng.random() < 0.7:
                completed = created + timedelta(hours=rng.choice([1, 4, 30]))
                session.add(Brief(request_id=req.id, problem="p" * 30, show="s" * 30, decision="d" * 30,
                                  decision_by=meeting.date(), completed_at=completed, created_at=completed,
                                  updated_at=completed, updated_by_id=ae.id))
                record["brief_on_time"] = completed <= meeting - timedelta(hours=24)
            if rng.random() < 0.3:
                session.add(DueNotice(kind="reping", request_id=req.id, recipient_id=ae.id, slot="x", due_at=created,
                                      state="sent", attempts=1, late=False, created_at=created, updated_at=created))
                world.escalated.add(req.id)
            if status == "claimed" and req.meeting_at is not None and rng.random() < 0.6:
                answered = req.meeting_at + timedelta(hours=3)
                decided = rng.choice(["yes", "no", "not_yet"])
                session.add(FollowUp(request_id=req.id, person_id=ae.id, role="ae", decision_made=decided,
                                     answered_at=answered))
                world.followups.append({"role": "ae", "request": req.id, "decided": decided, "at": answered,
                                        "claimer": claimer.slack_user_id})
                prep, meet = rng.choice([0.5, 1.0, 2.5]), 1.0
                session.add(FollowUp(request_id=req.id, person_id=claimer.id, role="expert", prep_hours=prep,
                                     meeting_hours=meet, answered_at=answered))
                world.followups.append({"role": "expert", "request": req.id, "expert": claimer.slack_user_id,
                                        "hours": prep + meet, "at": answered})
            world.requests.append(record)
        session.flush()
        record_response_times(session)
    return world


def expected(world: World, week: digest.Week, now: datetime) -> dict:
    """The digest, calculated again from the Python records (not from the database)."""
    reqs = [r for r in world.requests if week.start <= r["created"] < week.end]
    made = len(reqs)
    filled = sum(1 for r in reqs if r["claim_s"] is not None)
    cancelled = sum(1 for r in reqs if r["status"] == "cancelled")
    claim_times = [r["claim_s"] for r in reqs if r["claim_s"] is not None]
    offers = [o for o in world.offers if week.start <= o["sent"] < week.end]
    per_expert = {}
    for e in world.experts:
        mine = [o for o in offers if o["expert"] == e]
        times = [o["seconds"] for o in mine if o["seconds"] is not None]
        hours = sum(f["hours"] for f in world.followups
                    if f["role"] == "expert" and f["expert"] == e and week.start <= f["at"] < week.end)
        outcomes = {}
        for f in world.followups:
            if f["role"] == "ae" and f["claimer"] == e and week.start <= f["at"] < week.end:
                outcomes[f["decided"]] = outcomes.get(f["decided"], 0) + 1
        per_expert[e] = {"notified": len(mine), "responded": len(times),
                         "claims": sum(1 for o in mine if o["claimed"]),
                         "declines": sum(1 for o in mine if o["response"] == "decline"),
                         "median": quantile(times, 0.5), "hours": hours, "outcomes": outcomes}
    needing = [r for r in reqs if r["needs_brief"]]
    over = [r for r in reqs if r["status"] == "claimed" and r["meeting"] is not None and r["meeting"] < now]
    answered = {f["request"] for f in world.followups if f["role"] == "ae"}
    leads = [r["lead"].total_seconds() / 3600 for r in reqs if r["meeting"] is not None]
    by_skill: dict[str, int] = {}
    for r in reqs:
        for s in r["skills"]:
            by_skill[s] = by_skill.get(s, 0) + 1
    return {
        "made": made, "filled": filled, "cancelled": cancelled,
        "unfilled": sum(1 for r in reqs if r["status"] == "unfilled"),
        "fill_rate": filled / (made - cancelled) if made - cancelled else None,
        "claim_median": quantile(claim_times, 0.5), "claim_p90": quantile(claim_times, 0.9),
        "escalated": len({r["id"] for r in reqs} & world.escalated),
        "by_skill": by_skill, "experts": per_expert,
        "lead_median": quantile(leads, 0.5),
        "last_minute": sum(1 for r in reqs if r["last_minute"]),
        "briefs_needed": len(needing), "briefs_on_time": sum(1 for r in needing if r["brief_on_time"]),
        "meetings_over": len(over), "captured": sum(1 for r in over if r["id"] in answered),
    }


def check(data: digest.DigestData, want: dict) -> None:
    t = data.team
    assert (t.made, t.filled, t.unfilled, t.cancelled, t.escalated) == (
        want["made"], want["filled"], want["unfilled"], want["cancelled"], want["escalated"])
    assert t.fill_rate == pytest.approx(want["fill_rate"]) if want["fill_rate"] is not None else t.fill_rate is None
    assert t.claim_median_s == pytest.approx(want["claim_median"], abs=0.01) if want["claim_median"] is not None \
        else t.claim_median_s is None
    assert t.claim_p90_s == pytest.approx(want["claim_p90"], abs=0.01) if want["claim_p90"] is not None \
        else t.claim_p90_s is None
    assert t.by_skill == want["by_skill"]
    got = {e.person.slack_user_id: e for e in data.experts}
    assert set(got) == set(want["experts"])  # every expert listed, the silent one too
    for user, w in want["experts"].items():
        e = got[user]
        assert (e.figures.notified, e.figures.responded, e.figures.claims, e.figures.declines) == (
            w["notified"], w["responded"], w["claims"], w["declines"]), user
        if w["median"] is None:
            assert e.figures.median_s is None
        else:
            assert e.figures.median_s == pytest.approx(w["median"], abs=0.01), user
        assert e.hours == pytest.approx(w["hours"])
        assert e.outcomes == w["outcomes"]
    p = data.planning_team
    assert (p.requests, p.last_minute, p.briefs_needed, p.briefs_on_time, p.meetings_over, p.decisions_captured) == (
        want["made"], want["last_minute"], want["briefs_needed"], want["briefs_on_time"], want["meetings_over"],
        want["captured"])
    if want["lead_median"] is None:
        assert p.lead_median_h is None
    else:
        assert p.lead_median_h == pytest.approx(want["lead_median"], abs=0.01)
    assert sum(a.requests for a in data.planning) == want["made"]


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Europe/Berlin"])
@pytest.mark.parametrize("seed", [11, 23])
def test_every_figure_matches_an_independent_calculation(h, tz, seed):
    world = build_world(h, random.Random(seed), datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for label in ("2026-W46", "2026-W47", "2026-W45"):
        week = digest.parse_week(label, tz=tz, now=now)
        with h.db.session() as session:
            data = digest.compute(session, team_id="T0001", week=week, due_before=timedelta(hours=24), now=now)
        check(data, expected(world, week, now))


def test_a_dst_week_is_167_hours_and_still_exact(h):
    """Europe/Berlin leaves summer time on 25 Oct 2026: week 43 has 169 hours, and
    Los Angeles (1 Nov) makes its week 44 169 hours too; nothing counted twice or lost."""
    world = build_world(h, random.Random(5), datetime(2026, 10, 12, 0, 0, tzinfo=UTC))
    now = datetime(2026, 11, 12, 0, 0, tzinfo=UTC)
    for tz, label in (("Europe/Berlin", "2026-W43"), ("America/Los_Angeles", "2026-W44")):
        week = digest.parse_week(label, tz=tz, now=now)
        assert week.end - week.start == timedelta(hours=169)
        with h.db.session() as session:
            data = digest.compute(session, team_id="T0001", week=week, due_before=timedelta(hours=24), now=now)
        check(data, expected(world, week, now))
    # adjacent weeks tile the timeline: the sum over weeks equals the whole
    weeks = [digest.week_of(date(2026, 10, 12) + timedelta(days=7 * i), "Europe/Berlin") for i in range(4)]
    assert all(a.end == b.start for a, b in zip(weeks, weeks[1:]))


def test_an_empty_week_and_a_week_before_the_first_request(h):
    build_world(h, random.Random(2), datetime(2026, 11, 2, 0, 0, tzinfo=UTC), days=5)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with h.db.session() as session:
        before = digest.compute(session, team_id="T0001", week=digest.parse_week("2026-W40", tz="UTC", now=now),
                                due_before=timedelta(hours=24), now=now)
        quiet = digest.compute(session, team_id="T0001", week=digest.parse_week("2026-W47", tz="UTC", now=now),
                               due_before=timedelta(hours=24), now=now)
    assert before.empty and "before the first request" in digest_ui.as_text(before)
    assert quiet.empty and "No requests" in digest_ui.as_text(quiet)


@pytest.mark.parametrize("text, words", [("2026-W60", "no week 60"), ("banana", "not a week"),
                                         ("2027-W10", "has not started")])
def test_bad_weeks_are_refused_clearly(text, words):
    with pytest.raises(Exception) as err:
        digest.parse_week(text, tz="UTC", now=datetime(2026, 11, 26, tzinfo=UTC))
    assert words in str(err.value)


def test_two_hundred_experts_fit_slack_message_limits(h):
    start = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    with h.db.session() as session:
        ae = Person(team_id="T0001", slack_user_id="U0AEX", is_manager=False, is_expert=False, max_concurrent=3,
                    created_at=start, updated_at=start)
        people = [Person(team_id="T0001", slack_user_id=f"U0M{i:03d}", name=f"Expert number {i} <@U999>",
                         is_manager=False, is_expert=True, max_concurrent=3, created_at=start, updated_at=start)
                  for i in range(200)]
        session.add_all([ae, *people])
        session.flush()
        req = Request(team_id="T0001", requester_id=ae.id, channel_id="C0DEAL", kind="demo", account="A",
                      description="d", urgency="normal", status="open", created_at=start, updated_at=start,
                      broadcast_at=start)
        session.add(req)
        session.flush()
        for i, p in enumerate(people):
            session.add(Offer(request_id=req.id, expert_id=p.id, rank=i, created_at=start, sent_at=start, attempts=1,
                              responded_at=start + timedelta(minutes=i % 17) if i % 3 else None,
                              response="decline" if i % 3 else None))
        session.flush()
        record_response_times(session)
    h.person(ADMIN, tz="Europe/Berlin")
    with h.db.session() as session:
        week = digest.parse_week("2026-W47", tz="Europe/Berlin", now=datetime(2026, 11, 25, tzinfo=UTC))
        data = digest.compute(session, team_id="T0001", week=week, due_before=timedelta(hours=24),
                              now=datetime(2026, 11, 25, tzinfo=UTC))
    messages = digest_ui.messages(data)
    assert len(messages) >= 2
    listed = " ".join(str(blocks) for _, blocks in messages)
    assert all(f"<@U0M{i:03d}>" in listed for i in range(200))
    assert "<@U999>" not in listed  # names are not rendered in Slack: mentions are
    # the fake Slack checks every message against Block Kit's limits when it is posted
    for text, blocks in messages:
        h.deps.notifier.post(ADMIN, text, blocks)
    assert len(h.slack.dm_messages(ADMIN)) == len(messages)


def test_weekly_digest_goes_out_monday_nine_local_once_per_manager_and_week(make_harness):
    """RELIABILITY 51/57: Berlin and Los Angeles managers, two schedulers, a restart."""
    h = make_harness()
    h.person("U0BERLIN", tz="Europe/Berlin")
    h.person("U0LA", tz="America/Los_Angeles")
    h.person(AE)
    h.expert("U0EXP1")
    h.command(ADMIN, "manager add <@U0BERLIN|b>")
    h.command(ADMIN, "manager add <@U0LA|l>")
    h.submit_request(AE)
    h.command(ADMIN, "manager remove <@U0ADMIN|a>")  # the admin gets it too; keep the count simple below

    def digests_for(user):
        return [m for m in h.slack.dm_messages(user) if m["text"].startswith("Pre-sales digest")]

    other = __import__("bot.app", fromlist=["build_deps"]).build_deps(h.settings)
    # Monday 30 Nov 2026 07:59 UTC = 08:59 Berlin: not yet
    h.at(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    digests.send_weekly_digests(h.deps)
    assert digests_for("U0BERLIN") == []
    # 08:00 UTC = 09:00 Berlin: Berlin gets W48, Los Angeles (midnight) nothing; a second scheduler adds nothing
    h.at(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    digests.send_weekly_digests(h.deps)
    digests.send_weekly_digests(other)
    berlin = digests_for("U0BERLIN")
    assert len(berlin) == 1 and "2026-W48" in berlin[0]["text"]
    assert digests_for("U0LA") == []
    # 17:00 UTC = 09:00 in Los Angeles; a "restart" (fresh deps) still sends nothing twice
    h.at(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    digests.send_weekly_digests(h.deps)
    restarted = __import__("bot.app", fromlist=["build_deps"]).build_deps(h.settings)
    digests.send_weekly_digests(restarted)
    other.close()
    restarted.close()
    assert len(digests_for("U0LA")) == 1 and len(digests_for("U0BERLIN")) == 1
    with h.db.session() as session:
        rows = session.execute(select(Digest.week, func.count()).group_by(Digest.week)).all()
    assert dict(rows)["2026-W48"] >= 2
    uploads = h.slack.calls_to("files.completeUploadExternal")
    assert len(uploads) >= 2  # the chart went with each digest


def test_digest_command_for_managers_only(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    refused = h.command(AE, "digest")
    assert "Only managers" in h.said(refused)
    assert "not a week" in h.said(h.command(ADMIN, "digest banana"))
    assert "no week 60" in h.said(h.command(ADMIN, "digest 2026-W60"))
    ok = h.command(ADMIN, "digest this")
    assert "on its way" in h.said(ok)
    dm = [m for m in h.slack.dm_messages(ADMIN) if m["text"].startswith("Pre-sales digest")]
    assert len(dm) == 1 and "2026-W48" in dm[0]["text"]
    assert "*Requests*\\n1" in str(dm[0]["blocks"])


def test_an_expert_name_matplotlib_cannot_read_and_a_failing_chart_cost_no_digest(h, monkeypatch, caplog):
    """An expert whose Slack name reads as broken mathtext ("$x^$") is charted as text; and if the
    chart fails anyway, the digest's figures still go out (without the picture) and it is logged."""
    from bot.slack import chart

    caplog.set_level(logging.ERROR, logger="bot.flows")
    real_chart, charted = chart.expert_chart, []

    def spy(bars, **kwargs):
        charted.extend(bar.name for bar in bars)
        return real_chart(bars, **kwargs)

    monkeypatch.setattr(chart, "expert_chart", spy)
    h.person(AE)
    h.expert("U0EXP1")
    h.slack.add_user("U0EXP1", tz="Europe/Berlin", name="$x^$")
    with h.db.session() as session:
        session.execute(update(Person).where(Person.slack_user_id == "U0EXP1").values(name="$x^$"))
    h.submit_request(AE)
    assert "on its way" in h.said(h.command(ADMIN, "digest this"))
    assert charted == ["$x^$"]
    assert len(h.slack.calls_to("files.completeUploadExternal")) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts on this host")

    monkeypatch.setattr(chart, "expert_chart", broken)
    assert "on its way" in h.said(h.command(ADMIN, "digest this"))
    dms = [m for m in h.slack.dm_messages(ADMIN) if m["text"].startswith("Pre-sales digest")]
    assert len(dms) == 2 and "*Requests*\\n1" in str(dms[1]["blocks"])
    assert len(h.slack.calls_to("files.completeUploadExternal")) == 1  # no second picture
    assert any("digest chart for T0001" in r.getMessage() and r.exc_info for r in caplog.records)


def test_digest_cli_prints_text_csv_and_json(h, capsys):
    from bot.cli import cmd_digest

    build_world(h, random.Random(3), datetime(2026, 11, 2, 0, 0, tzinfo=UTC), days=14)
    with h.db.session() as session:  # a display name with a terminal escape sequence in it
        session.execute(update(Person).where(Person.slack_user_id == "U0SILENT").values(name="Sil\x1b[2Jent\x07"))

    class Args:
        week, tz, team = "2026-W46", "Europe/Berlin", None

    for fmt in ("text", "csv", "json"):
        Args.format = fmt
        assert cmd_digest(Args, h.settings) == 0
        out = capsys.readouterr().out
        if fmt == "json":
            doc = json.loads(out)
            assert doc["week"] == "2026-W46" and doc["timezone"] == "Europe/Berlin"
            assert len(doc["experts"]) == 7
        elif fmt == "csv":
            assert out.splitlines()[0] == "week,section,who,metric,value" and ",expert,U0SILENT,notified,0" in out
            assert out.splitlines()[1].startswith('2026-W46,about,,times,"time to respond: each expert\'s working hours')
        else:
            assert out.startswith("Pre-sales digest · Week of 9–15 Nov 2026 (2026-W46") and "Experts" in out \
                and "Gaps" in out
            assert "Sil\ufffd[2Jent\ufffd (U0SILENT)" in out and "\x1b" not in out and "\x07" not in out


def test_a_monday_for_many_managers_builds_each_edition_once_and_reaches_everyone_once(make_harness, monkeypatch):
    """RELIABILITY 57: many managers (two timezones, two schedulers at once, one manager Slack
    refuses): each edition (workspace, week, timezone) is computed and charted once per run, not
    once per manager; every other manager gets exactly one digest; the refused one is retried
    on the next run and then gets it."""
    h = make_harness()
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    berlin = [f"U0MB{i:02d}" for i in range(8)]
    paris = [f"U0MP{i:02d}" for i in range(8)]
    for user in berlin + paris:
        h.person(user, tz="Europe/Berlin" if user in berlin else "Europe/Paris")
        h.command(ADMIN, f"manager add <@{user}|m>")
    h.command(ADMIN, "manager remove <@U0ADMIN|a>")
    computed: list[str] = []
    real_compute = digest.compute

    def counting_compute(session, **kwargs):
        computed.append(kwargs["week"].tz)
        return real_compute(session, **kwargs)

    monkeypatch.setattr(digest, "compute", counting_compute)
    refused = paris[3]
    other = __import__("bot.app", fromlist=["build_deps"]).build_deps(h.settings)
    h.at(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00 in Berlin and in Paris
    real_post = h.deps.notifier.post.__func__

    def post(notifier, user, text, blocks=None, **kwargs):
        if user == refused and text.startswith("Pre-sales digest"):
            return Posted(ok=False, error="account_inactive")
        return real_post(notifier, user, text, blocks, **kwargs)

    monkeypatch.setattr(type(h.deps.notifier), "post", post)
    runs = [threading.Thread(target=digests.send_weekly_digests, args=(deps,)) for deps in (h.deps, other)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)

    def digests_for(user):
        return [m for m in h.slack.dm_messages(user) if m["text"].startswith("Pre-sales digest")]

    assert {u: len(digests_for(u)) for u in berlin + paris} == {u: int(u != refused) for u in berlin + paris}
    # at most one edition per timezone in each of the two processes, instead of one per manager
    assert sorted(set(computed)) == ["Europe/Berlin", "Europe/Paris"] and len(computed) <= 4
    assert len(h.slack.calls_to("files.completeUploadExternal")) == len(berlin + paris) - 1
    # Slack takes the refused manager again: the next run sends only that one
    monkeypatch.setattr(type(h.deps.notifier), "post", real_post)
    h.at(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))
    assert digests.send_weekly_digests(h.deps) == 1
    other.close()
    assert len(digests_for(refused)) == 1
    assert all(len(digests_for(u)) == 1 for u in berlin + paris)


def test_the_trend_counts_each_week_like_an_independent_count(h):
    """The chart's trend: the team's DMs and answers per week (8 weeks), and this week's median."""
    world = build_world(h, random.Random(11), datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    week = digest.parse_week("2026-W47", tz="Europe/Berlin", now=now)
    with h.db.session() as session:
        data = digest.compute(session, team_id="T0001", week=week, due_before=timedelta(hours=24), now=now,
                              trend_weeks=4)
    assert [w.label for w, _ in data.trend] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    for w, figures in data.trend:
        sent = [o for o in world.offers if w.start <= o["sent"] < w.end]
        assert figures.notified == len(sent), w.label
        assert figures.responded == sum(1 for o in sent if o["response"] is not None), w.label
    this_week = [o["seconds"] for o in world.offers if week.start <= o["sent"] < week.end and o["seconds"] is not None]
    assert data.trend[-1][1].median_s == pytest.approx(quantile(this_week, 0.5), abs=0.01)
    args = digest_ui.chart_args(data)
    assert args["team_rate"] == data.trend[-1][1].response_rate and len(args["trend"]) == 4
