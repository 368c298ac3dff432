"""Load on the two-web-process deployment: 200 `/presales` submissions in 60 s plus their claims.

The deployment is the production shape (tests/topology/deployment.py): two
`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'` processes (WEB_CONCURRENCY workers each),
two `python -m bot scheduler` processes, PostgreSQL (a scratch database `presales_bench_load`;
SQLite when no server answers on 127.0.0.1:5432, or with --database sqlite) and the fake
Slack. A separate traffic process (this module with --worker, so the fake's CPU does not skew
the timings) sends, open loop, one request every 60/200 s: `/presales` to one web process, the
request modal's submission to the other, then — once the request is stored and its DMs are out —
Claim clicks from `--claimers` of the experts it was offered to, spread over both. Each ack is
timed at the HTTP edge.

The same traffic then runs against a bare Bolt app that only acks (bench/bare_app.py plus an
ack for view submissions), served the same way (two gunicorn processes, same config and env):
the p99 ratio says what the product's own code path costs.

Reports p50/p99/max per kind, acks over 1 s (target none), losses (every submission stored,
broadcast to every matched expert, claimed once; target none) and p99(product) / p99(bare)
(target <= 1.3).

    python -m bench.load_two_process [--requests 200] [--seconds 60] [--claimers 3] [--database auto]
"""

from __future__ import annotations

# Module-level imports stay light: gunicorn imports this module for create_bare_app().
import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REQUEST_MODAL = "request_modal"
CLAIM = "offer_claim"
SKILLS = ("kubernetes", "security", "data", "networking")


def create_bare_app():
    """gunicorn factory: bench/bare_app.py (acks /presales and every block action) plus an ack
    for every view submission, so the comparison gets the same three kinds of request."""
    import re

    from bench.bare_app import _ack, create_app

    web = create_app()
    web.bolt.view(re.compile(".*"))(_ack)
    return web


# --------------------------------------------------------------------------------------
# the traffic process
# --------------------------------------------------------------------------------------


