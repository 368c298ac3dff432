"""Matching with availability: who is asked for one request among 2,000 experts.

Each request runs what a broadcast runs before any DM: ``matching.match_experts`` (skills, levels,
load, recent speed, away / out of office through the request's time, claimed meetings that
overlap) and ``matching.route`` (who is inside their working hours now, who later, who not at
all). The experts live in 8 timezones with their own working days and hours; some are away, out of
office (with and without an end), on Do Not Disturb, or hold claimed meetings. Prints p50 / p99 /
max per request on PostgreSQL and SQLite. `python -m bench.matching [--experts 2000] [--requests 200]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.common import table  # noqa: E402
from bench.tick import fresh_database, per_database  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.services import availability, matching  # noqa: E402
from models import ExpertSkill, Offer, Person, Request, Skill, request_skills  # noqa: E402

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # a Monday afternoon in Europe
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo",
         "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo"]
SKILLS = [f"skill-{i:02d}" for i in range(40)]
DEFAULT = availability.Hours(days=availability.WEEKDAYS, start=9 * 60, end=18 * 60)


def seed(db: Database, *, experts: int, requests: int, rng: random.Random) -> list[int]:
    """The experts, their skills and states, claimed meetings, past responses; returns the ids of
    the open requests to match."""
    people, skills_of, claims, offers = [], [], [], []
    ae = experts + 1
    for i in range(1, experts + 1):
        roll = rng.random()
        people.append({
            "id": i, "team_id": "T0001", "slack_user_id": f"U0X{i:05d}", "is_manager": False, "is_expert": True,
            "max_concurrent": rng.choice([2, 3, 5]), "tz": rng.choice(ZONES), "tz_checked_at": NOW,
            "work_days": rng.choice([None, None, "12345", "71234"]), "work_start": rng.choice([None, 8 * 60, 10 * 60]),
            "work_end": rng.choice([None, 17 * 60, 19 * 60]),
            "out_of_office": roll < 0.05, "ooo_until": NOW + timedelta(days=2) if roll < 0.02 else None,
            "dnd_until": NOW + timedelta(hours=1) if 0.05 <= roll < 0.1 else None,
            "away_from": NOW if 0.1 <= roll < 0.13 else None,
            "away_until": NOW + timedelta(days=3) if 0.1 <= roll < 0.13 else None,
            "created_at": NOW, "updated_at": NOW})
        for skill in rng.sample(range(1, len(SKILLS) + 1), rng.randint(1, 4)):
            skills_of.append({"person_id": i, "skill_id": skill, "level": rng.choice(["learning", "proficient", "expert"])})
    people.append({**people[0], "id": ae, "slack_user_id": "U0AE", "is_expert": False, "out_of_office": False,
                   "ooo_until": None, "dnd_until": None, "away_from": None, "away_until": None})
    base = {"team_id": "T0001", "requester_id": ae, "channel_id": "C0DEAL", "kind": "demo", "description": "d",
            "urgency": "normal", "duration_min": 60, "created_at": NOW, "updated_at": NOW, "needs_brief": False,
            "last_minute": False}
    request_id = 0
    for i in range(1, experts + 1, 3):  # a third of the experts hold a claimed meeting this week
        request_id += 1
        at = NOW + timedelta(days=rng.randint(0, 4), hours=rng.randint(0, 8))
        claims.append({**base, "id": request_id, "account": f"Claimed {request_id}", "status": "claimed",
                       "meeting_at": at, "claimed_by_id": i, "claimed_at": NOW, "broadcast_at": NOW - timedelta(days=1)})
        sent = NOW - timedelta(days=rng.randint(1, 60))
        offers.append({"request_id": request_id, "expert_id": i, "rank": 1, "created_at": sent, "sent_at": sent,
                       "attempts": 1, "responded_at": sent + timedelta(minutes=rng.randint(1, 240)),
                       "response": "claim", "response_ms": rng.randint(60_000, 14_400_000),
                       "response_work_ms": rng.randint(60_000, 7_200_000)})
    open_ids = []
    links = []
    for _ in range(requests):
        request_id += 1
        open_ids.append(request_id)
        claims.append({**base, "id": request_id, "account": f"Open {request_id}", "status": "open",
                       "meeting_at": NOW + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 8)),
                       "claimed_by_id": None, "claimed_at": None, "broadcast_at": None})
        links += [{"request_id": request_id, "skill_id": s} for s in rng.sample(range(1, len(SKILLS) + 1), 2)]
    with db.engine.begin() as conn:
        conn.execute(insert(Skill), [{"id": i, "name": name, "created_at": NOW} for i, name in enumerate(SKILLS, 1)])
        conn.execute(insert(Person), people)
        conn.execute(insert(ExpertSkill), skills_of)
        conn.execute(insert(Request), claims)
        conn.execute(insert(request_skills), links)
        conn.execute(insert(Offer), offers)
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return open_ids


def run(kind: str, *, experts: int, requests: int) -> list:
    db = Database(fresh_database(kind))
    started = time.perf_counter()
    open_ids = seed(db, experts=experts, requests=requests, rng=random.Random(7))
    seeded = time.perf_counter() - started
    times, now_counts, later_counts = [], [], []
    for request_id in open_ids:
        begin = time.perf_counter()
        with db.read() as session:
            request = session.get(Request, request_id)
            found = matching.match_experts(session, request=request, now=NOW, limit=25,
                                           buffer=timedelta(minutes=30))
            routes = matching.route(found, request=request, now=NOW, default_hours=DEFAULT, default_tz="UTC")
        times.append((time.perf_counter() - begin) * 1000)
        now_counts.append(len(routes.now))
        later_counts.append(len(routes.later))
    with db.read() as session:
        assert session.scalar(select(Person.id).limit(1)) is not None
    db.dispose()
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return [kind, f"{experts:,}", f"{seeded:.1f} s", f"{statistics.median(times):.1f}", f"{p99:.1f}",
            f"{times[-1]:.1f}", f"{statistics.mean(now_counts):.1f}", f"{statistics.mean(later_counts):.1f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    args = parser.parse_args(argv)
    rows = per_database(args.only, "matching", lambda kind: run(kind, experts=args.experts, requests=args.requests))
    print(table(f"Matching with availability, {args.requests} requests (target: p99 < 100 ms per request)",
                ["db", "experts", "seed", "p50 ms", "p99 ms", "max ms", "asked now (avg)", "later (avg)"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
