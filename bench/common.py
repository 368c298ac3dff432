"""Shared pieces of the benchmarks: the fake Slack, real gunicorn servers, seeding, load, tables.

The stack under test is the production one: ``gunicorn -c gunicorn.conf.py 'bot.web:create_app()'``
as a real subprocess (gthread workers, settings from the environment) talking to the
``FakeSlack`` of the test suite over HTTP. The comparison app (``bench/bare_app.py``) is
served by the same gunicorn config. Load comes from a separate process (``bench/loadgen.py``)
so that the fake's own CPU work does not skew the timings taken at the HTTP edge.

Every subprocess started here is registered and killed on exit (``finally`` blocks plus an
``atexit`` hook and a SIGTERM handler), whatever happens in between.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` as well as `python -m bench.x`
    sys.path.insert(0, str(ROOT))

from tests.fakes.signing import SlackDriver, datetimepicker, plain_text_input, static_select  # noqa: E402
from tests.fakes.slack import FakeSlack, restore_content_checks, skip_content_checks  # noqa: E402
from tests.procs import db_upgrade, free_port, healthz, kill_process, percentile, popen, say, track  # noqa: E402, F401

TEAM = "T0001"
TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
ADMIN = "U0ADMIN"
DEAL_CHANNEL = "C0DEAL"
PRODUCT_APP = "bot.web:create_app()"
BARE_APP = "bench.bare_app:create_app()"
PROFILED_APP = "bench.profiled_app:create_app()"
# Requests are ad-hoc questions: no meeting, and no brief that could hold the broadcast back.
KIND = "question"

# --------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------


@dataclass
class ServerConfig:
    """How gunicorn is run; the same for the product and the bare app."""

    workers: int = 2  # WEB_CONCURRENCY (the Procfile default)
    threads: int = 16  # PRESALES_WEB_THREADS
    env: dict[str, str] = field(default_factory=dict)  # extra PRESALES_* settings
    profile_dir: str | None = None  # serve through bench/profiled_app.py, write stack samples here

    def describe(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in sorted(self.env.items()))
        return f"gunicorn gthread, {self.workers} worker(s) x {self.threads} threads{extra}"


class Server:
    """One gunicorn master (+ workers) serving ``app`` on a free port, until ``stop()``."""

    def __init__(self, app: str, env: Mapping[str, str], log: Path) -> None:
        self.app = app
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 45.0) -> "Server":
        self.proc = popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app],
                          env=self.env, log=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if healthz(self.url, timeout=2) == 200:
                return self
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"{self.app} did not answer GET /healthz with 200 within {timeout:.0f}s:\n{tail}")

    def stop(self) -> None:
        if self.proc is not None:
            kill_process(self.proc)
            self.proc = None

    def __enter__(self) -> "Server":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------
# The stack: fake Slack + a migrated SQLite file + servers
# --------------------------------------------------------------------------------------


class Stack:
    """FakeSlack (in this process), a fresh migrated SQLite database in a temp dir, and
    servers started against both. Use as a context manager; everything is torn down."""

    def __init__(self, *, latency: float = 0.0, server: ServerConfig | None = None, keep: bool = False,
                 strict_fake: bool = False) -> None:
        self.server_config = server or ServerConfig()
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="presales-bench-"))
        self.database_url = f"sqlite:///{self.tmp / 'bench.db'}"
        self._content_checks = None if strict_fake else skip_content_checks()
        self.fake = FakeSlack().start()
        self.fake.latency = latency
        self._servers: list[Server] = []
        self._db: Any = None
        try:
            db_upgrade(self.env(), self.tmp / "migrate.log")
        except BaseException:
            self.close()
            raise

    # ---- lifecycle

    def env(self) -> dict[str, str]:
        """The environment a server process gets (production variable names)."""
        cfg = self.server_config
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESALES_", "SLACK_"))}
        env.update({
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.fake.api_url,
            "DATABASE_URL": self.database_url,
            "WEB_CONCURRENCY": str(cfg.workers),
            "PRESALES_WEB_THREADS": str(cfg.threads),
            "PRESALES_ADMINS": ADMIN,
            # Slack's rate tiers are not modelled by the fake (it injects 429s instead): a load run
            # paced to them would measure the tiers, not the app (tests/flows/test_pacing.py does).
            "PRESALES_SLACK_PACE": "off",
            # runs at any hour of any day: every expert is inside working hours, so a run measures the
            # same fan-out whenever it runs (routing by availability is tests/flows/test_availability.py)
            "PRESALES_WORKING_DAYS": "Mon-Sun",
            "PRESALES_WORKING_HOURS": "00:00-24:00",
            "PRESALES_MEETING_BUFFER": "off",  # every seeded meeting is at about the same time
            "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(cfg.env)
        return env

    def start(self, app: str = PRODUCT_APP) -> Server:
        name = "product" if app == PRODUCT_APP else "bare" if app == BARE_APP else "server"
        env = self.env()
        profile_dir = self.server_config.profile_dir
        if profile_dir and app in (PRODUCT_APP, BARE_APP):
            app = PROFILED_APP
            env.update(BENCH_PROFILE_APP=name, BENCH_PROFILE_DIR=str(Path(profile_dir).resolve() / name))
        server = Server(app, env, self.tmp / f"{name}-{len(self._servers)}.log")
        self._servers.append(server)
        return server.start()

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._db is not None:
            self._db.dispose()
            self._db = None
        self.fake.stop()
        if self._content_checks is not None:
            restore_content_checks(self._content_checks)
            self._content_checks = None
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- database access for seeding (done before servers start)

    @property
    def db(self) -> Any:
        if self._db is None:
            from bot.db import Database

            self._db = Database(self.database_url)
        return self._db

    def seed_people(self, user_ids: Iterable[str], *, tz: str = "America/New_York") -> list[str]:
        """Non-expert people (AEs) known to the fake and the database, profiles fresh."""
        from bot import clock
        from bot.services import people

        users = list(user_ids)
        now = clock.now()
        with self.db.session() as session:
            for user in users:
                self.fake.add_user(user, tz=tz, team_id=TEAM)
                person = people.ensure_person(session, team_id=TEAM, user_id=user, now=now)
                people.update_profile(session, person_id=person.id, tz=tz, name=user.lower(), email=None, now=now)
        return users

    def seed_experts(self, user_ids: Iterable[str], skills: str, *, tz: str = "Europe/Berlin",
                     capacity: int = 50, warm_profiles: bool = True) -> list[str]:
        """Experts via ``directory.set_expert``; registered in the fake (users.info answers).
        ``warm_profiles`` marks their timezone as checked now (steady state); otherwise the
        first broadcast asks users.info for each of them (a cold start)."""
        from bot import clock
        from bot.services import directory, people
        from bot.services.skills import parse_skill_list

        users = list(user_ids)
        parsed = parse_skill_list(skills)
        now = clock.now()
        with self.db.session() as session:
            for user in users:
                self.fake.add_user(user, tz=tz, team_id=TEAM)
                person = directory.set_expert(session, team_id=TEAM, user_id=user, skills=parsed,
                                              max_concurrent=capacity, now=now)
                if warm_profiles:
                    people.update_profile(session, person_id=person.id, tz=tz, name=user.lower(), email=None,
                                          now=now)
        return users

    def seed_requests(self, count: int, *, requesters: Sequence[str], skill: str,
                      offers: int = 3) -> list[tuple[int, str]]:
        """Open requests with Offer rows (no DM sent yet) through the services, requesters
        and experts taking turns. Returns ``(request_id, user_id of an expert who may claim it)``."""
        from bot import clock
        from bot.services import matching
        from bot.services import requests as requests_service
        from bot.services.offers import plan_offers

        now = clock.now()
        extra = _policy_kwargs(requests_service.create, self.env())
        out: list[tuple[int, str]] = []
        with self.db.session() as session:
            pool: list[Any] = []
            for i in range(count):
                created = requests_service.create(
                    session, team_id=TEAM, requester_user_id=requesters[i % len(requesters)], channel_id=DEAL_CHANNEL,
                    draft=_draft(skill, now), source_key=None, now=now, **extra)
                if not pool:
                    pool = matching.match_experts(session, request=created.request, now=now)
                    if not pool:
                        raise RuntimeError(f"no expert has the skill {skill!r}: seed experts first")
                matches = [pool[(i + k) % len(pool)] for k in range(min(offers, len(pool)))]
                plan_offers(session, request=created.request, matches=matches, now=now)
                out.append((created.request.id, matches[0].person.slack_user_id))
        return out


def _policy_kwargs(service: Any, env: Mapping[str, str]) -> dict[str, Any]:
    """``policy=`` for services that take the timing policy (built from the same settings the
    server reads), nothing for those that do not."""
    if "policy" not in inspect.signature(service).parameters:
        return {}
    from bot.app import make_policy
    from bot.config import load_settings

    return {"policy": make_policy(load_settings(env, env_file=None))}




def _draft(skill: str, now: Any) -> Any:
    from bot.services import requests as requests_service

    draft = requests_service.Draft(kind=KIND, skills=[skill], account="Bench Corp", needed_by=now + timedelta(days=3),
                                   urgency="normal", description="Benchmark request")
    return requests_service.validate(draft, now=now, max_lead=timedelta(days=365), known_skills={skill})


# The request modal as Slack echoes it back: callback_id, block_id -> action_id -> value.
# Literal strings on purpose: they are the wire contract with Slack (bot/slack/ids.py,
# bot/services/fields.py), and a renamed id shows up as a rejected submission, not a crash.
REQUEST_MODAL = "request_modal"
SKILL_SELECT = "skills_select"


def request_values(*, skills: Sequence[str], account: str = "Bench Corp", kind: str = KIND,
                   days_ahead: int = 3, description: str = "Benchmark: show the failover story") -> dict[str, Any]:
    """``state.values`` of a filled-in request modal (the shape Slack submits)."""
    due = int(time.time()) + days_ahead * 86400
    due -= due % 1800
    option = lambda s: {"text": {"type": "plain_text", "text": s}, "value": s}  # noqa: E731
    return {
        "kind": {"value": static_select(kind)},
        "skills": {SKILL_SELECT: {"type": "multi_external_select", "selected_options": [option(s) for s in skills]}},
        "account": {"value": plain_text_input(account)},
        "meeting_at": {"value": datetimepicker(None)},
        "duration": {"value": static_select(None)},
        "needed_by": {"value": datetimepicker(due)},
        "urgency": {"value": static_select("normal")},
        "description": {"value": plain_text_input(description)},
        "crm_url": {"value": {"type": "url_text_input", "value": None}},
    }


def submit_request(driver: SlackDriver, user: str, skill: str) -> Any:
    """Submit the request modal as Slack would; a unique view id each time (the app
    de-duplicates replays by view id)."""
    return driver.submit_view(user, REQUEST_MODAL, request_values(skills=[skill]),
                              view_id=f"VB{secrets.token_hex(5).upper()}",
                              private_metadata=json.dumps({"c": DEAL_CHANNEL}))


def wait_for_calls(fake: FakeSlack, predicate: Callable[[Any], bool], *, count: int, timeout: float,
                   poll: float = 0.005) -> tuple[list[Any], float | None]:
    """Wait until ``count`` calls match; returns (matching calls, time.monotonic() when the last
    one was seen, or None on timeout). Unlike ``FakeSlack.wait_for`` this scans only the calls
    that are new since the last poll and never holds the fake's lock while scanning, so
    waiting on a long call log does not slow the fake down."""
    deadline = time.monotonic() + timeout
    matches: list[Any] = []
    seen = 0
    while True:
        calls = fake.calls  # a copy, taken under the fake's lock
        matches.extend(c for c in calls[seen:] if predicate(c))
        seen = len(calls)
        now = time.monotonic()
        if len(matches) >= count:
            return matches, now
        if now >= deadline:
            return matches, None
        time.sleep(poll)


def dm_counter(fake: FakeSlack, users: Iterable[str], since: float) -> Any:
    """Predicate for ``fake.wait_for``: a DM (not a thread reply) to one of ``users`` after ``since``."""
    wanted = set(users) | {FakeSlack.dm_channel_id(u) for u in users}

    def is_dm(call: Any) -> bool:
        return (call.method == "chat.postMessage" and call.at >= since and call.outcome == "ok"
                and call.params.get("channel") in wanted and not call.params.get("thread_ts"))

    return is_dm


# --------------------------------------------------------------------------------------
# Load generation (runs in bench/loadgen.py, a separate process)
# --------------------------------------------------------------------------------------


@dataclass
class LoadSpec:
    """Signed requests from ``concurrency`` threads. Closed loop: each thread sends, waits
    for the answer, sends the next, until ``count`` requests (or ``duration`` seconds) are
    done. Burst: all threads send at the same moment, wait for every answer, pause, repeat
    (``count`` rounded up to whole waves)."""

    url: str  # the app's base URL
    fake_base: str  # where response_urls point (the fake)
    kind: str  # "command" | "action"
    concurrency: int
    mode: str = "closed"  # "closed": keep `concurrency` requests in flight; "burst": waves of
    # `concurrency` simultaneous requests with `pause` seconds between waves
    pause: float = 0.5
    count: int = 0  # requests to measure (ignored when duration > 0)
    duration: float = 0.0  # seconds to measure for
    warmup: int = 0  # requests sent first, not measured
    users: list[str] = field(default_factory=lambda: ["U0AE"])
    values: list[str] = field(default_factory=list)  # action values (request ids), rotated
    text: str = ""  # command text
    action_id: str = "offer_claim"
    block_id: str = "offer_actions"
    secret: str = SECRET
    team: str = TEAM
    timeout: float = 10.0
    start_at: float = 0.0  # time.monotonic() to wait for before starting (0: now)


@dataclass
class Sample:
    sent: float  # time.monotonic() when sent (the system-wide clock, comparable across processes)
    elapsed: float  # seconds until the full HTTP answer arrived
    status: int  # HTTP status, 0 for a transport error (timeout, refused)
    key: str  # trigger_id (commands) or value (actions)


@dataclass
class LoadResult:
    samples: list[Sample]
    wall: float  # seconds the measured phase took

    @property
    def latencies(self) -> list[float]:
        return [s.elapsed for s in self.samples]

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if not 200 <= s.status < 300)

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.wall if self.wall > 0 else 0.0


class Load:
    """A load run in its own process (started now, results on ``wait()``)."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.proc = track(subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        ))
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(asdict(spec)).encode())  # the child starts right away
        self.proc.stdin.close()
        self.proc.stdin = None

    def wait(self) -> LoadResult:
        spec = self.spec
        budget = (spec.duration or 0) + (spec.count + spec.warmup) * spec.timeout / max(spec.concurrency, 1) + 60
        try:
            out, err = self.proc.communicate(timeout=budget)
        finally:
            kill_process(self.proc, grace=0.5)
        if self.proc.returncode != 0:
            tail = err.decode(errors="replace")[-3000:]
            raise RuntimeError(f"load generator failed ({self.proc.returncode}):\n{tail}")
        data = json.loads(out)
        return LoadResult([Sample(*row) for row in data["samples"]], float(data["wall"]))