def traffic(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop: request i starts at t0 + i * duration / requests, whatever the others do."""
    from bench.common import request_values
    from bench.loadgen import BenchDriver

    drivers = [BenchDriver(url, spec["secret"], fake_base=spec["fake_base"], team_id=spec["team"])
               for url in spec["webs"]]
    engine = None
    if spec.get("database_url"):
        from sqlalchemy import create_engine

        from bot.db import normalize_url

        engine = create_engine(normalize_url(spec["database_url"]), pool_size=20, max_overflow=20)
    lock = threading.Lock()
    samples: list[list[Any]] = []  # [kind, web, sent (s after t0), elapsed, status]
    outcomes: dict[int, dict[str, Any]] = {}
    timeout = float(spec.get("timeout", 10.0))
    t0 = time.monotonic() + 0.5

    def sample(kind: str, web: int, sent: float, reply: Any) -> Any:
        with lock:
            samples.append([kind, web, sent - t0, reply.elapsed, reply.status])
        return reply

    def send(kind: str, web: int, fn, *args, **kwargs) -> Any:
        sent = time.monotonic()
        try:
            reply = fn(*args, timeout=timeout, **kwargs)
        except Exception:  # timeout, refused, reset: counted as status 0
            with lock:
                samples.append([kind, web, sent - t0, time.monotonic() - sent, 0])
            return None
        return sample(kind, web, sent, reply)

    def query(sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with engine.connect() as conn:  # type: ignore[union-attr]
            return list(conn.execute(text(sql), params))

    def poll(fn, limit: float) -> Any:
        deadline = time.monotonic() + limit
        while True:
            value = fn()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def one(i: int) -> None:
        n_webs = len(drivers)
        web = i % n_webs
        ae = spec["aes"][i % len(spec["aes"])]
        skill = spec["skills"][i % len(spec["skills"])]
        view_id = f"VL{spec['prefix']}{i:05d}"
        outcome: dict[str, Any] = {"view_id": view_id, "request_id": None, "clicked": []}
        outcomes[i] = outcome
        send("command", web, drivers[web].command, ae, "", channel_id="C0DEAL")
        time.sleep(spec.get("think", 0.3))  # the AE fills in the form
        other = (web + 1) % n_webs
        send("submission", other, drivers[other].submit_view, ae, REQUEST_MODAL, request_values(skills=[skill]),
             view_id=view_id, private_metadata=json.dumps({"c": "C0DEAL"}))
        claimers = int(spec["claimers"])
        if engine is not None:
            found = poll(lambda: query("SELECT id FROM requests WHERE source_key = :k", k=view_id), 30)
            if not found:
                return
            request_id = found[0][0]
            def offered() -> list[Any] | None:  # every matched expert's DM is out (or failed)
                total, waiting = query(
                    "SELECT count(*), sum(CASE WHEN ts IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END) FROM offers "
                    "WHERE request_id = :r AND rank > 0", r=request_id)[0]
                if not total or waiting:
                    return None
                return query("SELECT p.slack_user_id FROM offers o JOIN people p ON p.id = o.expert_id "
                             "WHERE o.request_id = :r AND o.ts IS NOT NULL ORDER BY o.rank", r=request_id)

            offered_rows = poll(offered, 30) or []
            users = [row[0] for row in offered_rows][:claimers]
        else:
            request_id = i + 1
            time.sleep(0.3)  # about when the DMs would be out
            users = spec["experts_by_skill"][skill][:claimers]
        outcome["request_id"] = request_id
        outcome["clicked"] = users
        clicks = [threading.Thread(target=send, args=("click", k % n_webs, drivers[k % n_webs].action, user, CLAIM,
                                                      str(request_id)),
                                   kwargs={"block_id": "offer_actions", "channel_id": "D" + user[1:]}, daemon=True)
                  for k, user in enumerate(users)]
        for t in clicks:
            t.start()
        for t in clicks:
            t.join(timeout * 2)

    stop = threading.Event()

    def lists() -> None:
        k = 0
        every = float(spec.get("list_every") or 0)
        while every and not stop.wait(every):
            web = k % len(drivers)
            send("list", web, drivers[web].command, spec["aes"][k % len(spec["aes"])], "list", channel_id="C0DEAL")
            k += 1

    lister = threading.Thread(target=lists, daemon=True)
    lister.start()
    threads = []
    interval = float(spec["duration"]) / max(1, int(spec["requests"]))
    for i in range(int(spec["requests"])):
        delay = t0 + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(i,), daemon=True)
        t.start()
        threads.append(t)
    last_start = time.monotonic() - t0
    for t in threads:
        t.join(120)
    stop.set()
    lister.join(5)
    if engine is not None:
        engine.dispose()
    return {"samples": samples, "outcomes": {str(k): v for k, v in outcomes.items()}, "last_start": last_start,
            "wall": time.monotonic() - t0}


def run_traffic(spec: dict[str, Any], *, log: Path | None = None) -> dict[str, Any]:
    """Run :func:`traffic` in its own process (python -m bench.load_two_process --worker)."""
    import subprocess

    from tests.procs import kill_process, track

    err = open(log, "ab") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen([sys.executable, "-m", "bench.load_two_process", "--worker"], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        track(proc)
        try:
            out, _ = proc.communicate(json.dumps(spec).encode(), timeout=float(spec["duration"]) + 300)
        finally:
            kill_process(proc, grace=0.5)
    finally:
        if log:
            err.close()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log else ""
        raise RuntimeError(f"traffic process failed ({proc.returncode}):\n{tail}")
    return json.loads(out)


# --------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load_two_process", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--seconds", type=float, default=60.0, help="the submissions are spread over this (default 60)")
    p.add_argument("--claimers", type=int, default=3, help="experts clicking Claim on each request (default 3)")
    p.add_argument("--experts", type=int, default=20, help="experts, spread over 4 skills (default 20)")
    p.add_argument("--aes", type=int, default=10)
    p.add_argument("--database", choices=("auto", "postgresql", "sqlite"), default="auto")
    p.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers per web process (default 2)")
    p.add_argument("--latency", type=float, default=0.003, help="fake Slack latency per call, s (default 0.003)")
    p.add_argument("--no-bare", action="store_true", help="skip the bare Bolt comparison")
    p.add_argument("--strict-fake", action="store_true", help="keep the fake's Block Kit checks on (CPU)")
    p.add_argument("--keep", action="store_true", help="keep logs (and the scratch database)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def summarize(samples: list[list[Any]], kinds: tuple[str, ...]) -> dict[str, Any]:
    from tests.procs import percentile

    lat = [s[3] for s in samples if s[0] in kinds]
    return {"n": len(lat), "p50": percentile(lat, 50) * 1000, "p99": percentile(lat, 99) * 1000,
            "max": max(lat, default=float("nan")) * 1000, "over_1s": sum(1 for x in lat if x > 1.0),
            "errors": sum(1 for s in samples if s[0] in kinds and not 200 <= s[4] < 300)}


def seed(dep, experts: list[str], aes: list[str], skills: tuple[str, ...]) -> dict[str, list[str]]:
    """Experts through `presales-bot directory import` (capacity 50, one skill each, round robin)."""
    from tests.topology.deployment import TEAM

    by_skill: dict[str, list[str]] = {s: [] for s in skills}
    for k, user in enumerate(experts):
        by_skill[skills[k % len(skills)]].append(user)
        dep.fake.add_user(user, tz="Europe/Berlin", team_id=TEAM)
    for user in aes:
        dep.fake.add_user(user, tz="America/New_York", team_id=TEAM)
    csv_path = dep.tmp / "experts.csv"
    csv_path.write_text("user,skills,max_concurrent,timezone\n" + "".join(
        f"{u},{skills[k % len(skills)]}:expert,50,Europe/Berlin\n" for k, u in enumerate(experts)))
    code, out = dep.run_cli("directory", "import", str(csv_path), "--team", TEAM)
    if code != 0:
        raise RuntimeError(f"directory import failed ({code}): {out[-2000:]}")
    return by_skill


def losses(dep, result: dict[str, Any], experts_per_skill: int, claimers: int, timeout: float = 60.0) -> dict[str, Any]:
    """Every submission stored, broadcast to every matched expert, claimed once, losers told."""
    from sqlalchemy import bindparam, text

    view_ids = [o["view_id"] for o in result["outcomes"].values()]
    deadline = time.monotonic() + timeout
    while True:
        with dep.db.engine.connect() as conn:
            rows = list(conn.execute(text(
                "SELECT r.id, r.status, r.status_ts, "
                "(SELECT count(*) FROM offers o WHERE o.request_id = r.id AND o.rank > 0) AS offers, "
                "(SELECT count(*) FROM offers o WHERE o.request_id = r.id AND o.rank > 0 AND o.ts IS NOT NULL) AS sent "
                "FROM requests r WHERE r.source_key IN :keys").bindparams(bindparam("keys", expanding=True)),
                {"keys": view_ids}))
        stored = len(rows)
        broadcast = sum(1 for r in rows if r.offers >= experts_per_skill and r.sent == r.offers and r.status_ts)
        claimed = sum(1 for r in rows if r.status == "claimed")
        done = stored == len(view_ids) and broadcast == stored and claimed == stored
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    told = sum(1 for payloads in list(dep.fake.responses.values()) for p in payloads
               if "already claimed by" in json.dumps(p))
    dms = sum(r.sent for r in rows)
    return {"submitted": len(view_ids), "stored": stored, "broadcast": broadcast, "claimed": claimed,
            "dms": dms, "told": told, "told_expected": stored * max(0, claimers - 1)}


def run_side(dep, app: str, args: argparse.Namespace, by_skill: dict[str, list[str]], aes: list[str],
             label: str) -> dict[str, Any]:
    from tests.procs import say
    from tests.topology.deployment import SECRET, TEAM

    dep.config.app = app
    dep.config.schedulers = 2 if app == "bot.web:create_app()" else 0
    dep.start_processes()
    say(f"{label}: {len(dep.webs)} web processes up ({', '.join(dep.processes())}); sending "
        f"{args.requests} requests over {args.seconds:.0f}s")
    spec = {
        "webs": [dep.web_url(i) for i in range(len(dep.webs))], "fake_base": dep.fake.base_url, "secret": SECRET,
        "team": TEAM, "database_url": dep.direct_url if app == "bot.web:create_app()" else None,
        "skills": list(SKILLS), "experts_by_skill": by_skill, "aes": aes, "requests": args.requests,
        "duration": args.seconds, "claimers": args.claimers, "prefix": label[:1].upper() + str(int(time.time())),
    }
    try:
        result = run_traffic(spec, log=dep.tmp / f"traffic-{label}.log")
        if app == "bot.web:create_app()":
            result["losses"] = losses(dep, result, len(by_skill[SKILLS[0]]), args.claimers)
    finally:
        dep.stop_processes()
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        json.dump(traffic(json.loads(sys.stdin.read())), sys.stdout)
        return 0
    from tests.procs import say
    from tests.topology.deployment import Config, Deployment, drop_database, pg_answers
    from bench.common import host, table

    database = args.database
    if database == "auto":
        database = "postgresql" if pg_answers() else "sqlite"
    config = Config(database=database, db_name="presales_bench_load", proxy=False, web_processes=2,
                    web_concurrency=args.web_concurrency, schedulers=2, fake_latency=args.latency, chaos=False,
                    strict_fake=args.strict_fake, keep=args.keep)
    experts = [f"UEXP{i:03d}" for i in range(1, args.experts + 1)]
    aes = [f"UAE{i:03d}" for i in range(1, args.aes + 1)]
    dep = Deployment(config)
    try:
        say(f"load_two_process: {database}, fake Slack latency {args.latency * 1000:.0f} ms")
        dep.start()
        by_skill = seed(dep, experts, aes, SKILLS)
        product = run_side(dep, "bot.web:create_app()", args, by_skill, aes, "product")
        bare = None if args.no_bare else run_side(dep, "bench.load_two_process:create_bare_app()", args, by_skill,
                                                  aes, "bare")
        violations = list(dep.fake.violations)
    finally:
        dep.close()
        if database == "postgresql" and not args.keep:
            drop_database(config.db_name)

    kinds = {"/presales (opens the modal)": ("command",), "request modal submission": ("submission",),
             "Claim click": ("click",), "all acks": ("command", "submission", "click")}
    rows = []
    ratio_all = float("nan")
    for name, ks in kinds.items():
        p = summarize(product["samples"], ks)
        b = summarize(bare["samples"], ks) if bare else None
        ratio = p["p99"] / b["p99"] if b and b["p99"] else float("nan")
        if ks == kinds["all acks"]:
            ratio_all = ratio
        rows.append([name, p["n"], f"{p['p50']:.0f} / {p['p99']:.0f} / {p['max']:.0f}",
                     f"{b['p50']:.0f} / {b['p99']:.0f} / {b['max']:.0f}" if b else "-",
                     f"{ratio:.2f}" if ratio == ratio else "-", p["over_1s"], p["errors"]])
    lost = product["losses"]
    window = product["last_start"]
    notes = [
        f"production shape: 2 × `gunicorn -c gunicorn.conf.py` (WEB_CONCURRENCY={args.web_concurrency}, gthread 16 "
        f"threads) + 2 × `python -m bot scheduler`, {database}; the bare app on the same 2 × gunicorn",
        f"open loop from a separate process: {args.requests} requests started within {window:.1f} s "
        f"(/presales on one web process, the submission on the other, then {args.claimers} Claim clicks per request "
        f"once its DMs are out); {len(experts)} experts, {len(experts) // len(SKILLS)} matched per request",
        f"none lost: {lost['stored']}/{lost['submitted']} stored, {lost['broadcast']} broadcast to every matched expert "
        f"({lost['dms']} DMs), {lost['claimed']} claimed, {lost['told']}/{lost['told_expected']} late clickers told "
        f"'already claimed' -> {'met' if lost['stored'] == lost['submitted'] == lost['broadcast'] == lost['claimed'] else 'NOT met'}",
        f"acks over 1 s (target none): {sum(r[5] for r in rows[:3])} -> "
        f"{'met' if sum(r[5] for r in rows[:3]) == 0 else 'NOT met'}",
        f"p99(product) / p99(bare), all acks: {ratio_all:.2f} (target <= 1.3) -> "
        f"{'met' if ratio_all <= 1.3 else 'NOT met'}" if bare else "bare comparison skipped",
        f"fake Slack latency {args.latency * 1000:.0f} ms per call; Block Kit checks "
        f"{'on' if args.strict_fake else 'off (their CPU is Slack-side work; --strict-fake turns them on)'}",
        host(),
    ]
    if violations:
        notes.append(f"fake Slack recorded {len(violations)} contract violation(s), first: {violations[0][:160]}")
    print(table("Ack latency, two web processes: 200 /presales + submissions in 60 s plus their claims",
                ["request", "n", "product p50 / p99 / max ms", "bare Bolt p50 / p99 / max ms", "p99 ratio",
                 "over 1 s", "errors"], rows, notes=notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
