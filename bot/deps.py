"""Deps: what flows, handlers and scheduled jobs need, built once per process by bot/app.py.

Flows take it as their first argument (``offers.after_claim(deps, request_id)``); handlers get
it from Bolt's context; jobs from the scheduler. Nothing here reads the environment: the
settings and the policy handed to the services are plain values made at assembly.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Callable

from slack_sdk import WebClient

from bot.config import Settings
from bot.db import Database
from bot.errors import explain
from bot.logs import request_context
from bot.services.due import Policy
from bot.slack.notify import Notifier
from bot.slack.payloads import Caller, describe
from bot.work import Work
from models import Person


def _process_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Deps:
    settings: Settings
    db: Database
    client: WebClient
    notifier: Notifier
    work: Work
    policy: Policy  # the timing and role rules the services take (made from settings by bot/app.py)
    scheduler_id: str = field(default_factory=_process_name)  # this process, in the scheduler heartbeat
    schedulers_warned: set[str] = field(default_factory=set)  # other schedulers already warned about

    def tz(self, person: Person | None) -> str:
        """A person's IANA timezone as cached, else the workspace default (PRESALES_TIMEZONE)."""
        return (person.tz if person is not None else None) or self.settings.timezone

    def after_ack(self, body: dict, respond, fn: Callable, *args, log_fields: dict | None = None,
                  urgent: bool = False, **kwargs) -> None:
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

    def close(self) -> None:
        self.work.shutdown()
        self.db.dispose()
