"""Fan-outs that are not broadcasts (RELIABILITY 56, 57), on the real flows and the fake Slack.

1. **Weekly digest for 300 managers** (three timezones, one workspace, a week of 200 requests):
   one scheduler run at Monday 09:00 local; every manager gets exactly one digest and its chart;
   a second scheduler run at the same time sends nothing more. Target: inside its window — the
   run is over long before the next 5-minute check, and nobody waits past 09:05 local.
2. **App Home refresh for 500 watchers**: 500 experts who opened their Home, one request offered
   to all of them, one claim. The 501 Homes go on the views.publish lane off the request path;
   a click made meanwhile is answered as fast as with nothing queued. Reports the time the
   lane's own work takes (render + publish, unpaced) and, for Slack's Tier 4 (100/min with a
   50-call burst, PRESALES_SLACK_PACE), when the last Home would be out.

`python -m bench.monday [--managers 300] [--watchers 500] [--only pg|sqlite]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import table  # noqa: E402
from bench.tick import fresh_database, per_database  # noqa: E402
from bot import clock  # noqa: E402
from bot.app import build_deps  # noqa: E402
from bot.services import home  # noqa: E402
from bot.slack.ids import Action  # noqa: E402
from bot.config import DEFAULT_PACE, parse_pace  # noqa: E402
from bot.flows import digests as digest_flow  # noqa: E402
from models import Person  # noqa: E402
from tests.fakes.slack import FakeSlack, skip_content_checks  # noqa: E402
from tests.harness import AE, Harness  # noqa: E402

UTC = timezone.utc
ZONES = ("Europe/Berlin", "Europe/Paris", "Europe/Rome")  # 09:00 local is 08:00 UTC in all three
MONDAY_9 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def digest_run(kind: str, managers: int) -> list[str]:
    fake = FakeSlack().start()
    skip_content_checks()  # the Block Kit checks cost the fake more CPU than the app spends
    clock.set_now(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    h = Harness(fake, fresh_database(kind))
    try:
        h.person(AE)
        for i in range(20):
            h.expert(f"U0EX{i:03d}")
        for i in range(200):  # the week before: 200 requests, most of them claimed
            clock.set_now(datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(minutes=20 * i))
            h.submit_request(AE, open_first=False)
            if i % 4:
                h.click(f"U0EX{i % 20:03d}", Action.CLAIM, h.last_request().id)
        names = [f"U0MG{i:04d}" for i in range(managers)]
        with h.db.session() as session:
            for i, user in enumerate(names):
                fake.add_user(user, tz=ZONES[i % len(ZONES)], team_id="T0001")
                session.add(Person(team_id="T0001", slack_user_id=user, is_manager=True, is_expert=False,
                                   max_concurrent=3, tz=ZONES[i % len(ZONES)], tz_checked_at=MONDAY_9,
                                   created_at=MONDAY_9, updated_at=MONDAY_9))
        fake.clear_calls()
        clock.set_now(MONDAY_9)
        other = build_deps(h.settings)  # a second scheduler, run right after
        started = time.perf_counter()
        sent = digest_flow.send_weekly_digests(h.deps)
        took = time.perf_counter() - started
        again = digest_flow.send_weekly_digests(other)
        other.close()
        h.drain()
        digests = [c for c in fake.calls_to("chat.postMessage") if str(c.params.get("text", "")).startswith("Pre-sales digest")]
        per_manager = {}
        for call in digests:
            per_manager[call.params["channel"]] = per_manager.get(call.params["channel"], 0) + 1
        messages = max(per_manager.values()) if per_manager else 0
        charts = len(fake.calls_to("files.completeUploadExternal"))
        reached = len(per_manager)
        once = all(v == messages for v in per_manager.values())
        return [kind, f"{managers}", f"{sent}", f"{reached}", "yes" if once else "NO", f"{charts}", f"{again}",
                f"{took:.1f} s", f"{took / max(1, sent) * 1000:.0f} ms"]
    finally:
        h.close()
        fake.stop()
        clock.set_now(None)


def home_run(kind: str, watchers: int) -> list[str]:
    fake = FakeSlack().start()
    skip_content_checks()
    clock.set_now(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    h = Harness(fake, fresh_database(kind), fanout_limit=watchers)
    try:
        h.person(AE)
        experts = [h.expert(f"U0EX{i:03d}") for i in range(watchers)]
        h.expert("U0LATE", "security:expert")
        h.submit_request(AE)
        request = h.last_request()
        h.submit_request(AE, skills=("security",))
        other_request = h.last_request()
        with h.db.session() as session:
            for person in session.query(Person).filter(Person.slack_user_id.in_(experts + [AE])):
                home.seen(session, person=person, now=clock.now() - timedelta(hours=1))
        quiet = [h.click("U0LATE", Action.DECLINE, other_request.id).elapsed for _ in range(5)]
        fake.clear_calls()
        started = time.perf_counter()
        h.click(experts[0], Action.CLAIM, request.id, drain=False)
        busy = []
        while h.deps.work.pending and len(busy) < 5:  # clicks while the lane works through the Homes
            busy.append(h.click("U0LATE", Action.DECLINE, other_request.id, drain=False).elapsed)
        h.drain(600)
        took = time.perf_counter() - started
        published = len(fake.calls_to("views.publish"))
        tier = parse_pace(DEFAULT_PACE)["views.publish"]
        paced_s = max(0.0, (published - tier.burst) / tier.per_second)
        return [kind, f"{watchers}", f"{published}", f"{took:.1f} s", f"{took / max(1, published) * 1000:.0f} ms",
                f"{paced_s / 60:.1f} min", f"{statistics.median(quiet) * 1000:.0f} ms",
                f"{(statistics.median(busy) * 1000) if busy else 0:.0f} ms ({len(busy)})"]
    finally:
        h.close()
        fake.stop()
        clock.set_now(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=300)
    parser.add_argument("--watchers", type=int, default=500)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    args = parser.parse_args(argv)
    rows = per_database(args.only, "digest Monday", lambda kind: digest_run(kind, args.managers))
    print(table(f"Weekly digest for {args.managers} managers, one run at Monday 09:00 local (RELIABILITY 57)",
                ["db", "managers", "sent", "DMed", "same count each", "charts", "2nd scheduler sent", "run took",
                 "per manager"], rows))
    rows = per_database(args.only, "Home refresh", lambda kind: home_run(kind, args.watchers))
    print(table(f"App Home refresh for {args.watchers} watchers after one claim (RELIABILITY 56)",
                ["db", "watchers", "views.publish", "lane done in (unpaced)", "per Home", "at Tier 4 (paced)",
                 "click ack, quiet", "click ack, lane busy (n)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
