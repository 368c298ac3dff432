"""Scheduler tick benchmark (issue 3).

1. The cost of a tick that sends nothing, with 100,000 pending notices in the table
   (target: under 50 ms on PostgreSQL): the lease query is what every idle tick runs.
2. 1,000 notices due at once, all delivered through the real flows against the fake Slack
   with 50 ms per call and 5% of chat.postMessage answered 429 (target: within one minute).

Runs on PostgreSQL (a scratch database `presales_bench` on 127.0.0.1:5432, created if needed)
and on SQLite. `python -m bench.tick [--pending 100000] [--due 1000] [--only pg|sqlite]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot import clock  # noqa: E402
from bot.app import build_deps  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.flows import notices  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.services import leases  # noqa: E402
from models import DueNotice, Offer, Person, Request  # noqa: E402
from bench.common import table  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/presales_bench"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='presales-bench-')}/tick.db"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS presales_bench"))
            conn.execute(text("CREATE DATABASE presales_bench"))
        admin.dispose()
        url = PG_URL
    upgrade(url)
    return url


def seed(db: Database, *, pending: int, due_now: int) -> None:
    """``due_now`` claimed requests with one reminder due now each, plus ``pending`` reminders
    due over the next months (spread over the same requests)."""
    with db.engine.begin() as conn:
        conn.execute(insert(Person), [
            {"id": 1, "team_id": "T0001", "slack_user_id": "U0AE", "is_manager": False, "is_expert": False,
             "max_concurrent": 3, "created_at": NOW, "updated_at": NOW},
            {"id": 2, "team_id": "T0001", "slack_user_id": "U0EXPERT", "is_manager": False, "is_expert": True,
             "max_concurrent": 5000, "created_at": NOW, "updated_at": NOW, "tz": "Europe/Berlin",
             "tz_checked_at": NOW},
        ])
        conn.execute(insert(Request), [
            {"id": i, "team_id": "T0001", "requester_id": 1, "channel_id": "C0DEAL", "kind": "demo",
             "account": f"Account {i}", "description": "d", "urgency": "normal", "status": "claimed",
             "meeting_at": NOW + timedelta(days=200), "duration_min": 60, "claimed_by_id": 2, "claimed_at": NOW,
             "first_claimed_at": NOW, "broadcast_at": NOW, "ladder_from": NOW, "created_at": NOW, "updated_at": NOW,
             "needs_brief": False, "last_minute": False}
            for i in range(1, due_now + 1)
        ])
        conn.execute(insert(Offer), [
            {"request_id": i, "expert_id": 2, "rank": 1, "created_at": NOW, "sent_at": NOW, "attempts": 1,
             "responded_at": NOW, "response": "claim", "claimed_at": NOW}
            for i in range(1, due_now + 1)
        ])
        rows = [{"kind": "reminder", "request_id": 1 + i % due_now, "recipient_id": 2, "slot": f"future-{i}",
                 "due_at": NOW + timedelta(minutes=10 + i), "state": "pending", "attempts": 0, "late": False,
                 "created_at": NOW, "updated_at": NOW} for i in range(pending)]
        rows += [{"kind": "reminder", "request_id": i, "recipient_id": 2, "slot": "1h@bench", "due_at": NOW,
                  "state": "pending", "attempts": 0, "late": False, "created_at": NOW, "updated_at": NOW}
                 for i in range(1, due_now + 1)]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(DueNotice), rows[start:start + 5000])
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def idle_tick_ms(db: Database, *, repeat: int = 30) -> tuple[float, float]:
    """Median and max wall time of the lease query when nothing is due yet."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with db.session() as session:
            taken = leases.take_due(session, now=NOW - timedelta(minutes=1), limit=100, lease=timedelta(minutes=5),
                                 token="bench")
        times.append((time.perf_counter() - started) * 1000)
        assert taken == []
    return statistics.median(times), max(times)


def deliver_all(url: str, fake: FakeSlack, *, due_now: int) -> tuple[float, int, int]:
    settings = replace(Settings(), slack_bot_token="xoxb-bench", slack_signing_secret="x", slack_api_url=fake.api_url,
                       database_url=url, send_concurrency=8, work_threads=8)
    deps = build_deps(settings)
    clock.set_now(NOW + timedelta(seconds=1))
    started = time.perf_counter()
    sent = 0
    try:
        while sent < due_now and time.perf_counter() - started < 300:
            sweep = notices.sweep_due(deps, batch=200, budget_s=60)
            sent += sweep.sent
            if sweep.taken == 0:
                clock.advance(settings.lease + timedelta(seconds=1))  # retried ones come back after the lease
        elapsed = time.perf_counter() - started
    finally:
        clock.set_now(None)
        deps.close()
    limited = sum(1 for c in fake.calls_to("chat.postMessage") if c.outcome == "429")
    return elapsed, sent, limited


def run(kind: str, *, pending: int, due_now: int) -> list[str]:
    url = fresh_database(kind)
    db = Database(url)
    started = time.perf_counter()
    seed(db, pending=pending, due_now=due_now)
    seeded = time.perf_counter() - started
    median_ms, max_ms = idle_tick_ms(db)
    db.dispose()
    fake = FakeSlack().start()
    fake.add_user("U0EXPERT", tz="Europe/Berlin")
    fake.add_user("U0AE", tz="America/New_York")
    fake.latency = 0.05
    fake.chaos("chat.postMessage", rate_limit=0.05, server_error=0.0, seed=7, retry_after=1)
    try:
        elapsed, sent, limited = deliver_all(url, fake, due_now=due_now)
        dms = len(fake.dm_messages("U0EXPERT"))
    finally:
        fake.stop()
    return [kind, f"{pending + due_now:,}", f"{seeded:.1f} s", f"{median_ms:.1f}", f"{max_ms:.1f}",
            f"{due_now:,}", f"{sent:,}", f"{dms:,}", f"{limited}", f"{elapsed:.1f} s"]


def per_database(only: str | None, what: str, run_one) -> list:
    """``run_one(kind)`` on PostgreSQL then SQLite (or the one ``--only`` names): the table's rows."""
    rows = []
    for kind in ("pg", "sqlite"):
        if only and only != kind:
            continue
        print(f"== {what} bench on {kind} ...", file=sys.stderr, flush=True)
        rows.append(run_one(kind))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    args = parser.parse_args(argv)
    rows = per_database(args.only, "tick", lambda kind: run(kind, pending=args.pending, due_now=args.due))
    print(table("Scheduler tick (targets: idle tick < 50 ms on PostgreSQL; 1,000 due sent < 60 s at 50 ms/call, 5% 429)",
                ["db", "notices", "seed", "idle tick p50 ms", "idle tick max ms", "due", "sent", "DMs seen",
                 "429s", "all sent in"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
