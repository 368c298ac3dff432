"""What every listener needs: the dependencies, who is asking, and a way to answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.app import Deps


def deps_of(context) -> Deps:
    return context["deps"]


@dataclass
class Caller:
    team_id: str
    user_id: str
    channel_id: str | None

    @classmethod
    def of(cls, body: dict) -> "Caller":
        user = body.get("user")
        if isinstance(user, dict):
            user_id, team = user.get("id"), user.get("team_id")
        else:
            user_id, team = body.get("user_id"), None
        team_obj = body.get("team")
        team_id = (team_obj.get("id") if isinstance(team_obj, dict) else None) or body.get("team_id") or team
        channel = body.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else body.get("channel_id")
        return cls(team_id=str(team_id or ""), user_id=str(user_id or ""), channel_id=channel_id)


def answer(deps: Deps, respond: Callable | None, caller: Caller, reply: tuple[str, list[dict]]) -> None:
    """An ephemeral answer through response_url; if that fails (used 5 times, expired),
    an ephemeral message or a DM instead, so the person always hears back."""
    text, blocks = reply
    if respond is not None:
        try:
            result = respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            if 200 <= getattr(result, "status_code", 200) < 300:
                return
        except Exception:  # response_url expired, used up or unreachable: fall through
            pass
    deps.notifier.tell(caller.user_id, text, channel=caller.channel_id, blocks=blocks)
