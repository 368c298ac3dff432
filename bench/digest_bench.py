"""Digest and App Home benchmark (issue 4).

1. The weekly digest for one week over 1,000,000 notifications (offers) and 50,000 requests
   spread over 20 weeks, on PostgreSQL (a scratch database `presales_bench`) and SQLite.
   Target: under 1 s on PostgreSQL with the indexes the migrations create.
2. App Home for a person with 500 items (requests of their own, open offers, claimed
   meetings): load + render + views.publish against the fake Slack.

`python -m bench.digest_bench [--offers 1000000] [--requests 50000] [--only pg|sqlite]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bench.common import table  # noqa: E402
from bench.tick import fresh_database, per_database  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.services import availability, digest, home  # noqa: E402
from bot.slack.blocks import digest as digest_ui  # noqa: E402
from bot.slack.blocks import home as home_ui  # noqa: E402
from bot.slack.notify import Notifier  # noqa: E402
from models import Offer, Person, Request, Skill, request_skills  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

START = datetime(2026, 7, 6, 0, 0, tzinfo=timezone.utc)  # a Monday; 20 weeks of data from here
WEEKS = 20
EXPERTS = 300
AES = 120


def seed(db: Database, *, offers: int, requests: int, rng: random.Random) -> None:
    span = WEEKS * 7 * 86400
    with db.engine.begin() as conn:
        people = [{"id": i, "team_id": "T0001", "slack_user_id": f"U0P{i:05d}", "is_manager": i == 1,
                   "is_expert": i > AES, "max_concurrent": 3, "created_at": START, "updated_at": START}
                  for i in range(1, AES + EXPERTS + 1)]
        conn.execute(insert(Person), people)
        conn.execute(insert(Skill), [{"id": i, "name": f"skill-{i}", "created_at": START} for i in range(1, 41)])
        rows, links = [], []
        for i in range(1, requests + 1):
            created = START + timedelta(seconds=rng.randrange(span))
            claimed = rng.random() < 0.7
            meeting = created + timedelta(hours=rng.choice([6, 20, 50, 90]))
            rows.append({"id": i, "team_id": "T0001", "requester_id": rng.randint(1, AES), "channel_id": "C0DEAL",
                         "kind": rng.choice(["demo", "discovery", "poc", "rfp"]), "account": f"A{i}",
                         "description": "d", "urgency": "normal",
                         "status": "claimed" if claimed else rng.choice(["unfilled", "cancelled", "open"]),
                         "meeting_at": meeting, "duration_min": 60, "created_at": created, "updated_at": created,
                         "broadcast_at": created, "ladder_from": created,
                         "claimed_by_id": rng.randint(AES + 1, AES + EXPERTS) if claimed else None,
                         "first_claimed_at": created + timedelta(minutes=rng.randint(1, 90)) if claimed else None,
                         "needs_brief": True, "last_minute": meeting - created < timedelta(hours=48)})
            links.append({"request_id": i, "skill_id": rng.randint(1, 40)})
            if len(rows) == 5000:
                conn.execute(insert(Request), rows)
                conn.execute(request_skills.insert(), links)
                rows, links = [], []
        if rows:
            conn.execute(insert(Request), rows)
            conn.execute(request_skills.insert(), links)
        per_request = max(1, offers // requests)
        batch = []
        for request_id in range(1, requests + 1):
            created = START + timedelta(seconds=rng.randrange(span))
            for expert in rng.sample(range(AES + 1, AES + EXPERTS + 1), per_request):
                answered = rng.random() < 0.7
                delay = rng.randint(30, 7200)
                batch.append({"request_id": request_id, "expert_id": expert, "rank": 1, "created_at": created,
                              "sent_at": created, "attempts": 1,
                              "responded_at": created + timedelta(seconds=delay) if answered else None,
                              "response_ms": delay * 1000 if answered else None,
                              "response_work_ms": delay * 700 if answered else None,  # some of it after hours
                              "response": rng.choice(["claim", "decline", "decline"]) if answered else None})
                if len(batch) == 10000:
                    conn.execute(insert(Offer), batch)
                    batch = []
        if batch:
            conn.execute(insert(Offer), batch)
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))


def time_digest(db: Database, *, repeat: int = 3) -> tuple[float, int]:
    week = digest.week_of((START + timedelta(weeks=10)).date(), "Europe/Berlin")
    now = START + timedelta(weeks=WEEKS)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with db.read() as session:
            # as the Monday edition computes it: with the team's last 8 weeks for the chart's trend
            data = digest.compute(session, team_id="T0001", week=week, due_before=timedelta(hours=24), now=now,
                                  trend_weeks=8)
        digest_ui.messages(data, now=now)
        times.append(time.perf_counter() - started)
    notified = sum(e.figures.notified for e in data.experts)
    return statistics.median(times), notified


def time_home(db: Database, fake: FakeSlack) -> tuple[float, int, int]:
    """A person (an expert, an AE and a manager at once) with 500 of their own requests."""
    now = START + timedelta(weeks=WEEKS)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE people SET is_expert = :t, is_manager = :t WHERE id = 1"), {"t": True})
        first_id = conn.execute(text("SELECT max(id) FROM requests")).scalar() + 1
        conn.execute(insert(Request), [
            {"id": first_id + i, "team_id": "T0001", "requester_id": 1, "channel_id": "C0DEAL", "kind": "rfp", "account": f"Mine {i}",
             "description": "d", "urgency": "normal", "status": "open", "needed_by": now + timedelta(days=2, minutes=i),
             "created_at": now - timedelta(minutes=i), "updated_at": now, "needs_brief": False, "last_minute": False}
            for i in range(500)])
    notifier = Notifier(__import__("slack_sdk").WebClient(token="xoxb-bench", base_url=fake.api_url))
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with db.read() as session:
            person = session.get(Person, 1)
            data = home.load(session, person=person, admins=frozenset(), now=now,
                             default_hours=availability.Hours(availability.WEEKDAYS, 9 * 60, 18 * 60))
        view = home_ui.view(data, "Europe/Berlin", headline="bench")
        posted = notifier.publish_home(person.slack_user_id, view)
        times.append(time.perf_counter() - started)
        assert posted.ok, posted.error
    return statistics.median(times), len(view.blocks), data.mine.total


def run(kind: str, *, offers: int, requests: int) -> list[str]:
    db = Database(fresh_database(kind))
    started = time.perf_counter()
    seed(db, offers=offers, requests=requests, rng=random.Random(1))
    seeded = time.perf_counter() - started
    digest_s, notified = time_digest(db)
    fake = FakeSlack().start()
    try:
        home_s, blocks, items = time_home(db, fake)
    finally:
        fake.stop()
    db.dispose()
    return [kind, f"{offers:,}", f"{requests:,}", f"{seeded:.0f} s", f"{digest_s * 1000:.0f} ms", f"{notified:,}",
            f"{home_s * 1000:.0f} ms", str(blocks), f"{items}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    args = parser.parse_args(argv)
    rows = per_database(args.only, "digest", lambda kind: run(kind, offers=args.offers, requests=args.requests))
    print(table("Weekly digest and App Home (targets: digest < 1 s on PostgreSQL; Home within 100 blocks)", ["db", "offers", "requests", "seed", "digest (1 week)", "DMs in week", "Home publish",
                 "Home blocks", "own requests"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
