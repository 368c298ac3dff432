"""What every listener needs: the dependencies, who is asking, and a way to answer."""

from __future__ import annotations

from typing import Callable

from bot.app import Deps
from bot.slack.payloads import Caller


def deps_of(context) -> Deps:
    return context["deps"]


def answer(deps: Deps, respond: Callable | None, caller: Caller, reply: tuple[str, list[dict]]) -> None:
    text, blocks = reply
    deps.notifier.answer(respond, caller.user_id, text, blocks, channel=caller.channel_id)


def after_ack(fn: Callable) -> Callable:
    """A Bolt listener that acks at once and runs ``fn(deps, body, respond)`` on the reply
    pool: Bolt's listener threads only ever ack, so a slow database or Slack never delays the
    next person's ack."""

    def listener(ack, body, respond, context):
        ack()
        deps = deps_of(context)
        deps.after_ack(body, respond, fn, deps, body, respond, log_fields=context.get("log_fields"))

    listener.__name__ = fn.__name__
    listener.__doc__ = fn.__doc__
    return listener
