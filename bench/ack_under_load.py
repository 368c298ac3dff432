"""Ack latency while broadcasts are in flight: does slow work leak into the ack path?

50 request modals are submitted at once, each matching 25 experts (1,250 DMs), with the
fake Slack adding 50 ms to every Web API call; at the same moment clients start sending
`/presales list` (or Claim clicks on other open requests) and keep going for ~10 s. The
acks are timed at the HTTP edge. Target: none slower than 1 s.

    python -m bench.ack_under_load [--actions list,claim] [--duration 10] [--concurrency 10] ...
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.common import (
    SECRET, TEAM, Load, LoadSpec, ServerConfig, Stack, Summary, add_server_options, contract_notes, dm_counter,
    host, ms, percentile, say, server_config, settle, submit_request, table, users, wait_for_calls,
)
from tests.fakes.signing import SlackDriver

ACTIONS = {"list": "/presales list", "claim": "Claim click"}


@dataclass
class Round:
    action: str
    summary: Summary
    throughput: float
    submit_ms: list[float] = field(default_factory=list)
    submit_errors: int = 0
    submit_error: str = ""  # the first rejected submission's answer
    broadcast_s: float | None = None  # first submission -> last of the DMs answered
    dms: int = 0
    expected_dms: int = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_under_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", default="list,claim", help="what to time: list,claim (default both)")
    parser.add_argument("--broadcasts", type=int, default=50, help="request modals submitted at once (default 50)")
    parser.add_argument("--experts", type=int, default=25, help="experts each request matches (default 25)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of timed acks per action (default 10)")
    parser.add_argument("--concurrency", type=int, default=10, help="clients sending the timed requests (default 10)")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack latency per call, s (default 0.05)")
    parser.add_argument("--drain", type=float, default=20.0,
                        help="after the timed window, wait at most this long for the last DMs (default 20)")
    add_server_options(parser)
    return parser.parse_args(argv)


def _round(stack: Stack, url: str, action: str, args: argparse.Namespace, aes: list[str], experts: list[str],
           claims: list[tuple[int, str]]) -> Round:
    settle(stack.fake, quiet=0.3, timeout=120)  # the previous round's tail is over
    start_at = time.monotonic() + 2.0  # the load process starts and warms up meanwhile
    spec = LoadSpec(url=url, fake_base=stack.fake.base_url, concurrency=args.concurrency, duration=args.duration,
                    warmup=2 * args.concurrency, start_at=start_at,
                    kind="command" if action == "list" else "action")
    if action == "list":
        spec.users, spec.text = aes, "list"
    else:
        spec.users = [u for _, u in claims]
        spec.values = [str(r) for r, _ in claims]
    load = Load(spec)
    driver = SlackDriver(url, SECRET, team_id=TEAM, fake=stack.fake)
    expected = args.broadcasts * len(experts)
    done: dict[str, float] = {}

    def wait_for_dms() -> None:
        _, finished = wait_for_calls(stack.fake, dm_counter(stack.fake, experts, start_at), count=expected,
                                     timeout=args.duration + args.drain, poll=0.05)
        if finished is not None:
            done["at"] = finished

    time.sleep(max(0.0, start_at - time.monotonic()))
    watcher = threading.Thread(target=wait_for_dms, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(max_workers=args.broadcasts) as pool:
        replies = list(pool.map(lambda i: submit_request(driver, aes[i % len(aes)], "underload"),
                                range(args.broadcasts)))
    result = load.wait()
    watcher.join(timeout=args.duration + args.drain + 10)
    dms = sum(1 for c in stack.fake.calls if dm_counter(stack.fake, experts, start_at)(c))
    rejected = [r for r in replies if not r.ok or (isinstance(r.json, dict) and r.json)]
    return Round(action, Summary.of(result), result.throughput,
                 submit_ms=[r.elapsed * 1000 for r in replies], submit_errors=len(rejected),
                 submit_error=f"HTTP {rejected[0].status} {rejected[0].body[:160]}" if rejected else "",
                 broadcast_s=done["at"] - start_at if "at" in done else None, dms=dms, expected_dms=expected)


def run(args: argparse.Namespace) -> str:
    actions = [a for a in args.actions.split(",") if a in ACTIONS]
    config = server_config(args)
    rounds: list[Round] = []
    with Stack(latency=args.latency, server=config, keep=args.keep, strict_fake=args.strict_fake) as stack:
        aes = stack.seed_people(users("AE", 50))
        experts = stack.seed_experts(users("UL", args.experts), "underload:expert")
        claims: list[tuple[int, str]] = []
        if "claim" in actions:
            stack.seed_experts(users("CP", 3), "claimpool:expert")
            pool_size = int(args.duration * args.concurrency * 12)  # clicks wrap around if they run out
            say(f"ack_under_load: seeding {pool_size} open requests to click Claim on")
            claims = stack.seed_requests(pool_size, requesters=aes, skill="claimpool", offers=3)
        server = stack.start()
        try:
            for action in actions:
                say(f"ack_under_load: {args.broadcasts} broadcasts x {args.experts} experts + "
                    f"{ACTIONS[action]} x{args.concurrency} for {args.duration:g}s")
                rounds.append(_round(stack, server.url, action, args, aes, experts, claims))
        finally:
            server.stop()
        extra = contract_notes(stack.fake)
    return _report(rounds, config, args, extra)


def _report(rounds: list[Round], config: ServerConfig, args: argparse.Namespace, extra: list[str]) -> str:
    body = [[ACTIONS[r.action], args.concurrency, r.summary.n, ms(r.summary.p50_ms), ms(r.summary.p99_ms),
             ms(r.summary.max_ms), r.summary.over_1s, r.summary.errors, f"{r.throughput:.0f}"] for r in rounds]
    notes = [f"{config.describe()}, SQLite (WAL), fake Slack latency {args.latency * 1000:.0f} ms per call; "
             f"{args.broadcasts} request modals submitted at t=0, each matching {args.experts} experts, while "
             f"{args.concurrency} clients send the timed requests for {args.duration:g} s (closed loop); {host()}"]
    for r in rounds:
        finished = (f"all {r.expected_dms} DMs at Slack {r.broadcast_s:.1f} s after the submissions"
                    if r.broadcast_s is not None
                    else f"only {r.dms} of {r.expected_dms} DMs at Slack {args.duration + args.drain:g} s after the "
                         "submissions")
        notes.append(f"{ACTIONS[r.action]} round: the {len(r.submit_ms)} submissions were acked in p50 "
                     f"{ms(percentile(r.submit_ms, 50))} / max {ms(max(r.submit_ms, default=float('nan')))} ms"
                     f"{f' ({r.submit_errors} not accepted)' if r.submit_errors else ''}; {finished}")
        if r.submit_error:
            notes.append(f"first submission not accepted: {r.submit_error}")
        verdict = "meets" if r.summary.over_1s == 0 and r.summary.errors == 0 else "misses"
        notes.append(f"{ACTIONS[r.action]}: {r.summary.over_1s} acks over 1 s ({verdict} the 'none' target)")
    return table("Ack latency while 50 broadcasts are in flight", ["timed request", "concurrency", "n", "p50 ms",
                                                                   "p99 ms", "max ms", ">1s count", "errors",
                                                                   "acks/s"], body, notes=notes + extra)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    print(run(parse_args(argv)))
    say(f"ack_under_load: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
