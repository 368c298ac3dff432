"""`make test-topology` (= `python -m tests.topology.run`): the deployment shape, end to end.

Two web processes under the production server exactly as the Procfile runs them
(`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'`, WEB_CONCURRENCY workers each), two
`python -m bot scheduler` processes, one PostgreSQL (a scratch database reached through a TCP
proxy this process controls) and the local fake Slack (contract checks on) answering 429 with
Retry-After for 20% and 500 for 5% of chat.postMessage calls. Everything is driven over HTTP
with Slack-signed requests, as Slack would, and checked from the database and from what the
fake Slack received:

- 20 experts added with `/presales expert add` (then `presales-bot directory import` sets their
  capacity), 10 AEs; 50 requests (`/presales`, then the modal submitted; command and submission
  on different web processes), each with a complete brief and a meeting a few minutes ahead;
- per request, 20 experts click Claim within 50 ms spread over both web processes (4 gunicorn
  workers): exactly one winner, 19 told "already claimed" through their response_url, every
  expert's DM updated (RELIABILITY 28, 30, 33; every expert DMed once despite 429/500: 36);
- some requests stay unclaimed until re-pinged, widened and escalated; every claimed one gets
  its reminders: each notice sent exactly once by two schedulers (48); one scheduler SIGKILLed
  in the middle of a reminder wave and restarted: nothing lost, at most one duplicate per notice
  that was in flight at the kill, counted (39, the documented window);
- the database stopped for 10 s: /healthz 503 on both web processes, `/presales list`, a Claim
  and a request submission during the outage get the "database is not answering ... try again"
  message (bot/app.py explain()), afterwards everything continues (new requests are broadcast
  and claimed) and no request is half-written (38, 42);
- ack latency at the HTTP edge (20).

Prints a one-screen summary; exit status 1 on any duplicate beyond the documented window,
any loss or any failed check; 2 when PostgreSQL is not answering on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.signing import (  # noqa: E402
    Reply,
    SlackDriver,
    datetimepicker,
    plain_text_input,
    static_select,
)
from tests.fakes.slack import text_of  # noqa: E402
from tests.topology.checks import CHECKS  # noqa: E402
from tests.topology.deployment import (  # noqa: E402
    ADMIN,
    TEAM,
    Config,
    Deployment,
    pg_answers,
)
from tests.topology.evidence import CLAIM, gather  # noqa: E402
from tests.procs import healthz, percentile, say  # noqa: E402

UTC = timezone.utc
SKILL = "kubernetes"
REQUEST_MODAL = "request_modal"
DB_DOWN_TEXT = "database is not answering"  # bot/app.py explain(): "... Nothing was saved; please try again ..."
TRY_AGAIN = "try again"


def experts(n: int) -> list[str]:
    return [f"UEXP{i:03d}" for i in range(1, n + 1)]


def aes(n: int) -> list[str]:
    return [f"UAE{i:03d}" for i in range(1, n + 1)]


def request_values(meeting_at: datetime, account: str) -> dict[str, Any]:
    """state.values of a filled-in request modal with a complete brief (the shape Slack submits)."""
    option = {"text": {"type": "plain_text", "text": SKILL}, "value": SKILL}
    decision_by = (meeting_at + timedelta(days=7)).date().isoformat()
    return {
        "kind": {"value": static_select("demo")},
        "skills": {"skills_select": {"type": "multi_external_select", "selected_options": [option]}},
        "account": {"value": plain_text_input(account)},
        "meeting_at": {"value": datetimepicker(int(meeting_at.timestamp()))},
        "duration": {"value": static_select("30")},
        "needed_by": {"value": datetimepicker(None)},
        "urgency": {"value": static_select("normal")},
        "description": {"value": plain_text_input("Show the multi-cluster failover story")},
        "crm_url": {"value": {"type": "url_text_input", "value": None}},
        "brief_problem": {"value": plain_text_input("Their batch jobs miss the SLA every month-end; they hope "
                                                    "to see how we cut the run time in half.")},
        "brief_show": {"value": plain_text_input("Multi-cluster failover, the cost dashboard and the audit trail.")},
        "brief_attendees": {"value": plain_text_input("Jane Doe, CTO - decision maker\nRaj Patel - technical evaluator")},
        "brief_decision": {"value": plain_text_input("Pick the platform vendor for the 2027 renewal")},
        "brief_decision_by": {"value": {"type": "datepicker", "selected_date": decision_by}},
        "brief_cta": {"value": plain_text_input(None)},
        "brief_competitors": {"value": plain_text_input(None)},
        "brief_links": {"value": plain_text_input(None)},
    }


@dataclass
class Ack:
    kind: str  # command | submission | click
    web: int
    elapsed: float
    status: int
    at: float


@dataclass
class Storm:
    request_id: int
    spread: float  # seconds between the first and the last click leaving
    clicks: list[tuple[str, int, Reply]]  # (expert, web, reply)


@dataclass
class Req:
    index: int
    ae: str
    late: bool
    view_id: str | None = None
    request_id: int | None = None
    submitted_at: float = 0.0
    broadcast_done: float | None = None
    storm: Storm | None = None
    phase: str = "main"


@dataclass
class Outage:
    cut: int = 0
    healthz: list[tuple[float, int, int | None, float]] = field(default_factory=list)  # (t, web, status, secs)
    list_text: str = ""
    claim_text: str = ""
    submit_answer: str = ""
    modal_opened: bool = False
    recovered_after: float | None = None
    started: float = 0.0
    ended: float = 0.0


class Scenario:
    def __init__(self, dep: Deployment, args: argparse.Namespace) -> None:
        self.dep = dep
        self.args = args
        self.fake = dep.fake
        self.drivers: list[SlackDriver] = dep.drivers()
        self.experts = experts(args.experts)
        self.aes = aes(args.aes)
        self.acks: list[Ack] = []
        self.lock = threading.Lock()
        self.storm_lock = threading.Lock()
        self.reqs: list[Req] = []
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.outage = Outage()
        self.kill_info: dict[str, Any] = {}
        self.t0 = time.monotonic()
        self.lane_threads: list[threading.Thread] = []
        self.late_threads: list[threading.Thread] = []

    # ------------------------------------------------------------ bookkeeping

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.t0:6.1f}s"

    def log(self, message: str) -> None:
        say(f"[{self.elapsed()}] {message}")

    def problem(self, message: str) -> None:
        with self.lock:
            self.problems.append(message)
        self.log("PROBLEM: " + message)

    def _ack(self, kind: str, web: int, reply: Reply, at: float) -> Reply:
        with self.lock:
            self.acks.append(Ack(kind, web, reply.elapsed, reply.status, at))
        return reply

    def command(self, web: int, user: str, text: str = "", channel: str = "C0DEAL", record: bool = True) -> Reply:
        at = time.monotonic()
        reply = self.drivers[web].command(user, text, channel_id=channel, timeout=15)
        return self._ack("command", web, reply, at) if record else reply

    def submit(self, web: int, user: str, view_id: str, values: dict, record: bool = True) -> Reply:
        at = time.monotonic()
        reply = self.drivers[web].submit_view(user, REQUEST_MODAL, values, view_id=view_id, timeout=15)
        return self._ack("submission", web, reply, at) if record else reply

    def wait_response(self, reply: Reply, needle: str, timeout: float = 10.0) -> str:
        """The text that reached this command's / click's response_url containing ``needle``."""
        url = reply.sent.get("response_url") if isinstance(reply.sent, dict) else None
        deadline = time.monotonic() + timeout
        while True:
            texts = self.fake.response_texts(url)
            hit = next((t for t in texts if needle.lower() in t.lower()), None)
            if hit is not None or time.monotonic() > deadline:
                return hit or " | ".join(texts)
            time.sleep(0.05)

    # ------------------------------------------------------------ database reads (direct, not through the proxy)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.dep.db.engine.connect() as conn:
            return list(conn.execute(text(statement), params))

    def poll(self, fn, timeout: float, every: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(every)

    # ------------------------------------------------------------ seeding

    def seed(self) -> None:
        fake = self.fake
        fake.add_user(ADMIN, tz="America/New_York", team_id=TEAM)
        for user in self.experts:
            fake.add_user(user, tz="Europe/Berlin", team_id=TEAM)
        for user in self.aes:
            fake.add_user(user, tz="America/New_York", team_id=TEAM)
        # Experts the way a manager adds them: /presales expert add, alternating web processes.
        for k, user in enumerate(self.experts):
            reply = self.command(k % 2, ADMIN, f"expert add <@{user}|{user.lower()}> {SKILL}:expert", record=False)
            said = self.wait_response(reply, "expert directory")
            if reply.status != 200 or "expert directory" not in said:
                self.problem(f"/presales expert add {user}: HTTP {reply.status}, answered {said[:200]!r}")
        # Their capacity (the command keeps the default of 3) with the directory import CLI.
        csv_path = self.dep.tmp / "experts.csv"
        csv_path.write_text("user,skills,max_concurrent,timezone\n" + "".join(
            f'{u},"{SKILL}:expert",50,Europe/Berlin\n' for u in self.experts))
        code, out = self.dep.run_cli("directory", "import", str(csv_path), "--team", TEAM)
        if code != 0:
            raise RuntimeError(f"presales-bot directory import failed ({code}): {out[-2000:]}")
        rows = self.sql("SELECT count(*) FROM people WHERE is_expert AND max_concurrent = 50")
        if rows[0][0] != len(self.experts):
            raise RuntimeError(f"expected {len(self.experts)} experts with capacity 50, found {rows[0][0]}")
        self.log(f"seeded {len(self.experts)} experts (commands + directory import) and {len(self.aes)} AEs")

    # ------------------------------------------------------------ one request, end to end

    def one_request(self, req: Req, web: int) -> None:
        args = self.args
        channel = f"C0DEAL{(req.index % len(self.aes)) + 1:02d}"
        reply = self.command(web, req.ae, "", channel)
        if reply.status != 200:
            self.problem(f"request {req.index}: /presales answered HTTP {reply.status}")
            return
        view_id = self.fake.wait_view(reply.sent["trigger_id"], timeout=10)
        if view_id is None:
            self.problem(f"request {req.index}: /presales did not open the request modal within 10 s")
            return
        req.view_id = view_id
        meeting = datetime.now(UTC) + timedelta(seconds=args.meeting_in)
        req.submitted_at = time.monotonic()
        sub = self.submit(1 - web, req.ae, view_id, request_values(meeting, f"Acme {req.index:02d}"))
        if sub.status != 200 or sub.body.strip():
            self.problem(f"request {req.index}: submission answered HTTP {sub.status} {sub.body[:300]!r}")
            return
        found = self.poll(lambda: self.sql("SELECT id FROM requests WHERE source_key = :k", k=view_id), 20, 0.05)
        if not found:
            self.problem(f"request {req.index}: not stored 20 s after its submission was acked")
            return
        req.request_id = found[0][0]
        offers = self.poll(lambda: self._sent_offers(req.request_id), 60, 0.1)
        if not offers:
            self.problem(f"request #{req.request_id}: its DMs were not all out 60 s after the submission")
            offers = self._sent_offers(req.request_id, complete=False)
        req.broadcast_done = time.monotonic()
        if not req.late:
            req.storm = self.claim_storm(req.request_id, offers)
            return
        # Left alone until the ladder ran (re-ping, widen, escalate), then claimed; the AE goes on meanwhile.
        thread = threading.Thread(target=self.late_claim, args=(req, offers), daemon=True)
        with self.lock:
            self.late_threads.append(thread)
        thread.start()

    def late_claim(self, req: Req, offers: list[tuple[str, str, str]]) -> None:
        budget = 4 * self.args.escalate_after + 30
        sent = self.poll(lambda: self.sql(
            "SELECT 1 FROM due_notices WHERE request_id = :r AND kind = 'escalate' AND state = 'sent'",
            r=req.request_id), budget, 0.25)
        if not sent:
            self.problem(f"request #{req.request_id}: no escalation sent {budget:.0f}s after the broadcast")
        time.sleep(1.0)
        req.storm = self.claim_storm(req.request_id, offers)

    def _sent_offers(self, request_id: int, complete: bool = True) -> list[tuple[str, str, str]] | None:
        rows = self.sql(
            "SELECT p.slack_user_id, o.channel_id, o.ts, o.failed_at FROM offers o JOIN people p ON p.id = o.expert_id "
            "WHERE o.request_id = :r AND o.rank > 0 ORDER BY o.id", r=request_id)
        if complete and (len(rows) < len(self.experts) or any(r[2] is None and r[3] is None for r in rows)):
            return None
        return [(r[0], r[1], r[2]) for r in rows if r[2]]

    def claim_storm(self, request_id: int, offers: list[tuple[str, str, str]]) -> Storm:
        """Every expert with a DM clicks Claim at once, spread over both web processes: each
        click's signed request is built and its connection opened first, then they are sent back
        to back and answered in parallel (one reader thread each). One storm at a time."""
        with self.storm_lock:
            jobs = []
            for k, (user, channel, ts) in enumerate(offers):
                web = k % len(self.drivers)
                driver = self.drivers[web]
                payload = driver.action_payload(user, CLAIM, str(request_id), channel_id=channel, message_ts=ts)
                body = urlencode({"payload": json.dumps(payload)}).encode()
                headers = {"Content-Type": "application/x-www-form-urlencoded", **driver.sign(body)}
                conn = http.client.HTTPConnection("127.0.0.1", int(urlsplit(driver.base_url).port), timeout=15)
                try:
                    conn.connect()
                except OSError:
                    pass  # the request below reconnects and reports what happens
                jobs.append((user, web, payload, body, headers, conn))
            sent_at: list[float] = [0.0] * len(jobs)
            results: list[Any] = [None] * len(jobs)
            go = threading.Event()

            def read(i: int) -> None:
                user, web, payload, _body, _headers, conn = jobs[i]
                go.wait()
                try:
                    if sent_at[i] == 0.0:
                        raise ConnectionError("not sent")
                    response = conn.getresponse()
                    raw = response.read()
                    reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                                  raw.decode("utf-8", "replace"), None, time.monotonic() - sent_at[i], payload)
                except Exception as exc:  # a transport error is a failed ack, not a crash of the test
                    reply = Reply(0, {}, repr(exc), None, time.monotonic() - (sent_at[i] or time.monotonic()),
                                  payload)
                finally:
                    conn.close()
                results[i] = (sent_at[i], user, web, reply)

            readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(jobs))]
            for t in readers:
                t.start()
            # The clicks leave one after another from this thread (each a single send of a prepared
            # request on an open connection): all of them within a few milliseconds. While they do,
            # no garbage collection and a short GIL switch interval: each send releases the GIL, and
            # a fake-Slack thread that takes it would otherwise keep it for up to 5 ms.
            switch = sys.getswitchinterval()
            gc.disable()
            sys.setswitchinterval(0.0002)
            try:
                for i, (_user, web, _payload, body, headers, conn) in enumerate(jobs):
                    try:
                        at = time.monotonic()
                        conn.request("POST", self.drivers[web].path, body=body, headers=headers)
                        sent_at[i] = at
                    except OSError:
                        pass
            finally:
                sys.setswitchinterval(switch)
                gc.enable()
            go.set()
            for t in readers:
                t.join(30)
        done = [r for r in results if r is not None]
        for at, _user, web, reply in done:
            self._ack("click", web, reply, at)
        starts = [r[0] for r in done]
        spread = (max(starts) - min(starts)) if starts else 0.0
        return Storm(request_id, spread, [(u, w, rep) for _, u, w, rep in done])

    def requests_phase(self) -> None:
        args = self.args
        n = args.requests
        self.reqs = [Req(i, self.aes[i % len(self.aes)], late=(i % args.late_every == args.late_every - 1))
                     for i in range(n)]
        lanes: dict[str, list[Req]] = defaultdict(list)
        for req in self.reqs:
            lanes[req.ae].append(req)

        start = time.monotonic()

        def lane(items: list[Req]) -> None:
            for req in items:
                delay = start + req.index * args.pace - time.monotonic()  # open loop: one request every `pace` s
                if delay > 0:
                    time.sleep(delay)
                try:
                    self.one_request(req, web=req.index % len(self.drivers))
                except Exception as exc:
                    self.problem(f"request {req.index}: {type(exc).__name__}: {exc}")
                    traceback.print_exc()

        threads = [threading.Thread(target=lane, args=(items,), daemon=True) for items in lanes.values()]
        for t in threads:
            t.start()
        self.lane_threads = threads
        self.log(f"{n} requests being submitted from {len(threads)} AEs; every {args.late_every}th waits for "
                 "its escalation before it is claimed")

    def wait_lanes(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.lane_threads:
            t.join(max(0.1, deadline - time.monotonic()))
        for t in list(self.late_threads):
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in [*self.lane_threads, *self.late_threads]):
            self.problem("request lanes still running after their time budget")
        stored = sum(1 for r in self.reqs if r.request_id)
        self.log(f"{stored} of {len(self.reqs)} requests stored, {sum(1 for r in self.reqs if r.storm)} claimed")

    # ------------------------------------------------------------ the database outage

    def settle(self, quiet: float = 1.0, timeout: float = 15.0) -> None:
        """Wait until the app has made no Slack call for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.fake.calls), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now_seen = len(self.fake.calls)
            if now_seen != seen:
                seen, since = now_seen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def database_outage(self) -> None:
        args, out = self.args, self.outage
        some = next(r for r in self.reqs if r.storm and r.storm.clicks)
        expert, _web, click_reply = some.storm.clicks[0]
        channel = click_reply.sent["container"]["channel_id"]
        ts = click_reply.sent["container"]["message_ts"]
        self.settle(quiet=0.5, timeout=5)
        out.cut = self.dep.stop_database()
        out.started = time.monotonic()
        self.log(f"database stopped (proxy closed {out.cut} connections; new ones refused)")
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                for i, _ in enumerate(self.drivers):
                    t = time.monotonic()
                    status = healthz(self.dep.web_url(i), timeout=5)
                    out.healthz.append((t - out.started, i, status, time.monotonic() - t))
                stop.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(1.0)
        # /presales list on web 1
        reply = self.command(0, self.aes[0], "list", record=False)
        out.list_text = self.wait_response(reply, DB_DOWN_TEXT, timeout=8) if reply.status == 200 else f"HTTP {reply.status}"
        # a Claim on web 2
        click = self.drivers[1].action(expert, CLAIM, str(some.request_id), channel_id=channel, message_ts=ts,
                                       timeout=15)
        out.claim_text = self.wait_response(click, DB_DOWN_TEXT, timeout=8) if click.status == 200 else f"HTTP {click.status}"
        # a new request: the modal still opens (its pre-fill gives up), the submission is refused in the modal
        cmd = self.command(0, self.aes[1], "", "C0DEAL02", record=False)
        view_id = self.fake.wait_view(cmd.sent["trigger_id"], timeout=5)
        out.modal_opened = view_id is not None
        if view_id:
            meeting = datetime.now(UTC) + timedelta(seconds=args.meeting_in)
            sub = self.submit(1, self.aes[1], view_id, request_values(meeting, "Outage Corp"), record=False)
            out.submit_answer = f"HTTP {sub.status} {text_of(sub.json) if sub.json else sub.body[:200]}"
            if sub.json and sub.json.get("response_action") == "push":
                out.submit_answer = "modal: " + text_of(sub.json.get("view"))
            elif not sub.body.strip():  # acked: storing failed after the ack -> the AE's DM says so
                dm = self.poll(lambda: [m for m in self.fake.dm_messages(self.aes[1])
                                        if DB_DOWN_TEXT in m.get("text", "")], 10, 0.2)
                out.submit_answer = "acked, then DM: " + (dm[0]["text"][:200] if dm else "(nothing)")
        remaining = args.outage - (time.monotonic() - out.started)
        if remaining > 0:
            time.sleep(remaining)
        self.dep.start_database()
        out.ended = time.monotonic()
        self.log("database started again")
        ok = self.poll(lambda: all(healthz(self.dep.web_url(i), timeout=5) == 200 for i in range(len(self.drivers))),
                       30, 0.2)
        out.recovered_after = time.monotonic() - out.ended if ok else None
        stop.set()
        watcher.join(5)
        # what the people saw
        during = [h for h in out.healthz if h[0] <= out.ended - out.started]
        if not during or any(h[2] != 503 for h in during):
            self.problem(f"/healthz during the outage answered {sorted(Counter(h[2] for h in during).items())} "
                         "(expected 503 only)")
        slowest = max((h[3] for h in during), default=0.0)
        if slowest > 3.0:
            self.problem(f"/healthz took {slowest:.1f}s during the outage")
        for what, text in (("/presales list", out.list_text), ("Claim", out.claim_text),
                           ("request submission", out.submit_answer)):
            if DB_DOWN_TEXT not in text or TRY_AGAIN not in text.lower():
                self.problem(f"{what} during the outage: the user did not get the database 'try again' message "
                             f"(got {text[:200]!r})")
        if out.recovered_after is None:
            self.problem("/healthz did not come back to 200 on both web processes within 30 s")

    def after_outage(self) -> None:
        """Everything continues: /presales list works and new requests are broadcast and claimed."""
        reply = self.command(1, self.aes[2], "list")
        said = self.wait_response(reply, "open request", timeout=10)
        if "open request" not in said.lower():
            self.problem(f"/presales list after the outage answered {said[:200]!r}")
        extra = [Req(len(self.reqs) + k, self.aes[(3 + k) % len(self.aes)], late=False, phase="after outage")
                 for k in range(self.args.after_outage)]
        self.reqs += extra
        threads = [threading.Thread(target=self.one_request, args=(r, k % 2), daemon=True)
                   for k, r in enumerate(extra)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.log(f"after the outage: /presales list answers; {sum(1 for r in extra if r.storm)} of "
                 f"{len(extra)} new requests broadcast and claimed")

    # ------------------------------------------------------------ the scheduler crash

    def crash_scheduler(self) -> None:
        rows = self.sql("SELECT min(due_at) FROM due_notices WHERE kind = 'reminder'")
        first_due = rows[0][0]
        if first_due is None:
            self.problem("no reminder was planned: the scheduler crash was not exercised")
            return
        wait = (first_due - datetime.now(UTC)).total_seconds() + self.args.kill_after
        if wait > 0:
            self.log(f"waiting {wait:.0f}s for the first reminder wave")
            time.sleep(wait)
        victim = self.dep.schedulers[0]
        victim.kill(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        leased = self.sql("SELECT id, kind, lease_token FROM due_notices WHERE state = 'leased'")
        self.kill_info = {"at": killed_at, "leased": {r[0] for r in leased},
                          "by_kind": Counter(r[1] for r in leased), "mono": time.monotonic()}
        self.log(f"SIGKILLed {victim.name}; {len(leased)} notice(s) were leased at that moment "
                 f"({dict(self.kill_info['by_kind'])})")
        time.sleep(self.args.restart_after)
        victim.start()
        self.log(f"restarted {victim.name}")

    def wait_notices(self, timeout: float) -> None:
        """Until every notice due by now is sent (or otherwise closed) and the last reminder is past."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            main = [r.request_id for r in self.reqs if r.request_id and r.phase == "main"] or [0]
            rows = self.sql(
                "SELECT count(*) FILTER (WHERE state IN ('pending','leased') AND due_at < now() - interval '1 second'),"
                " max(due_at) FILTER (WHERE kind = 'reminder' AND request_id = ANY(:main)) FROM due_notices",
                main=main)
            open_due, last = rows[0]
            if open_due == 0 and last is not None and last < datetime.now(UTC) - timedelta(seconds=2):
                return
            time.sleep(0.5)
        self.problem(f"notices still due and unsent after waiting {timeout:.0f}s")

    # ------------------------------------------------------------ the checks

    def rows(self, statement: str, **params: Any) -> list[SimpleNamespace]:
        """Rows as attribute bags (plain SQL: the models may gain columns while this runs)."""
        return [SimpleNamespace(**dict(r._mapping)) for r in self.sql(statement, **params)]

    def load(self) -> tuple[dict, list, list, list, set]:
        people = {r.id: r.slack_user_id for r in self.rows("SELECT id, slack_user_id FROM people")}
        requests = self.rows(
            "SELECT r.id, r.status, r.claimed_by_id, r.status_ts, r.meeting_at, "
            "(SELECT count(*) FROM request_skills s WHERE s.request_id = r.id) AS skills FROM requests r ORDER BY r.id")
        offers = self.rows("SELECT id, request_id, expert_id, rank, channel_id, ts, error, response, sent_at, "
                           "responded_at FROM offers")
        notices = self.rows("SELECT id, kind, request_id, recipient_id, state, due_at, last_error, sent_at "
                            "FROM due_notices")
        briefs = {r.request_id for r in self.rows("SELECT request_id FROM briefs")}
        return people, requests, offers, notices, briefs

    def analyze(self) -> dict[str, Any]:
        """Run every check (checks.py) on what the run left; their failures are the run's problems."""
        evidence = gather(self)
        figures: dict[str, Any] = {}
        for check in CHECKS:
            verdict = check(self, evidence)
            assert not set(verdict.figures) & set(figures), f"{check.__name__} reuses a figure's name"
            figures.update(verdict.figures)
            for failure in verdict.failures:
                self.problem(failure)
        return figures

    # ------------------------------------------------------------ summary

    def summary(self, figures: dict[str, Any], started: float) -> str:
        out, args = self.outage, self.args
        lines = []
        stored, submitted, strays = figures.get("requests", (0, 0, []))
        dms, dm_dup, dm_lost = figures.get("dms", (0, 0, 0))
        lines.append("== topology: 2 × gunicorn (Procfile line, WEB_CONCURRENCY=%d) + 2 × scheduler + PostgreSQL "
                     "(via proxy) + fake Slack (429 20%%, 500 5%%)" % self.dep.config.web_concurrency)
        lines.append(f"requests      {stored} stored of {submitted} submitted"
                     f"{f' (+{len(strays)} stray: {strays})' if strays else ''}; "
                     f"{sum(1 for r in self.reqs if r.late)} left unclaimed for the ladder; "
                     f"{sum(1 for r in self.reqs if r.phase != 'main')} after the outage")
        lines.append(f"expert DMs    {dms} delivered · duplicates {dm_dup} · lost {dm_lost} "
                     f"(chat.postMessage answered 429/500 {self._faults()} times)")
        lines.append(f"claims        {figures.get('storms', 0)} storms × 20 clicks = {figures.get('clicks', 0)} clicks · "
                     f"{figures.get('winners', 0)} winners · {figures.get('told', 0)} told 'already claimed' · "
                     f"{figures.get('ae_told', 0)} AEs told in the status thread · "
                     f"click spread p50 {figures.get('spread_p50', 0) * 1000:.0f} ms, max {figures.get('spread_max', 0) * 1000:.0f} ms, {figures.get('spread_over', 0)} over 50 ms")
        kinds = figures.get("notices", {})
        ladder = figures.get("ladder_msgs", {})
        lines.append(f"notices sent  reminders {kinds.get('reminder', 0)} ({figures.get('reminder_msgs', 0)} messages) · "
                     f"re-pings {kinds.get('reping', 0)} ({ladder.get('reping', 0)} thread messages) · "
                     f"widen {kinds.get('widen', 0)} · escalations {kinds.get('escalate', 0)} "
                     f"({ladder.get('escalate', 0)} messages) · expiries {kinds.get('expire', 0)}")
        k = self.kill_info
        beyond_window = figures.get("dup_other", 0) + figures.get("ae_told_twice", 0)
        lost = figures.get("lost_notices", 0) + figures.get("requests_short", 0) + figures.get("ae_not_told", 0)
        lines.append(f"duplicates    {beyond_window} beyond the window · "
                     f"{figures.get('dup_window', 0)} in the documented crash window "
                     f"(scheduler SIGKILLed with {len(k.get('leased', ()))} notice(s) leased, "
                     f"{figures.get('orphans', (0, 0))[1]} of them sent in the end) · "
                     f"lost {lost} · coalesced {figures.get('coalesced', 0)}")
        for kind in ("command", "submission", "click"):
            lat = [a.elapsed for a in self.acks if a.kind == kind]
            non200 = sum(1 for a in self.acks if a.kind == kind and a.status != 200)
            lines.append(f"ack {kind:<10} n={len(lat):<4} p50 {percentile(lat, 50) * 1000:5.0f} ms · "
                         f"p99 {percentile(lat, 99) * 1000:5.0f} ms · max {max(lat, default=0) * 1000:5.0f} ms · "
                         f"over 1 s {sum(1 for x in lat if x > 1.0)} · non-200 {non200}")
        during = [h for h in out.healthz if h[0] <= out.ended - out.started]
        statuses = Counter(h[2] for h in during)
        lines.append(f"DB outage     {args.outage:.0f}s, {out.cut} connections cut · /healthz during: "
                     f"{dict(statuses)} (slowest {max((h[3] for h in during), default=0) * 1000:.0f} ms) · "
                     f"back to 200 after {out.recovered_after if out.recovered_after is not None else float('nan'):.1f}s")
        lines.append(f"  list:  {_short(out.list_text)}")
        lines.append(f"  claim: {_short(out.claim_text)}")
        lines.append(f"  submit (modal {'opened' if out.modal_opened else 'did NOT open'}): {_short(out.submit_answer)}")
        served = [done - at for _, at, done in self.fake.served]
        ages = self.fake.trigger_ages
        lines.append(f"fake Slack    {len(served)} calls, answered in p50 {percentile(served, 50) * 1000:.0f} ms, "
                     f"p99 {percentile(served, 99) * 1000:.0f} ms, max {max(served, default=0) * 1000:.0f} ms "
                     f"(latency {self.dep.config.fake_latency * 1000:.0f} ms + its own work under one lock) · "
                     f"views.open reached it {percentile([a for a, _, _ in ages], 50):.2f}/"
                     f"{max((a for a, _, _ in ages), default=0):.2f} s (p50/max) after the click")
        cpu = self.cpu_seconds()
        lines.append("CPU seconds   " + " · ".join(f"{k} {v:.0f}" for k, v in cpu.items()) +
                     f" · load average {os.getloadavg()[0]:.1f} (at the start {self.args.load_at_start:.1f}"
                     f"{': the host was busy before this test, timings are noisy' if self.args.load_at_start > 1.5 else ''})")
        lines.append(f"processes     {', '.join(f'{n}={p}' for n, p in self.dep.processes().items())}")
        lines.append(f"time          {time.monotonic() - started:.0f}s · logs {self.dep.tmp if self.dep.config.keep else '(removed; --keep)'}")
        if self.problems:
            lines.append(f"RESULT        FAIL ({len(self.problems)} problem(s)):")
            lines += [f"  - {p[:300]}" for p in self.problems[:12]]
        else:
            lines.append("RESULT        OK")
        return "\n".join(lines)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far: this process (fake Slack + load), web workers, schedulers."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {"test+fake": sum(os.times()[:2])}
        for label, pid in self.dep.processes().items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            group = "web workers" if "worker" in label else "web masters" if "web" in label else "schedulers"
            out[group] = out.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return out

    def _faults(self) -> int:
        return sum(1 for c in self.fake.calls if c.method == "chat.postMessage" and c.outcome in ("429", "500"))


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.topology.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--experts", type=int, default=20)
    p.add_argument("--aes", type=int, default=10)
    p.add_argument("--late-every", type=int, default=5, help="every Nth request waits for its escalation (default 5)")
    p.add_argument("--pace", type=float, default=0.6, help="seconds between two requests (default 0.6: 50 in 30 s)")
    p.add_argument("--after-outage", type=int, default=2, help="requests made after the outage (default 2)")
    p.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers per web process (default 2)")
    p.add_argument("--escalate-after", type=float, default=15.0, help="PRESALES_ESCALATE_AFTER in seconds")
    p.add_argument("--meeting-in", type=float, default=170.0, help="meeting this many seconds after each submission")
    p.add_argument("--reminders", default="60s,30s", help="PRESALES_REMINDER_OFFSETS (default 60s,30s: two waves "
                   "after the outage; a scheduler is killed in the first). Shorter timelines overlap the waves "
                   "with the claim storms and overload 2 cores: see the README")
    p.add_argument("--outage", type=float, default=10.0, help="seconds the database is down")
    p.add_argument("--outage-at", type=float, default=64.0, help="seconds after the first submission (at the "
                   "earliest; after the ladder's claims)")
    p.add_argument("--kill-after", type=float, default=4.0, help="SIGKILL a scheduler this long after the first "
                   "reminder is due")
    p.add_argument("--restart-after", type=float, default=3.0)
    p.add_argument("--lenient-fake", action="store_true", help="turn the fake's Block Kit checks off (CPU)")
    p.add_argument("--keep", action="store_true", help="keep logs and the database")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not pg_answers():
        say("test-topology: PostgreSQL is not answering on 127.0.0.1:5432 (user postgres, trust auth): not run")
        return 2
    started = time.monotonic()
    args.load_at_start = os.getloadavg()[0]
    config = Config(
        db_name="presales_topology", web_processes=2, web_concurrency=args.web_concurrency, schedulers=2,
        fake_latency=0.003, chaos=True, strict_fake=not args.lenient_fake, keep=args.keep,
        env={
            "PRESALES_SCHEDULER_INTERVAL": "1s",
            "PRESALES_ESCALATE_AFTER": f"{args.escalate_after:g}s",
            "PRESALES_URGENT_ESCALATE_AFTER": f"{args.escalate_after:g}s",
            "PRESALES_REMINDER_OFFSETS": args.reminders,
            # Longer than one send can take here (each is renewed right before it is sent; 429
            # Retry-After 1 s and 5xx back-off on 2 busy cores: a few seconds), and well inside the
            # 30 s grace of the last reminder: a reminder the SIGKILLed scheduler held is taken
            # again before its meeting starts. (Production: a 2 min lease, a 1 h reminder.) At 30 s
            # a run lost the 30 s reminder the killed scheduler had leased: past its grace.
            "PRESALES_LEASE": "15s",
            "PRESALES_LAST_MINUTE": "1s",
        },
    )
    dep = Deployment(config)
    scenario: Scenario | None = None
    figures: dict[str, Any] = {}
    try:
        say("test-topology: starting PostgreSQL scratch database, proxy, fake Slack, 2 web + 2 scheduler processes")
        dep.start()
        dep.start_processes()
        scenario = Scenario(dep, args)
        scenario.log(f"deployment up: {', '.join(f'{n}={p}' for n, p in dep.processes().items())}")
        scenario.seed()
        scenario.t0 = time.monotonic()
        scenario.requests_phase()
        # the outage once the ladder's requests are claimed (or at --outage-at at the earliest)
        scenario.wait_lanes(4 * args.escalate_after + 90)
        wait = args.outage_at - (time.monotonic() - scenario.t0)
        if wait > 0:
            time.sleep(wait)
        scenario.database_outage()
        scenario.after_outage()
        scenario.crash_scheduler()  # in the first reminder wave
        scenario.wait_notices(timeout=max(60.0, args.meeting_in))
        scenario.settle(quiet=1.5, timeout=20)
        for proc in [*dep.webs, *dep.schedulers]:
            if not proc.alive():
                scenario.problem(f"{proc.name} exited ({proc.proc.returncode if proc.proc else '?'})")
        figures = scenario.analyze()
    except Exception as exc:
        traceback.print_exc()
        if scenario is None:
            say(f"test-topology: could not start: {exc}")
            for proc in [*dep.webs, *dep.schedulers]:
                say(f"--- {proc.name}\n{proc.tail(2000)}")
            dep.close()
            return 1
        scenario.problem(f"{type(exc).__name__}: {exc}")
    finally:
        if scenario is not None:
            try:
                print(scenario.summary(figures, started), flush=True)
            except Exception:
                traceback.print_exc()
        failed = scenario is None or bool(scenario.problems)
        if failed and scenario is not None:
            for proc in [*dep.webs, *dep.schedulers]:
                tracebacks = proc.tail(200_000).count("Traceback")
                if tracebacks:
                    say(f"--- {proc.name}: {tracebacks} traceback(s) in its log; last lines:\n{proc.tail(1500)}")
        dep.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
