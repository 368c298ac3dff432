"""Button values and private_metadata: opaque ids only, parsed and validated in one place.

A value we sent comes back through Slack, but a signed request can still carry
anything (a forwarded or crafted payload), so every value is parsed strictly:
a positive integer id and nothing else. Channel ids are checked by shape.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from bot.errors import NotFound
from bot.services.fields import storable, whole_number

_MAX_ID = 2**31 - 1
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def request_value(request_id: int) -> str:
    return str(int(request_id))


def parse_request_value(value: object) -> int:
    """'123' -> 123; anything else -> NotFound (the user sees "not found")."""
    number = whole_number(value, 1, _MAX_ID)
    if number is not None:
        return number
    raise NotFound("That request does not exist (any more).")


def request_modal_metadata(channel_id: str | None) -> str:
    return json.dumps({"c": channel_id} if channel_id else {}, separators=(",", ":"))


def parse_request_modal_metadata(raw: str | None) -> str | None:
    """The deal channel the modal was opened from, or None."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return None
    channel = data.get("c") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) and _CHANNEL.match(channel) else None


def request_metadata(request_id: int) -> str:
    """private_metadata of a modal about one request (decline, brief, follow-up)."""
    return json.dumps({"r": int(request_id)}, separators=(",", ":"))


def parse_request_metadata(raw: str | None) -> int:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        data = {}
    value = data.get("r") if isinstance(data, dict) else None
    return parse_request_value(str(value) if isinstance(value, int) else value)


@dataclass(frozen=True)
class Caller:
    """Who clicked or typed, in which workspace and channel (from any Slack payload)."""

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


def action_ts(body: dict) -> str | None:
    """Slack's time of the click in a block_actions payload (``actions[0].action_ts``)."""
    actions = body.get("actions") if isinstance(body, dict) else None
    first = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    value = first.get("action_ts")
    return value if isinstance(value, str) else None


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


class FormState:
    """Typed, defensive reads of a submitted modal's ``state.values`` (one place for every
    form): a missing block, a wrong type or a tampered value reads as empty, never raises."""

    def __init__(self, values: object) -> None:
        self.values = values if isinstance(values, dict) else {}

    def element(self, block: str, action: str = "value") -> dict:
        node = self.values.get(block, {})
        item = node.get(action, {}) if isinstance(node, dict) else {}
        return item if isinstance(item, dict) else {}

    def text(self, block: str) -> str:
        value = self.element(block).get("value")
        return storable(value) if isinstance(value, str) else ""

    def selected(self, block: str) -> str | None:
        option = self.element(block).get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        return storable(value) if isinstance(value, str) else None

    def selected_user(self, block: str) -> str | None:
        value = self.element(block).get("selected_user")
        return value if isinstance(value, str) and re.match(r"^[UW][A-Z0-9]{2,30}$", value) else None

    def selected_many(self, block: str, action: str) -> list[str]:
        options = self.element(block, action).get("selected_options") or []
        return [storable(o["value"]) for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]

    def date(self, block: str) -> date | None:
        raw = self.element(block).get("selected_date")
        try:
            return date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            return None

    def moment(self, block: str) -> datetime | None:
        raw = self.element(block).get("selected_date_time")
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return None
        try:
            return datetime.fromtimestamp(int(raw), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
