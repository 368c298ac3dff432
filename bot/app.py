"""Assemble the Bolt app: dependencies, listeners, the one error handler."""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.config import Settings
from bot.db import Database
from bot.errors import InvalidInput, PresalesError
from bot.flows import Flows
from bot.logs import request_context
from bot.slack.blocks.common import md, plain
from bot.slack.client import make_client
from bot.slack.notify import Notifier
from bot.slack.pace import Pacer, parse_pace
from bot.slack.payloads import Caller
from bot.work import Work

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    db: Database
    client: WebClient
    notifier: Notifier
    work: Work
    flows: Flows

    def after_ack(self, body: dict, respond, fn, *args, log_fields: dict | None = None, urgent: bool = False,
                  **kwargs) -> None:
        """Run what the person who clicked or typed is waiting for on the reply pool (never on
        Bolt's listener threads), under the request's log fields; if it fails they are told
        in plain words."""
        caller = Caller.of(body)
        url_respond = respond if body.get("response_url") else None
        fields = log_fields or describe(body)

        def tell(error: Exception) -> None:
            message, _ = explain(error)
            if caller.user_id:
                self.notifier.answer(url_respond, caller.user_id, message, channel=caller.channel_id)

        def run(*a, **kw):
            request_context.set(fields)
            return fn(*a, **kw)

        run.__name__ = getattr(fn, "__name__", "after_ack")
        self.work.reply(run, *args, on_error=tell, urgent=urgent, **kwargs)

    @property
    def policy(self):
        """Timing and role rules for the services (bot.services.due.Policy)."""
        return self.flows.policy

    def close(self) -> None:
        self.work.shutdown()
        self.db.dispose()


def build_deps(settings: Settings, *, db: Database | None = None, client: WebClient | None = None) -> Deps:
    db = db or Database(settings.database_url)
    client = client or make_client(settings)
    notifier = Notifier(client, pacer=Pacer(parse_pace(settings.slack_pace)))
    work = Work(threads=settings.work_threads, send_threads=settings.send_concurrency,
                reply_threads=settings.reply_threads)
    return Deps(settings=settings, db=db, client=client, notifier=notifier, work=work,
                flows=Flows(settings=settings, db=db, notifier=notifier, work=work))


def build_app(settings: Settings, *, deps: Deps | None = None, process_before_response: bool = False,
              token_verification: bool = True, socket_mode: bool = False) -> App:
    """``socket_mode``: for SocketModeHandler only. Slack signs nothing it sends over the socket,
    so no signing secret is needed and Bolt's request verification is off: never serve it over HTTP."""
    settings.require("SLACK_BOT_TOKEN", *(() if socket_mode else ("SLACK_SIGNING_SECRET",)))
    deps = deps or build_deps(settings)
    app = App(
        name="presales-bot",
        client=deps.client,  # carries the token (bot/slack/client.py)
        signing_secret=settings.slack_signing_secret or "",  # not None: Bolt would read os.environ itself
        request_verification_enabled=not socket_mode,
        process_before_response=process_before_response,
        token_verification_enabled=token_verification,
        # Bolt's default is 5 threads; listeners only do quick DB work (slow work goes to deps.work).
        listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads, thread_name_prefix="bolt"),
    )

    @app.middleware
    def inject_deps(context, body, next):  # noqa: A002 - Bolt's argument name
        """Dependencies for the listeners; who and what this request is, for the log lines
        (bot/web.py writes one per request; after_ack carries it into the work it hands over)."""
        context["deps"] = deps
        fields = describe(body)
        context["log_fields"] = fields
        holder = request_context.get()
        if isinstance(holder, dict) and not holder:  # the WSGI layer's slot for this request
            holder.update(fields)
        return next()

    import handlers

    handlers.register(app)
    app.error(on_error)
    app.deps = deps  # type: ignore[attr-defined]
    return app


def describe(body: dict) -> dict:
    """rid, team, user and what was done, from any Slack payload (for the log lines)."""
    body = body if isinstance(body, dict) else {}
    caller = Caller.of(body)
    kind = body.get("type") or ("command" if body.get("command") else "unknown")
    name = body.get("command")
    if kind == "block_actions":
        name = ((body.get("actions") or [{}])[0] or {}).get("action_id")
    elif kind in ("view_submission", "view_closed"):
        name = (body.get("view") or {}).get("callback_id")
    elif kind == "event_callback":
        name = (body.get("event") or {}).get("type")
    elif kind == "block_suggestion":
        name = body.get("action_id")
    return {"rid": uuid.uuid4().hex[:12], "team": caller.team_id or None, "user": caller.user_id or None,
            "kind": kind, "action": str(name)[:64] if name else None}


def explain(error: Exception) -> tuple[str, str | None]:
    """(what the person reads, a reference id for unknown errors — logged with it)."""
    if isinstance(error, PresalesError):
        return str(error), None
    if isinstance(error, (OperationalError, PoolTimeout)):
        log.warning("database error: %s", type(error).__name__)
        return "The database is not answering right now. Nothing was saved; please try again in a minute.", None
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error ref=%s type=%s", ref, type(error).__name__, exc_info=error)
    return f"Something went wrong on our side (ref `{ref}`). Nothing was lost; please try again.", ref


def on_error(error: Exception, body: dict, context, respond) -> BoltResponse | None:
    """The one error handler: readable messages, a reference id and a log line for the unknown.

    Policy for errors after ack (RELIABILITY case 23): answer 200 (Slack must not retry a
    half-done action), tell the person in plain words, and log unknown errors with a ref id."""
    message, _ = explain(error)
    body = body if isinstance(body, dict) else {}
    ack = context.get("ack") if context else None
    acked = getattr(ack, "response", None) is not None
    if body.get("type") == "view_submission" and not acked:  # the modal is still open: answer in it
        if isinstance(error, InvalidInput) and error.fields:
            return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": error.fields}),
                                headers={"content-type": ["application/json"]})
        view = View(type="modal", title=plain("Not sent"), close=plain("Back to form"),
                    blocks=[SectionBlock(text=md(message))])
        return BoltResponse(status=200, body=json.dumps({"response_action": "push", "view": view.to_dict()}),
                            headers={"content-type": ["application/json"]})
    deps: Deps | None = context.get("deps") if context else None
    caller = Caller.of(body)
    if deps is not None and caller.user_id:
        deps.notifier.answer(respond if body.get("response_url") else None, caller.user_id, message,
                             channel=caller.channel_id)
    return BoltResponse(status=200, body="")
