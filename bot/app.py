"""Assemble the Bolt app: dependencies (bot/deps.py), listeners (handlers/), the one error handler.

The only module that imports ``handlers``; handlers and the scheduler get their ``Deps`` from here."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

import handlers
from bot.config import Settings
from bot.db import Database
from bot.deps import Deps
from bot.errors import InvalidInput, explain
from bot.logs import request_context
from bot.services.due import Policy
from bot.slack.blocks.common import md, plain
from bot.slack.client import make_client
from bot.slack.notify import Notifier
from bot.slack.pace import Pacer
from bot.slack.payloads import Caller, describe
from bot.work import Work

log = logging.getLogger(__name__)


def make_policy(settings: Settings) -> Policy:
    """The timing and role rules the services take, as plain values."""
    s = settings
    return Policy(
        admins=s.admins, default_tz=s.timezone,
        brief_required_for=s.brief_required_for, brief_policy=s.brief_policy, brief_due_before=s.brief_due_before,
        last_minute=s.last_minute, interval=s.scheduler_interval, escalate_after=s.escalate_after,
        urgent_escalate_after=s.urgent_escalate_after, reminder_offsets=s.reminder_offsets,
        followup_after=s.followup_after, working_hours=s.working_hours, lease=s.lease,
        working_days=s.working_days, ooo_emoji=s.ooo_emoji, ooo_words=s.ooo_words, meeting_buffer=s.meeting_buffer, ask_first_for=s.ask_first_for,
    )


def build_deps(settings: Settings, *, db: Database | None = None, client: WebClient | None = None) -> Deps:
    db = db or Database(settings.database_url)
    client = client or make_client(settings)
    notifier = Notifier(client, pacer=Pacer(settings.pace_rates))
    work = Work(threads=settings.work_threads, send_threads=settings.send_concurrency,
                reply_threads=settings.reply_threads)
    return Deps(settings=settings, db=db, client=client, notifier=notifier, work=work, policy=make_policy(settings))


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

    handlers.register(app)
    app.error(on_error)
    app.deps = deps  # type: ignore[attr-defined]
    return app


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
