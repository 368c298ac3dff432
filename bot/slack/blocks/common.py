"""Shared pieces for the renderers."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, PlainTextObject

from bot.slack.text import escape, format_when
from models import KIND_LABELS, Request, RequestKind, RequestStatus, Urgency

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def plain(text: str, emoji: bool = True) -> PlainTextObject:
    return PlainTextObject(text=text, emoji=emoji)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[RequestKind(kind)]
    except ValueError:
        return kind


def slack_date(moment: datetime | None, fallback_tz: str | None = None) -> str:
    """A date Slack renders in each reader's own timezone (channel messages have many readers)."""
    if moment is None:
        return "—"
    fallback = format_when(moment, fallback_tz)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def when_text(request: Request, tz: str | None, *, per_reader: bool = False) -> str:
    """'Meeting: Tue 24 Nov, 15:00 EST (60 min)' or 'Needed by: ...'."""
    render = (lambda m: slack_date(m, tz)) if per_reader else (lambda m: format_when(m, tz))
    if request.meeting_at is not None:
        minutes = f" ({request.duration_min} min)" if request.duration_min else ""
        return f"*Meeting*\n{render(request.meeting_at)}{minutes}"
    if request.needed_by is not None:
        return f"*Needed by*\n{render(request.needed_by)}"
    return "*When*\n—"


def skills_text(request: Request) -> str:
    return ", ".join(escape(s.name) for s in request.skills) or "—"


def status_label(request: Request) -> str:
    return {
        RequestStatus.OPEN.value: "Open",
        RequestStatus.CLAIMED.value: "Claimed",
        RequestStatus.CANCELLED.value: "Cancelled",
        RequestStatus.UNFILLED.value: "Unfilled",
        RequestStatus.HELD.value: "Waiting for brief",
    }.get(request.status, request.status)


def as_dicts(blocks: list[Block]) -> list[dict]:
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        raise ValueError(f"{len(blocks)} blocks exceed Slack's {MESSAGE_BLOCKS_MAX} per message")
    return [b.to_dict() for b in blocks]


def urgency_label(request: Request) -> str:
    """What people read for the urgency: a label, not the stored value."""
    return "🚨 Urgent" if request.urgency == Urgency.URGENT.value else "Normal"