def run_load(spec: LoadSpec) -> LoadResult:
    return Load(spec).wait()


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


@dataclass
class Summary:
    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    over_1s: int
    errors: int

    @classmethod
    def of(cls, result: LoadResult) -> "Summary":
        lat = result.latencies
        return cls(n=len(lat), p50_ms=percentile(lat, 50) * 1000, p99_ms=percentile(lat, 99) * 1000,
                   max_ms=max(lat, default=math.nan) * 1000, over_1s=sum(1 for x in lat if x > 1.0),
                   errors=result.errors)


def ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], *, notes: Sequence[str] = ()) -> str:
    """A Markdown table (readable in a terminal, pasteable in a report)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [i > 0 for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"
    out = [f"### {title}", "", line(cells[0]), sep, *(line(r) for r in cells[1:])]
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def contract_notes(fake: FakeSlack, limit: int = 5) -> list[str]:
    """Distinct Slack-contract violations the fake recorded (spec or Block Kit), if any."""
    seen: dict[str, int] = {}
    for violation in list(fake.violations):
        key = violation.split(" used ")[0] if "trigger_id" in violation else violation[:160]
        seen[key] = seen.get(key, 0) + 1
    return [f"fake Slack recorded {count}x: {text}" for text, count in list(seen.items())[:limit]]


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes for the server under test."""
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, WEB_CONCURRENCY (default 2)")
    parser.add_argument("--threads", type=int, default=16, help="gthread threads per worker (default 16)")
    parser.add_argument("--env", action="append", metavar="NAME=VALUE",
                        help="extra server setting, e.g. PRESALES_LISTENER_THREADS=32 (repeatable)")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample every server thread's stack and write per-worker reports under DIR")
    parser.add_argument("--strict-fake", action="store_true",
                        help="keep the fake's Block Kit checks on (their CPU runs on the same cores)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs)")


