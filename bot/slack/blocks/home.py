"""The App Home: one section per role the person has, within Block Kit's 100 blocks."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.services.home import HomeData, Listing, RequestRow
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import VIEW_BLOCKS_MAX, context, kind_label, md, plain, status_label
from bot.slack.ids import Action
from bot.slack.payloads import request_value
from bot.slack.text import escape_clip, format_duration, format_percent, format_when, mention
from models import RequestStatus


def _line(row: RequestRow, tz: str | None, *, show_claimer: bool = True) -> str:
    r = row.request
    parts = [f"*#{r.id}* {kind_label(r.kind)} · {escape_clip(r.account, 80)}", format_when(r.when, tz),
             status_label(r)]
    if show_claimer and r.claimed_by is not None and r.status == RequestStatus.CLAIMED.value:
        parts[-1] = f"claimed by {mention(r.claimed_by.slack_user_id)}"
    if r.needs_brief:
        parts.append("📋 brief ✓" if row.has_brief else "📋 *no brief*")
    if row.followup_due:
        parts.append("🗒 follow-up due")
    return " · ".join(parts)


def _more(listing: Listing, what: str) -> list[Block]:
    return [context(f"… and {listing.more} more {what}.")] if listing.more else []


def _button(text: str, action: Action, value: str | None = None, *, style: str | None = None,
            confirm: ConfirmObject | None = None) -> ButtonElement:
    return ButtonElement(text=plain(text), action_id=action, value=value, style=style, confirm=confirm)


def expert_blocks(data: HomeData, tz: str | None) -> list[Block]:
    p = data.person
    blocks: list[Block] = [HeaderBlock(text=plain("Your expert desk"))]
    if data.offers.items:
        blocks.append(SectionBlock(text=md(f"*Open to you now* ({data.offers.total})")))
        for row in data.offers.items:
            blocks.append(SectionBlock(text=md(_line(row, tz)),
                                       accessory=_button("Claim", Action.CLAIM, request_value(row.request.id),
                                                         style="primary")))
        blocks += _more(data.offers, "open requests")
    else:
        blocks.append(SectionBlock(text=md("*Open to you now*: nothing waiting. 🎉")))
    blocks.append(SectionBlock(text=md(f"*Your upcoming meetings* ({data.meetings.total})" if data.meetings.items
                                       else "*Your upcoming meetings*: none claimed.")))
    for row in data.meetings.items:
        accessory = brief_ui.view_button(row.request) if row.has_brief else None
        blocks.append(SectionBlock(text=md(_line(row, tz, show_claimer=False)), accessory=accessory))
    blocks += _more(data.meetings, "meetings")
    skills = ", ".join(f"{escape_clip(n, 40)} ({lvl})" for n, lvl in data.skills) or "none yet"
    away = (f"away until {format_when(p.away_until, tz)}" if p.away_until and data.person.is_away_at(data.now)
            else "out of office (your Slack status)" if p.is_out_of_office_at(data.now)
            else "on Do Not Disturb" if p.in_dnd_at(data.now) else "available")
    working = f"\n*Working*: {data.hours.label()} your time (normal requests reach you then)" if data.hours else ""
    blocks.append(SectionBlock(
        text=md(f"*Skills*: {skills}\n*Load*: {data.load}/{p.max_concurrent} · {away}{working}"),
        accessory=_button("Edit skills", Action.EDIT_SKILLS),
    ))
    if data.figures is not None:
        f = data.figures
        blocks.append(context(
            f"Last 4 weeks: {f.notified} requests sent to you · responded {f.responded} "
            f"({format_percent(f.response_rate)}) · median time to respond {format_duration(f.median_s)} "
            "of your working hours · "
            f"claims {f.claims} · declines {f.declines}"))
    return blocks


def ae_blocks(data: HomeData, tz: str | None) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=plain("Your requests")),
        ActionsBlock(elements=[_button("New request", Action.OPEN_REQUEST, style="primary")]),
    ]
    if not data.mine.items:
        blocks.append(SectionBlock(text=md("No requests yet. Ask for an expert with *New request* or `/presales`.")))
    for row in data.mine.items:
        r = row.request
        blocks.append(SectionBlock(text=md(_line(row, tz))))
        buttons = []
        live = r.status in (RequestStatus.HELD.value, RequestStatus.OPEN.value, RequestStatus.CLAIMED.value)
        if live and r.needs_brief:
            buttons.append(brief_ui.add_button(r, edit=row.has_brief))
        if live:
            buttons.append(_button("Cancel", Action.CANCEL, request_value(r.id), style="danger", confirm=ConfirmObject(
                title=plain("Cancel this request?"), text=md("Every expert who was asked is told it is off."),
                confirm=plain("Cancel it"), deny=plain("Keep it"))))
        if row.followup_due:
            buttons.append(_button("Record outcome", Action.FOLLOWUP_OUTCOME, request_value(r.id)))
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
    blocks += _more(data.mine, "requests")
    return blocks


def manager_blocks(data: HomeData, tz: str | None, headline: str | None) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=plain("This week so far")),
        SectionBlock(text=md(headline or "No figures yet this week."),
                     accessory=_button("Send me the digest", Action.SEND_DIGEST)),
        SectionBlock(text=md(f"*Unfilled and at risk* ({data.at_risk.total}): meeting within 48 h with no claim "
                             "or no brief, or unfilled this week" if data.at_risk.items
                             else "*Unfilled and at risk*: nothing. 👍")),
    ]
    for row in data.at_risk.items:
        blocks.append(SectionBlock(text=md(f"{_line(row, tz)} · asked by {mention(row.request.requester.slack_user_id)}")))
    blocks += _more(data.at_risk, "requests at risk")
    return blocks


def view(data: HomeData, tz: str | None, *, headline: str | None) -> View:
    """Every section the person's roles call for, capped at Slack's 100 blocks."""
    sections: list[list[Block]] = []
    if data.roles.can_manage:
        sections.append(manager_blocks(data, tz, headline))
    if data.person.is_expert:
        sections.append(expert_blocks(data, tz))
    sections.append(ae_blocks(data, tz))
    blocks: list[Block] = []
    for section in sections:
        if blocks:
            blocks.append(DividerBlock())
        blocks += section
    if len(blocks) > VIEW_BLOCKS_MAX:
        blocks = blocks[: VIEW_BLOCKS_MAX - 1] + [ContextBlock(elements=[md("… more in `/presales list`.")])]
    return View(type="home", blocks=blocks)
