"""Soak: steady traffic against the two-web-process deployment; does any process's memory grow?

The deployment is the production shape (tests/topology/deployment.py): two
`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'` processes (WEB_CONCURRENCY workers each),
two `python -m bot scheduler` processes, PostgreSQL (scratch database `presales_bench_soak`;
SQLite when no server answers on 127.0.0.1:5432) and the fake Slack. For `--minutes` a
separate traffic process (bench/load_two_process.py's) sends, open loop, `--rate` requests per
second — `/presales`, the modal's submission, Claim clicks once the DMs are out — and a
`/presales list` every `--list-every` seconds. Every `--sample` seconds the resident memory
(VmRSS from /proc/<pid>/status) of every gunicorn master and worker and every scheduler is
recorded.

Reports per process: RSS at boot, after the warm-up, at the end, the maximum, and the growth
from after the warm-up to the end (target < 10%); plus the acks and that nothing was lost.

    python -m bench.soak --minutes 10          # the figure in the README
    python -m bench.soak --minutes 1           # smoke run
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load_two_process import SKILLS, losses, run_traffic, seed, summarize  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the traffic runs (default 10)")
    p.add_argument("--rate", type=float, default=0.5, help="requests per second (default 0.5)")
    p.add_argument("--claimers", type=int, default=2, help="experts clicking Claim on each request (default 2)")
    p.add_argument("--list-every", type=float, default=2.0, help="a /presales list every N seconds (default 2)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples (default 10)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds before the growth baseline (default: 20%% of the run, at most 60)")
    p.add_argument("--experts", type=int, default=20, help="experts over 4 skills, capacity 50 each (default 20)")
    p.add_argument("--aes", type=int, default=10)
    p.add_argument("--database", choices=("auto", "postgresql", "sqlite"), default="auto")
    p.add_argument("--web-concurrency", type=int, default=2)
    p.add_argument("--latency", type=float, default=0.003, help="fake Slack latency per call, s (default 0.003)")
    p.add_argument("--strict-fake", action="store_true", help="keep the fake's Block Kit checks on (CPU)")
    p.add_argument("--keep", action="store_true", help="keep logs (and the scratch database)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from bench.common import host, table
    from tests.procs import say
    from tests.topology.deployment import SECRET, TEAM, Config, Deployment, drop_database, pg_answers, rss_kb

    database = args.database
    if database == "auto":
        database = "postgresql" if pg_answers() else "sqlite"
    duration = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, 0.2 * duration)
    requests = max(1, int(round(args.rate * duration)))
    config = Config(database=database, db_name="presales_bench_soak", proxy=False, web_processes=2,
                    web_concurrency=args.web_concurrency, schedulers=2, fake_latency=args.latency, chaos=False,
                    strict_fake=args.strict_fake, keep=args.keep,
                    env={"PRESALES_SCHEDULER_INTERVAL": "2s"})  # the schedulers tick all along
    experts = [f"UEXP{i:03d}" for i in range(1, args.experts + 1)]
    aes = [f"UAE{i:03d}" for i in range(1, args.aes + 1)]
    dep = Deployment(config)
    samples: dict[str, list[tuple[float, int, int]]] = {}  # label -> [(t, pid, rss kB)]
    stop = threading.Event()
    try:
        say(f"soak: {args.minutes:g} min, {args.rate:g} requests/s, {database}; RSS every {args.sample:g}s, "
            f"growth measured from {warmup:.0f}s")
        dep.start()
        by_skill = seed(dep, experts, aes, SKILLS)
        dep.start_processes()
        t0 = time.monotonic()

        def sampler() -> None:
            while True:
                t = time.monotonic() - t0
                for label, pid in dep.processes().items():
                    rss = rss_kb(pid)
                    if rss is not None:
                        samples.setdefault(label, []).append((t, pid, rss))
                if stop.wait(args.sample):
                    return

        watcher = threading.Thread(target=sampler, daemon=True)
        watcher.start()
        spec = {
            "webs": [dep.web_url(i) for i in range(len(dep.webs))], "fake_base": dep.fake.base_url, "secret": SECRET,
            "team": TEAM, "database_url": dep.direct_url, "skills": list(SKILLS), "experts_by_skill": by_skill,
            "aes": aes, "requests": requests, "duration": duration, "claimers": args.claimers,
            "list_every": args.list_every, "prefix": "S" + str(int(time.time())),
        }
        result = run_traffic(spec, log=dep.tmp / "traffic.log")
        lost = losses(dep, result, len(by_skill[SKILLS[0]]), args.claimers)
        time.sleep(min(args.sample, 5))
        stop.set()
        watcher.join(15)
        for label, pid in dep.processes().items():  # one last sample, after the traffic
            rss = rss_kb(pid)
            if rss is not None:
                samples.setdefault(label, []).append((time.monotonic() - t0, pid, rss))
        exited = [p.name for p in [*dep.webs, *dep.schedulers] if not p.alive()]
        violations = list(dep.fake.violations)
    finally:
        stop.set()
        dep.close()
        if database == "postgresql" and not args.keep:
            drop_database(config.db_name)

    rows = []
    worst = 0.0
    for label, points in samples.items():
        pids = {p for _, p, _ in points}
        boot = points[0][2]
        after = next((rss for t, _, rss in points if t >= warmup), points[-1][2])
        end = points[-1][2]
        peak = max(rss for _, _, rss in points)
        growth = (end - after) / after * 100 if after else 0.0
        worst = max(worst, growth)
        rows.append([label + (" (restarted)" if len(pids) > 1 else ""), len(points), f"{boot / 1024:.1f}",
                     f"{after / 1024:.1f}", f"{end / 1024:.1f}", f"{peak / 1024:.1f}", f"{growth:+.1f}%"])
    acks = summarize(result["samples"], ("command", "submission", "click", "list"))
    minute = [s for s in result["samples"] if s[2] < 60]
    last = [s for s in result["samples"] if s[2] >= max(0.0, duration - 60)]
    first_p99 = summarize(minute, ("command", "submission", "click", "list"))["p99"]
    last_p99 = summarize(last, ("command", "submission", "click", "list"))["p99"]
    ok_lost = lost["stored"] == lost["submitted"] == lost["broadcast"] == lost["claimed"]
    notes = [
        f"growth = end vs after the warm-up ({warmup:.0f} s); worst {worst:+.1f}% (target < 10%) -> "
        f"{'met' if worst < 10 else 'NOT met'}",
        f"traffic: {requests} requests in {duration / 60:g} min ({args.rate:g}/s: /presales, the submission, "
        f"{args.claimers} Claim clicks each) + /presales list every {args.list_every:g} s; {lost['dms']} DMs",
        f"acks: {acks['n']} · p50 {acks['p50']:.0f} ms · p99 {acks['p99']:.0f} ms (first minute {first_p99:.0f}, "
        f"last minute {last_p99:.0f}) · max {acks['max']:.0f} ms · over 1 s {acks['over_1s']} · errors {acks['errors']}",
        f"none lost: {lost['stored']}/{lost['submitted']} stored, {lost['broadcast']} broadcast, {lost['claimed']} "
        f"claimed, {lost['told']}/{lost['told_expected']} told 'already claimed' -> {'met' if ok_lost else 'NOT met'}",
        f"production shape: 2 × gunicorn (WEB_CONCURRENCY={args.web_concurrency}) + 2 × scheduler, {database}; "
        f"fake Slack {args.latency * 1000:.0f} ms per call, Block Kit checks {'on' if args.strict_fake else 'off'}",
        host(),
    ]
    if exited:
        notes.append(f"processes that exited during the soak: {', '.join(exited)}")
    if violations:
        notes.append(f"fake Slack recorded {len(violations)} contract violation(s), first: {violations[0][:160]}")
    print(table(f"Resident memory over a {args.minutes:g}-minute soak (MiB, VmRSS)",
                ["process", "samples", "boot", f"after {warmup:.0f} s", "end", "max", "growth"], rows, notes=notes))
    return 0 if worst < 10 and ok_lost and not exited else 1


if __name__ == "__main__":
    sys.exit(main())
