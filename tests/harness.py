"""Drive the real app the way Slack does: signed HTTP requests in, a fake Web API out.

``Harness`` owns one app (built from Settings like production, ``process_before_response``
on for determinism) served by a threaded WSGI server, the shared FakeSlack, and a
SlackDriver. Background work is awaited with ``drain()`` — never with sleep.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlalchemy import select

from bot import clock
from bot.app import build_deps
from bot.config import Settings
from bot.db import Database
from bot.services import directory
from bot.services.skills import parse_skill_list
from bot.slack.ids import Action, Block, Field, View
from bot.web import create_app
from models import Offer, Request
from tests.fakes import signing as d
from tests.fakes.signing import Reply, SlackDriver
from tests.fakes.slack import FakeSlack, text_of

TEAM = "T0001"
SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token-000"
ADMIN = "U0ADMIN"
AE = "U0AE"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output readable
        pass


class Harness:
    def __init__(self, fake: FakeSlack, database_url: str, **overrides: Any) -> None:
        self.slack = fake
        process_before_response = overrides.pop("process_before_response", True)
        settings = Settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            database_url=database_url,
            admins=frozenset({ADMIN}),
            listener_threads=8,
            work_threads=4,
            send_concurrency=8,
            slack_retry_backoff=0.01,  # the fake's 5xx are retried at once, not after seconds
            slack_pace="off",  # the fake has no rate tiers; tests/flows/test_pacing.py runs the real ones on a virtual clock
        )
        self.settings = replace(settings, **overrides)
        self.db = Database(database_url)
        self.deps = build_deps(self.settings, db=self.db)
        self.web = create_app(self.settings, deps=self.deps,
                              process_before_response=process_before_response)
        self.server = make_server("127.0.0.1", 0, self.web, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
        # serve_forever notices shutdown() at its next poll: 5 ms, not 50, at the end of every test
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.driver = SlackDriver(self.url, SECRET, team_id=TEAM, fake=fake)
        # Slack's clock is the test's clock: message ts and action_ts follow clock.set_now()
        fake.clock = self.driver.clock = lambda: clock.now().timestamp()

    def close(self) -> None:
        self.drain()
        failures = list(self.deps.work.failures)
        self.server.shutdown()
        self.server.server_close()
        self.deps.work.shutdown(timeout=5)
        self.db.dispose()
        assert not failures, f"background work raised: {failures}"

    # ---------------------------------------------------------------- waiting

    def drain(self, timeout: float = 15.0) -> None:
        assert self.deps.work.drain(timeout), f"background work still running after {timeout}s"

    # ---------------------------------------------------------------- time and the scheduler

    def at(self, moment: datetime) -> None:
        """Move the (frozen) clock; the scheduler acts only when ``tick()`` runs."""
        clock.set_now(moment)

    def tick(self):
        """One scheduler tick, as `presales-bot scheduler` runs it."""
        from bot.scheduler.jobs import sweep_due_work

        result = sweep_due_work(self.deps)
        self.drain()
        return result

    def tick_job(self, name: str):
        """One run of a named scheduler job (bot/scheduler/jobs.py), as `presales-bot run-job NAME`."""
        from bot.scheduler.jobs import run_job

        result = run_job(name, self.deps)
        self.drain()
        return result

    def notices(self, request_id: int) -> list:
        from bot.services import due

        with self.db.session() as session:
            return due.timeline(session, request_id=request_id)

    # ---------------------------------------------------------------- people

    def person(self, user_id: str, *, tz: str = "America/New_York", email: str | None = None) -> str:
        self.slack.add_user(user_id, tz=tz, email=email, team_id=TEAM)
        return user_id

    def expert(self, user_id: str, skills: str = "kubernetes:expert", *, tz: str = "Europe/Berlin",
               capacity: int = 3) -> str:
        self.person(user_id, tz=tz)
        with self.db.session() as session:
            directory.set_expert(session, team_id=TEAM, user_id=user_id, skills=parse_skill_list(skills),
                                 max_concurrent=capacity, now=clock.now(), tz=tz)
        return user_id

    # ---------------------------------------------------------------- Slack-side actions

    def command(self, user_id: str, text: str = "", *, channel_id: str = "C0DEAL", **kw: Any) -> Reply:
        reply = self.driver.command(user_id, text, channel_id=channel_id, **kw)
        self.drain()
        return reply

    def responses(self, reply: Reply) -> list[dict]:
        """What the app answered through this request's response_url."""
        token = reply.sent["response_url"].rsplit("/", 1)[-1] if reply.sent.get("response_url") else None
        return [c.json_body or c.params for c in self.slack.calls_to("response_url") if token and c.path.endswith(token)]

    def said(self, reply: Reply) -> str:
        """All text the person saw in answer to this command or click (response_url + ephemerals)."""
        texts = [str(r.get("text", "")) + " " + text_of(r.get("blocks")) for r in self.responses(reply)]
        return "\n".join(texts)

    def request_values(self, **fields: Any) -> dict:
        return request_values(**fields)

    def brief_values(self, **fields: Any) -> dict:
        return brief_values(**fields)

    def open_form(self, user_id: str = AE, text: str = "", *, channel_id: str = "C0DEAL") -> Reply:
        return self.command(user_id, text, channel_id=channel_id)

    def submit_request(self, user_id: str = AE, *, channel_id: str = "C0DEAL", open_first: bool = True, **fields: Any) -> Reply:
        if open_first:
            self.open_form(user_id, channel_id=channel_id)
        reply = self.driver.submit_view(user_id, View.REQUEST, self.request_values(**fields))
        self.drain()
        return reply

    def last_request(self) -> Request:
        with self.db.session() as session:
            return session.scalars(select(Request).order_by(Request.id.desc())).first()

    def offer(self, request_id: int, user_id: str) -> Offer | None:
        with self.db.session() as session:
            return next((o for o in session.scalars(select(Offer).where(Offer.request_id == request_id))
                         if o.expert.slack_user_id == user_id), None)

    def click(self, user_id: str, action: Action, request_id: int, *, drain: bool = True) -> Reply:
        """Click a button in the expert's DM for ``request_id`` (as rendered there now)."""
        offer = self.offer(request_id, user_id)
        if offer is not None and offer.ts:
            reply = self.driver.action(user_id, action, str(request_id), channel_id=offer.channel_id,
                                       message_ts=offer.ts)
        else:
            reply = self.driver.action(user_id, action, str(request_id), block_id=Block.OFFER_ACTIONS)
        if drain:
            self.drain()
        return reply

    def dm_text(self, user_id: str, request_id: int) -> str:
        offer = self.offer(request_id, user_id)
        assert offer is not None and offer.ts, f"{user_id} has no DM for request {request_id}"
        message = self.slack.message(offer.channel_id, offer.ts)
        return str(message.get("text", "")) + " " + text_of(message.get("blocks"))

    def status_text(self, request_id: int) -> str:
        with self.db.session() as session:
            request = session.get(Request, request_id)
        assert request.status_ts, "no status message"
        message = self.slack.message(request.status_channel, request.status_ts)
        return str(message.get("text", "")) + " " + text_of(message.get("blocks"))


