"""Fan-out wall time: from the request modal's submission to every expert's DM at Slack.

The production server broadcasts a new request to N matching experts (10, 50, 200) while
the fake Slack adds 50 ms to every Web API call. Each size is submitted twice: first with
the experts' profiles never fetched (the broadcast asks users.info for each timezone), then
again with them cached (steady state). The baseline posts the same DM to the same N users
with the same slack_sdk client, one call after another. Targets: 200 experts within 3 s and
at least 4x faster than sequential.

    python -m bench.fanout [--experts 10,50,200] [--latency 0.05] [--workers 2] ...
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.common import (
    SECRET, TEAM, ServerConfig, Stack, add_server_options, contract_notes, dm_counter, host, say, server_config,
    settle, submit_request, table, users, wait_for_calls,
)
from tests.fakes.signing import SlackDriver

TARGET_SECONDS_200 = 3.0
TARGET_SPEEDUP = 4.0


@dataclass
class Broadcast:
    seconds: float  # submission sent -> last DM answered by the fake
    ack_ms: float  # the submission's own HTTP answer
    profile_calls: int  # users.info calls made for it
    sample: dict[str, Any]  # one DM's arguments (text, blocks) for the sequential baseline


@dataclass
class Row:
    experts: int
    cold: list[Broadcast]
    warm: list[Broadcast]
    sequential: float

    @staticmethod
    def median(runs: list[Broadcast]) -> Broadcast:
        return sorted(runs, key=lambda b: b.seconds)[len(runs) // 2]

    @staticmethod
    def spread(runs: list[Broadcast]) -> str:
        seconds = [b.seconds for b in runs]
        median = Row.median(runs).seconds
        return f"{median:.2f}" if len(seconds) == 1 else f"{median:.2f} ({min(seconds):.2f}-{max(seconds):.2f})"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", default="10,50,200", help="expert counts, comma-separated (default 10,50,200)")
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack latency per call, s (default 0.05)")
    parser.add_argument("--fanout-limit", type=int, default=500, help="PRESALES_FANOUT_LIMIT (default 500)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="broadcasts per size and state; the median is reported (default 3)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="give up waiting for the DMs after s (default 120)")
    add_server_options(parser)
    return parser.parse_args(argv)


def _broadcast(stack: Stack, driver: SlackDriver, requester: str, skill: str, experts: list[str],
               timeout: float) -> Broadcast:
    settle(stack.fake, quiet=0.3)
    started = time.monotonic()
    reply = submit_request(driver, requester, skill)
    if not reply.ok or (isinstance(reply.json, dict) and reply.json.get("response_action")):
        raise RuntimeError(f"the request modal was not accepted: HTTP {reply.status} {reply.body[:300]}")
    dms, finished = wait_for_calls(stack.fake, dm_counter(stack.fake, experts, started), count=len(experts),
                                   timeout=timeout)
    if finished is None:
        raise RuntimeError(f"only {len(dms)} of {len(experts)} DMs arrived within {timeout:g}s")
    seconds = finished - started
    profile_calls = sum(1 for c in stack.fake.calls_to("users.info") if c.at >= started)
    params = dms[-1].params
    sample = {k: params[k] for k in ("text", "blocks") if k in params}
    return Broadcast(seconds, reply.elapsed * 1000, profile_calls, sample)


def _sequential(stack: Stack, experts: list[str], sample: dict[str, Any]) -> float:
    """The same DM to the same people with the app's own client factory, one at a time."""
    from bot.config import load_settings
    from bot.slack.client import make_client

    client = make_client(load_settings(stack.env(), env_file=None))
    settle(stack.fake, quiet=0.3)
    started = time.monotonic()
    for user in experts:
        client.chat_postMessage(channel=user, unfurl_links=False, unfurl_media=False, **sample)
    return time.monotonic() - started


