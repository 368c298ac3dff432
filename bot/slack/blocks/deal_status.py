"""The status message in the deal channel, kept up to date as the request moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, SectionBlock

from bot import clock
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import (
    as_dicts,
    context,
    kind_label,
    md,
    plain,
    skills_text,
    slack_date,
    urgency_label,
    when_text,
)
from bot.slack.ids import Action, Block as BlockId
from bot.slack.payloads import request_value
from bot.slack.text import escape, escape_clip, mention
from models import Brief, Request, RequestStatus


@dataclass(frozen=True)
class Progress:
    notified: int = 0
    pending: int = 0
    declined: int = 0
    closest_skills: list[str] = field(default_factory=list)
    matched: bool = True
    brief: Brief | None = None
    brief_due: datetime | None = None
    no_manager: bool = False  # escalation found no manager and no admin to tell
    next_start: datetime | None = None  # nobody is working now: the first expert is reached then
    next_start_tz: str | None = None  # ... in this timezone (theirs)


def headline(request: Request, progress: Progress) -> str:
    who = mention(request.requester.slack_user_id)
    if request.status == RequestStatus.CLAIMED.value:
        return f"✅ *Claimed by {mention(request.claimed_by.slack_user_id if request.claimed_by else None)}*"
    if request.status == RequestStatus.CANCELLED.value:
        return f"🚫 *Cancelled* by {mention(request.cancelled_by.slack_user_id if request.cancelled_by else None)}"
    if request.status == RequestStatus.UNFILLED.value:
        return "⌛ *Unfilled*: nobody claimed it in time"
    if request.status == RequestStatus.HELD.value:
        due = f" It is due {slack_date(progress.brief_due)}." if progress.brief_due else ""
        return (f"⏸ *Waiting for the brief*: {who}, experts are asked as soon as the brief is complete."
                f"{due} No demo without a brief.")
    if not progress.matched:
        hint = ", ".join(escape(s) for s in progress.closest_skills) or "none yet"
        return (f"⚠️ *No expert available* for these skills right now. Skills with experts: {hint}. "
                f"The admins have been told; {who} can cancel and ask again with other skills.")
    if progress.next_start is not None and not progress.notified and not progress.pending:
        return waiting_line(progress)
    parts = [f"🔎 *Looking for an expert*: {progress.notified} notified"]
    if progress.pending:
        parts.append(f"{progress.pending} being notified")
    if progress.declined:
        parts.append(f"{progress.declined} declined")
    return ", ".join(parts)


def waiting_line(progress: Progress) -> str:
    """Nobody who matches is working now: who will be, and when (in their own timezone)."""
    left = max(progress.next_start - clock.now(), timedelta(0))
    hours, minutes = divmod(int(left.total_seconds() // 60), 60)
    wait = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    local = clock.to_local(progress.next_start, progress.next_start_tz)
    city = (progress.next_start_tz or "UTC").split("/")[-1].replace("_", " ")
    return (f"🌙 *Nobody who matches is working right now.* The first expert starts in {wait} "
            f"({local:%H:%M} {city} time) and is asked then. Urgent? *Send as urgent* asks everyone now.")


def brief_line(request: Request, progress: Progress) -> str | None:
    if not request.needs_brief or request.status == RequestStatus.HELD.value:
        return None
    if progress.brief is not None:
        return f"📋 Brief complete (decision by {progress.brief.decision_by:%a %d %b})."
    due = f", due {slack_date(progress.brief_due)}" if progress.brief_due else ""
    return f"⚠️ *Brief missing*{due}: experts see that it is missing."


def last_minute_line(request: Request) -> str | None:
    if not request.last_minute or request.when is None:
        return None
    hours = max(0, int((request.when - request.created_at).total_seconds() // 3600))
    return (f"⏱ *Last-minute*: asked {hours} h ahead. Experts have less time to prepare and fewer are free; "
            "asking 48 h or more ahead gets better demos. (Counted in the managers' digest.)")


def no_manager_line(request: Request, progress: Progress) -> str | None:
    if not progress.no_manager or request.status != RequestStatus.OPEN.value:
        return None
    return ("⚠️ *No manager to escalate to*: nobody has the manager role and no admin is configured "
            "(PRESALES_ADMINS). An admin can run `/presales manager add @someone`.")


def render(request: Request, progress: Progress, requester_tz: str | None) -> tuple[str, list[dict]]:
    line = headline(request, progress)
    blocks: list[Block] = [
        SectionBlock(
            text=md(
                f"*{kind_label(request.kind)}* for *{escape_clip(request.account, 200)}* · request #{request.id}\n{line}"
            )
        ),
        SectionBlock(
            fields=[
                md(when_text(request, requester_tz, per_reader=True)),
                md(f"*Skills*\n{skills_text(request)}"),
                md(f"*Requested by*\n{mention(request.requester.slack_user_id)}"),
                md(f"*Urgency*\n{urgency_label(request)}"),
            ]
        ),
    ]
    for extra in (brief_line(request, progress), last_minute_line(request), no_manager_line(request, progress)):
        if extra:
            blocks.append(context(extra))
    live = request.status in (RequestStatus.HELD.value, RequestStatus.OPEN.value, RequestStatus.CLAIMED.value)
    if live:
        buttons = []
        if request.status == RequestStatus.OPEN.value and request.urgency != "urgent" and progress.next_start:
            buttons.append(ButtonElement(text=plain("Send as urgent"), action_id=Action.SEND_URGENT,
                                         value=request_value(request.id), style="primary"))
        if request.needs_brief:
            buttons.append(brief_ui.add_button(request, edit=progress.brief is not None))
        blocks.append(
            ActionsBlock(
                block_id=BlockId.STATUS_ACTIONS,
                elements=[
                    *buttons,
                    ButtonElement(
                        text=plain("Cancel request"),
                        action_id=Action.CANCEL,
                        value=request_value(request.id),
                        style="danger",
                        confirm=ConfirmObject(
                            title=plain("Cancel this request?"),
                            text=md("Every expert who was asked is told it is off."),
                            confirm=plain("Cancel it"),
                            deny=plain("Keep it"),
                        ),
                    )
                ],
            )
        )
    blocks.append(context("Times show in your own timezone. `/presales help` for commands."))
    text = f"{kind_label(request.kind)} for {escape(request.account[:100])} (#{request.id}): {line}"
    return text, as_dicts(blocks)


def claim_thread_text(request: Request) -> str:
    return (
        f"{mention(request.requester.slack_user_id)}, {mention(request.claimed_by.slack_user_id if request.claimed_by else None)} "
        f"claimed your {kind_label(request.kind).lower()} request #{request.id}. Take it from here together."
    )


def release_thread_text(request: Request, expert_user_id: str) -> str:
    return (
        f"{mention(request.requester.slack_user_id)}, {mention(expert_user_id)} released request #{request.id}; "
        "it is open again and the other experts have been asked."
    )
