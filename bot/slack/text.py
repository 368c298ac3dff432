"""Text for Slack: escaping user input exactly once, mentions, times in a person's zone."""

from __future__ import annotations

import re
from datetime import datetime

from bot import clock

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile(r"[&<>]")


def escape(text: str | None) -> str:
    """Escape user text for mrkdwn: only ``&``, ``<`` and ``>`` (Slack's rule), exactly once.

    ``&amp;`` typed by a user stays the literal text "&amp;" (it becomes ``&amp;amp;``),
    so what people see is what they typed. ``<!channel>``, ``<@U123>`` and
    ``<https://evil|CRM>`` lose their angle brackets and cannot ping or disguise a link.
    """
    if not text:
        return ""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def truncate(text: str, limit: int, suffix: str = "…") -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(suffix))].rstrip() + suffix


def escape_clip(text: str | None, limit: int, suffix: str = "…") -> str:
    """Escape, then fit in ``limit`` characters without cutting an entity in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = len(suffix)
    for char in text or "":
        piece = _ESCAPES.get(char, char)
        if size + len(piece) > limit:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out).rstrip() + suffix


def mention(user_id: str | None) -> str:
    """A real mention of a Slack user id we stored (never of user-typed text)."""
    if not user_id or not re.fullmatch(r"[UW][A-Z0-9]+", user_id):
        return "someone"
    return f"<@{user_id}>"


def channel_link(channel_id: str | None) -> str:
    if not channel_id or not re.fullmatch(r"[CGD][A-Z0-9]+", channel_id):
        return "a channel"
    return f"<#{channel_id}>"


def link(url: str | None, label: str) -> str:
    """A link to a URL we validated (http/https, no spaces or angle brackets)."""
    if not url or not re.fullmatch(r"https?://[^\s<>|]+", url):
        return escape(label)
    return f"<{url}|{escape(label).replace('|', '¦')}>"


def format_when(moment: datetime | None, tz_name: str | None, *, fallback: str = "UTC", with_zone: bool = True) -> str:
    """'Tue 24 Nov, 15:00 CET' in the viewer's own timezone."""
    if moment is None:
        return "—"
    local = clock.to_local(moment, tz_name, fallback)
    text = f"{local:%a} {local.day} {local:%b}"
    if local.year != clock.to_local(clock.now(), tz_name, fallback).year:
        text += f" {local.year}"
    text += f", {local:%H:%M}"
    if with_zone:
        text += f" {local.tzname()}"
    return text


def format_duration(seconds: float | None) -> str:
    """120 -> '2m', 5400 -> '1h 30m', 30 -> '30s'."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"