def run(args: argparse.Namespace) -> str:
    sizes = [int(x) for x in args.experts.split(",") if x.strip()]
    config = server_config(args, PRESALES_FANOUT_LIMIT=str(max(args.fanout_limit, *sizes)))
    rows: list[Row] = []
    with Stack(latency=args.latency, server=config, keep=args.keep, strict_fake=args.strict_fake) as stack:
        (requester,) = stack.seed_people(["U0AE0001"])
        repeat = max(1, args.repeat)
        groups: list[list[tuple[str, list[str]]]] = []  # per size: (skill, experts) for each attempt
        for index, size in enumerate(sizes):
            groups.append([])
            for attempt in range(repeat):  # a fresh group per cold broadcast: nobody's profile cached
                skill = f"fanout{size}x{index}r{attempt}"
                members = users(f"F{chr(65 + index)}{attempt}", size)
                groups[index].append((skill, stack.seed_experts(members, f"{skill}:expert", warm_profiles=False)))
        say(f"fanout: seeded {sum(sizes) * repeat} experts in {len(sizes) * repeat} disjoint groups")
        server = stack.start()
        driver = SlackDriver(server.url, SECRET, team_id=TEAM, fake=stack.fake)
        try:
            for size, attempts in zip(sizes, groups):
                say(f"fanout: {size} experts, {repeat} x cold profiles then {repeat} x warm")
                cold = [_broadcast(stack, driver, requester, skill, members, args.timeout)
                        for skill, members in attempts]
                skill, members = attempts[0]
                warm = [_broadcast(stack, driver, requester, skill, members, args.timeout) for _ in range(repeat)]
                say(f"fanout: {size} DMs one after another")
                rows.append(Row(size, cold, warm, _sequential(stack, members, warm[0].sample)))
        finally:
            server.stop()
        notes = contract_notes(stack.fake)
    return _report(rows, config, args, notes)


def _report(rows: list[Row], config: ServerConfig, args: argparse.Namespace, extra: list[str]) -> str:
    body = []
    for r in rows:
        cold, warm = Row.median(r.cold), Row.median(r.warm)
        body.append([r.experts, Row.spread(r.cold), Row.spread(r.warm), f"{r.sequential:.2f}",
                     f"{r.sequential / cold.seconds:.1f}x", f"{r.sequential / warm.seconds:.1f}x",
                     f"{cold.profile_calls}/{warm.profile_calls}", f"{cold.ack_ms:.0f}/{warm.ack_ms:.0f}"])
    runs = f"median of {len(rows[0].warm)} (min-max)" if rows and len(rows[0].warm) > 1 else "one run"
    notes = [f"{config.describe()}, SQLite (WAL), fake Slack latency {args.latency * 1000:.0f} ms per call; "
             f"{host()}",
             f"product s = submission sent -> last DM answered by the fake, {runs}; cold = expert timezones not "
             "cached (users.info first), warm = cached; sequential = the same DM with the same client, one call "
             "at a time"]
    big = next((r for r in rows if r.experts == 200), None)
    if big:
        cold, warm = Row.median(big.cold).seconds, Row.median(big.warm).seconds
        for label, seconds in (("cold", cold), ("warm", warm)):
            speedup = big.sequential / seconds
            notes.append(f"200 experts, {label}: {seconds:.2f} s "
                         f"({'meets' if seconds <= TARGET_SECONDS_200 else 'misses'} the <= {TARGET_SECONDS_200:g} s "
                         f"target), {speedup:.1f}x faster than sequential "
                         f"({'meets' if speedup >= TARGET_SPEEDUP else 'misses'} the >= {TARGET_SPEEDUP:g}x target)")
    return table("Fan-out: request submitted -> all expert DMs at Slack",
                 ["experts", "product s (cold)", "product s (warm)", "sequential s", "speed-up (cold)",
                  "speed-up (warm)", "users.info calls cold/warm", "submit ack ms cold/warm"],
                 body, notes=notes + extra)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    print(run(parse_args(argv)))
    say(f"fanout: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