def server_config(args: argparse.Namespace, **env: str) -> ServerConfig:
    return ServerConfig(workers=args.workers, threads=args.threads, env={**env, **env_pairs(args.env)},
                        profile_dir=args.profile)


def env_pairs(pairs: Sequence[str] | None) -> dict[str, str]:
    """``["PRESALES_SEND_CONCURRENCY=16", ...]`` (the ``--env`` option) -> dict."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--env expects NAME=VALUE, not {pair!r}")
        out[key.strip()] = value
    return out


def host() -> str:
    """CPUs and load: other processes on the box (a test run...) make every figure noisier."""
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, 1-min load average {load:.1f} when the run ended"


def users(prefix: str, count: int) -> list[str]:
    """Slack-shaped user ids: ``U`` + prefix + zero-padded number (uppercase, alnum)."""
    return [f"U{prefix}{i:04d}" for i in range(count)]


def settle(fake: FakeSlack, *, quiet: float = 0.5, timeout: float = 30.0) -> bool:
    """Wait until the app has made no Slack call for ``quiet`` seconds (its background work
    after the acks is done), so one measurement does not run into the previous one's tail."""
    deadline = time.monotonic() + timeout
    seen = len(fake.calls)
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now_seen = len(fake.calls)
        if now_seen != seen:
            seen, last_change = now_seen, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return True
    return False
