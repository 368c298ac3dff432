"""What every listener needs: the dependencies, who is asking, and a way to answer."""

from __future__ import annotations

from typing import Callable

from bot.deps import Deps
from bot.slack.payloads import Caller


def deps_of(context) -> Deps:
    return context["deps"]


def answer(deps: Deps, respond: Callable | None, caller: Caller, reply: tuple[str, list[dict]]) -> None:
    text, blocks = reply
    deps.notifier.answer(respond, caller.user_id, text, blocks, channel=caller.channel_id)


def after_ack(fn: Callable | None = None, *, opens_modal: bool = False) -> Callable:
    """A Bolt listener that acks at once and runs ``fn(deps, body, respond)`` on the reply
    pool: Bolt's listener threads only ever ack, so a slow database or Slack never delays the
    next person's ack. ``opens_modal``: its trigger_id dies 3 s after the click, so it runs on
    the urgent pool, never queued behind other people's clicks."""
    if fn is None:
        return lambda f: after_ack(f, opens_modal=opens_modal)

    def listener(ack, body, respond, context):
        ack()
        deps = deps_of(context)
        deps.after_ack(body, respond, fn, deps, body, respond, log_fields=context.get("log_fields"),
                       urgent=opens_modal)

    listener.__name__ = fn.__name__
    listener.__doc__ = fn.__doc__
    return listener
