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