def quantile(values, p):
    """Linear interpolation between closest ranks (SQL's percentile_cont), written independently
    of bot/services/sql.py: the oracle the figure tests compare the product's SQL with."""
    ordered = sorted(values)
    if not ordered:
        return None
    pos = p * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def _option(name: str) -> dict:
    return {"text": {"type": "plain_text", "text": name}, "value": name}


def request_values(
    *, kind: str = "demo", skills: tuple[str, ...] = ("kubernetes",), account: str = "Acme",
    meeting_at: datetime | None | str = "default", duration: int | None = 60, needed_by: datetime | None = None,
    urgency: str = "normal", description: str = "Show the multi-cluster failover story", crm_url: str | None = None,
    brief: dict | bool = True, ask_first: str | None = None,
) -> dict:
    if meeting_at == "default":
        meeting_at = clock.now() + timedelta(days=3)
    values = {
        Field.KIND: {"value": d.static_select(kind)},
        Field.SKILLS: {Action.SKILL_SELECT: {"type": "multi_external_select",
                                             "selected_options": [_option(s) for s in skills]}},
        Field.ACCOUNT: {"value": d.plain_text_input(account)},
        Field.MEETING_AT: {"value": d.datetimepicker(int(meeting_at.timestamp()) if meeting_at else None)},
        Field.DURATION: {"value": d.static_select(str(duration) if duration else None)},
        Field.NEEDED_BY: {"value": d.datetimepicker(int(needed_by.timestamp()) if needed_by else None)},
        Field.URGENCY: {"value": d.static_select(urgency)},
        Field.DESCRIPTION: {"value": d.plain_text_input(description)},
        Field.CRM_URL: {"value": {"type": "url_text_input", "value": crm_url}},
        Field.ASK_FIRST: {"value": {"type": "users_select", "selected_user": ask_first}},
    }
    if brief:
        values.update(brief_values(**(brief if isinstance(brief, dict) else {}),
                                        meeting_at=meeting_at if isinstance(meeting_at, datetime) else None))
    return {str(k): {str(a): v for a, v in inner.items()} for k, inner in values.items()}

def brief_values(*, meeting_at: datetime | None = None, problem: str = "Their batch jobs miss the SLA every "
                 "month-end; they hope to see how we cut the run time in half.",
                 show: str = "Multi-cluster failover, the cost dashboard and the audit trail.",
                 attendees: str = "Jane Doe, CTO - decision maker\nRaj Patel - technical evaluator",
                 decision: str = "Pick the platform vendor for the 2027 renewal",
                 decision_by: str | None = None, cta: str = "", competitors: str = "", links: str = "") -> dict:
    if decision_by is None:
        decision_by = ((meeting_at or clock.now() + timedelta(days=3)) + timedelta(days=7)).date().isoformat()
    return {
        Field.BRIEF_PROBLEM: {"value": d.plain_text_input(problem)},
        Field.BRIEF_SHOW: {"value": d.plain_text_input(show)},
        Field.BRIEF_ATTENDEES: {"value": d.plain_text_input(attendees)},
        Field.BRIEF_DECISION: {"value": d.plain_text_input(decision)},
        Field.BRIEF_DECISION_BY: {"value": {"type": "datepicker", "selected_date": decision_by or None}},
        Field.BRIEF_CTA: {"value": d.plain_text_input(cta or None)},
        Field.BRIEF_COMPETITORS: {"value": d.plain_text_input(competitors or None)},
        Field.BRIEF_LINKS: {"value": d.plain_text_input(links or None)},
    }


def record_response_times(session) -> None:
    """For offers a test wrote straight into the database: the times to respond the app stores
    with each first response, taken as all inside working hours (working time = wall clock)."""
    from sqlalchemy import update as _update

    for offer in session.scalars(select(Offer).where(Offer.responded_at.is_not(None), Offer.sent_at.is_not(None),
                                                     Offer.response_ms.is_(None))):
        elapsed = int((offer.responded_at - offer.sent_at).total_seconds() * 1000)
        session.execute(_update(Offer).where(Offer.id == offer.id).values(response_ms=elapsed, response_work_ms=elapsed))
