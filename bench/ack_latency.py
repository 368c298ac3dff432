"""Ack latency of `/presales` (opens the request modal) and of a Claim click, at the HTTP edge.

The production app and a bare Bolt app that only acks (bench/bare_app.py) run under the
same gunicorn config; the same Slack-signed requests are sent to both. Slack wants the 2xx
within 3 s; the target is p99(product) <= 1.3 x p99(bare) at 50 concurrent requests.

Two load shapes:
- closed loop: 1, 10, 50 clients each keep one request in flight (sustained saturation:
  latency = clients / throughput once the server is CPU- or lock-bound);
- bursts: 50 requests sent at the same moment, all answered; the next wave once the app's
  post-ack work is done (a peak such as a whole team clicking at once, on an idle server).

For `/presales` the notes also say how long after the command views.open reached Slack
(a trigger_id is usable for ~3 s), taken from the fake's call log.

    python -m bench.ack_latency [--concurrency 1,10,50] [--burst 50] [--requests 150] ...
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from bench.common import (
    BARE_APP, PRODUCT_APP, LoadResult, LoadSpec, Sample, ServerConfig, Stack, Summary, add_server_options,
    contract_notes, host, ms, percentile, run_load, say, server_config, settle, table, users,
)

SCENARIOS = {"command": "/presales (modal)", "claim": "Claim click"}
APPS = {"product": "product", "bare": "bare Bolt"}
TARGET_RATIO = 1.3


@dataclass
class Level:
    mode: str  # "closed" | "burst"
    concurrency: int
    count: int
    warmup: int


@dataclass
class Row:
    app: str
    scenario: str
    level: Level
    summary: Summary
    throughput: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,10,50",
                        help="closed-loop client counts, comma-separated; empty to skip (default 1,10,50)")
    parser.add_argument("--requests", type=int, default=150,
                        help="measured requests per closed-loop level, at least 6 x clients (default 150)")
    parser.add_argument("--burst", default="50", help="burst sizes, comma-separated; empty to skip (default 50)")
    parser.add_argument("--burst-requests", type=int, default=200,
                        help="measured requests per burst size, whole waves after a warm-up wave (default 200)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="unmeasured requests before each closed-loop level, at least one per client (default 20)")
    parser.add_argument("--scenarios", default="command,claim", help="command,claim (default both)")
    parser.add_argument("--apps", default="product,bare", help="product,bare (default both)")
    parser.add_argument("--latency", type=float, default=0.0, help="fake Slack latency per Web API call, s (default 0)")
    add_server_options(parser)
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(x) for x in (text or "").split(",") if x.strip()]


def _levels(args: argparse.Namespace) -> list[Level]:
    levels = [Level("closed", c, max(args.requests, 6 * c), max(args.warmup, c)) for c in _ints(args.concurrency)]
    levels += [Level("burst", c, max(args.burst_requests, c), c) for c in _ints(args.burst)]
    return levels


def _views_open_note(stack: Stack, result: LoadResult) -> str:
    """How long after each measured command its views.open reached the fake."""
    opened = {str(c.params.get("trigger_id")): c.at for c in stack.fake.calls_to("views.open")}
    delays = [opened[s.key] - s.sent for s in result.samples if s.key in opened]
    missing = sum(1 for s in result.samples if s.key not in opened)
    if not delays:
        return f"views.open never called for {missing} command(s)"
    late = sum(1 for d in delays if d > 3.0)
    note = (f"views.open reached Slack p50 {ms(percentile(delays, 50) * 1000)} / p99 "
            f"{ms(percentile(delays, 99) * 1000)} / max {ms(max(delays) * 1000)} ms after the command; "
            f"{late} later than 3 s (expired trigger_id)")
    return note + (f"; {missing} command(s) never opened the modal" if missing else "")


def _load(stack: Stack, url: str, scenario: str, level: Level, aes: list[str],
          claims: list[tuple[int, str]]) -> LoadResult:
    """One level. Closed loop: one load run. Bursts: one run per wave (the first one a warm-up),
    each wave sent once the app has made no Slack call for 0.3 s, i.e. from an idle app."""

    def spec(count: int, warmup: int, batch: list[tuple[int, str]], mode: str) -> LoadSpec:
        out = LoadSpec(url=url, fake_base=stack.fake.base_url, mode=mode, concurrency=level.concurrency,
                       count=count, warmup=warmup, pause=0.0, kind="command" if scenario == "command" else "action")
        if scenario == "command":
            out.users = aes
        else:
            out.users = [u for _, u in batch]
            out.values = [str(r) for r, _ in batch]
        return out

    if level.mode == "closed":
        return run_load(spec(level.count, level.warmup, claims, "closed"))
    samples: list[Sample] = []
    wall = 0.0
    size = level.concurrency
    for wave in range(1 + -(-level.count // size)):
        settle(stack.fake, quiet=0.3, timeout=60)
        result = run_load(spec(size, 0, claims[wave * size:(wave + 1) * size], "burst"))
        if wave:  # wave 0 warms the app up
            samples += result.samples
            wall += result.wall
    return LoadResult(samples, wall)


def run(args: argparse.Namespace) -> str:
    levels = _levels(args)
    scenarios = [s for s in args.scenarios.split(",") if s in SCENARIOS]
    apps = [a for a in args.apps.split(",") if a in APPS]
    config = server_config(args)
    rows: list[Row] = []
    notes: list[str] = []
    with Stack(latency=args.latency, server=config, keep=args.keep, strict_fake=args.strict_fake) as stack:
        aes = stack.seed_people(users("AE", 50))
        experts = stack.seed_experts(users("EX", 20), "kubernetes:expert")
        sizes = [lv.count + lv.warmup + lv.concurrency for lv in levels]
        per_app = sum(sizes) if "claim" in scenarios else 0
        say(f"ack_latency: seeding {len(experts)} experts and {per_app} open requests with offers")
        claims = stack.seed_requests(per_app, requesters=aes, skill="kubernetes", offers=3) if per_app else []
        for app in apps:
            server = stack.start(PRODUCT_APP if app == "product" else BARE_APP)
            try:
                for scenario in scenarios:
                    offset = 0  # every Claim clicks a request nobody clicked before
                    for level, size in zip(levels, sizes):
                        batch = claims[offset:offset + size]
                        offset += size
                        say(f"ack_latency: {app} {scenario} {level.mode} x{level.concurrency} "
                            f"({level.warmup} warm-up + {level.count})")
                        began = time.monotonic()
                        result = _load(stack, server.url, scenario, level, aes, batch)
                        rows.append(Row(app, scenario, level, Summary.of(result), result.throughput))
                        loaded = time.monotonic()
                        settle(stack.fake, timeout=60)  # the next level starts with the app idle
                        say(f"ack_latency:   {loaded - began:.1f}s, then {time.monotonic() - loaded:.1f}s "
                            "until the app's post-ack work was done")
                        if app == "product" and scenario == "command":
                            notes.append(f"/presales {level.mode} x{level.concurrency}: "
                                         + _views_open_note(stack, result))
            finally:
                server.stop()
        notes += contract_notes(stack.fake)
    return _report(rows, notes, config, args)


def _ratio_notes(rows: list[Row], mode: str) -> list[str]:
    out = []
    top = max((r.level.concurrency for r in rows if r.level.mode == mode), default=0)
    for scenario, label in SCENARIOS.items():
        pick = {r.app: r for r in rows
                if r.scenario == scenario and r.level.mode == mode and r.level.concurrency == top}
        if "product" in pick and "bare" in pick and pick["bare"].summary.p99_ms > 0:
            ratio = pick["product"].summary.p99_ms / pick["bare"].summary.p99_ms
            verdict = "meets" if ratio <= TARGET_RATIO else "misses"
            out.append(f"p99(product)/p99(bare), {label}, {mode} x{top}: {ratio:.2f} "
                       f"({verdict} the <= {TARGET_RATIO} target)")
    return out


def _report(rows: list[Row], notes: list[str], config: ServerConfig, args: argparse.Namespace) -> str:
    setup = (f"{config.describe()}, SQLite (WAL), fake Slack latency {args.latency * 1000:.0f} ms per call; "
             f"latency = time until the HTTP answer arrived at the client; {host()}")
    out = []
    for mode, title in (("closed", "Ack latency, closed loop (N clients, one request in flight each)"),
                        ("burst", "Ack latency, bursts (N requests at once, each wave sent to an idle app)")):
        selected = [r for r in rows if r.level.mode == mode]
        if not selected:
            continue
        selected.sort(key=lambda r: (list(SCENARIOS).index(r.scenario), r.level.concurrency, r.app != "product"))
        body = [[f"{SCENARIOS[r.scenario]}: {APPS[r.app]}", r.level.concurrency, r.summary.n, ms(r.summary.p50_ms),
                 ms(r.summary.p99_ms), ms(r.summary.max_ms), r.summary.over_1s, r.summary.errors,
                 f"{r.throughput:.0f}" if mode == "closed" else "-"] for r in selected]
        mode_notes = _ratio_notes(rows, mode) + [n for n in notes if n.startswith(f"/presales {mode} ")]
        out.append(table(title, ["scenario", "concurrency", "n", "p50 ms", "p99 ms", "max ms", ">1s count",
                                 "errors", "acks/s"], body, notes=mode_notes))
    other = [n for n in notes if not n.startswith("/presales ")]
    return "\n".join(out) + "\n".join(f"- {n}" for n in [setup, *other]) + "\n"


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    print(run(parse_args(argv)))
    say(f"ack_latency: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
