"""Ephemeral replies to `/presales` subcommands: help, lists, directory, stats, notices."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, SectionBlock

from bot.services.directory import DirectoryEntry
from bot.services.stats import ExpertRow, ResponseFigures, TeamFigures
from bot.slack.blocks.common import MESSAGE_BLOCKS_MAX, as_dicts, context, kind_label, md
from bot.slack.text import escape, escape_clip, format_duration, format_percent, format_when, mention
from models import Request

Reply = tuple[str, list[dict]]

HELP = """*presales-bot* summons the right expert for a deal and times every response.
*Ask for help* (in the deal channel)
• `/presales` — opens the request form
• `/presales demo kubernetes for Acme Tue 3pm` — the same, pre-filled
• `/presales list` — open requests · `/presales cancel 42` — cancel your request #42
• `/presales brief 42` — write or edit the prep brief · `/presales reschedule 42 Thu 3pm` — move the meeting
• `/presales stats [@someone]` — response figures for the last {days} days
*Experts*
• `/presales skills` — edit your skills and capacity
• `/presales away until Dec 3` · `/presales back`
*Managers and admins*
• `/presales expert add @someone kubernetes:expert, security, fintech:learning`
• `/presales expert remove @someone` · `/presales directory [skill]`
• `/presales digest [last | this | 2026-W47]` — the weekly digest, now, in your DM
• `/presales manager add @someone` (admins only) · `/presales selftest` — a test request to yourself"""


def text_reply(text: str) -> Reply:
    return text, [SectionBlock(text=md(text[:3000])).to_dict()]


def help_reply(*, stats_days: int, unknown: str | None = None) -> Reply:
    body = HELP.format(days=stats_days)
    if unknown:
        body = f"I don't know `{escape_clip(unknown, 60)}`. Here is what I can do:\n\n" + body
    return text_reply(body)


def _sections(lines: list[str], *, max_blocks: int) -> list[Block]:
    """Pack lines into sections of at most 2,900 characters, within ``max_blocks``."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 > 2900 and chunk:
            blocks.append(SectionBlock(text=md("\n".join(chunk))))
            chunk, size = [], 0
            if len(blocks) == max_blocks - 1:
                blocks.append(context(f"… and {len(lines) - index} more."))
                return blocks
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(SectionBlock(text=md("\n".join(chunk))))
    return blocks


def open_requests_reply(requests: list[Request], total: int, *, tz: str | None) -> Reply:
    if not requests:
        return text_reply("No open requests right now. 🎉")
    lines = [
        f"• *#{r.id}* {kind_label(r.kind)} · {escape_clip(r.account, 80)} · "
        f"{format_when(r.when, tz)} · {', '.join(escape(s.name) for s in r.skills)} · by {mention(r.requester.slack_user_id)}"
        for r in requests
    ]
    blocks: list[Block] = [SectionBlock(text=md(f"*Open requests* ({total})"))]
    blocks += _sections(lines, max_blocks=MESSAGE_BLOCKS_MAX - 2)
    if total > len(requests):
        blocks.append(context(f"Showing the {len(requests)} soonest of {total}."))
    return f"{total} open requests", as_dicts(blocks)


def directory_reply(entries: list[DirectoryEntry], *, skill: str | None, tz: str | None) -> Reply:
    scope = f" with *{escape(skill)}*" if skill else ""
    if not entries:
        return text_reply(f"No experts{scope} yet. Add one: `/presales expert add @someone {escape(skill or 'kubernetes')}`")
    lines = []
    for e in entries:
        skills = ", ".join(f"{escape(name)} ({level})" for name, level in e.skills)
        availability = f"away until {format_when(e.person.away_until, tz, with_zone=False)}" if e.away else "available"
        lines.append(f"• {mention(e.person.slack_user_id)} — {skills} · load {e.load}/{e.person.max_concurrent} · {availability}")
    blocks: list[Block] = [SectionBlock(text=md(f"*Expert directory*{scope}: {len(entries)}"))]
    blocks += _sections(lines, max_blocks=MESSAGE_BLOCKS_MAX - 1)
    return f"{len(entries)} experts", as_dicts(blocks)


def _figures_line(f: ResponseFigures) -> str:
    wall = f" (wall clock {format_duration(f.wall_median_s)})" if f.wall_median_s is not None else ""
    excused = f" · {f.excused} while out of office, not counted" if f.excused else ""
    return (
        f"notified {f.notified} · responded {f.responded} ({format_percent(f.response_rate)}) · "
        f"median {format_duration(f.median_s)}{wall} · p90 {format_duration(f.p90_s)} · "
        f"claims {f.claims} · declines {f.declines}{excused}"
    )


def stats_reply(
    *, team: TeamFigures | None, rows: list[ExpertRow], single: tuple[str, ResponseFigures] | None,
    since: datetime, until: datetime, tz: str | None,
) -> Reply:
    period = f"{format_when(since, tz, with_zone=False)} – {format_when(until, tz)}"
    blocks: list[Block] = [SectionBlock(text=md(f"*Response figures*, {period}"))]
    if single:
        user_id, figures = single
        blocks.append(SectionBlock(text=md(f"{mention(user_id)}: {_figures_line(figures)}")))
    if team:
        t = team
        blocks.append(SectionBlock(text=md(
            f"*Team*: {t.requests} requests, {t.claimed} claimed · {_figures_line(t.responses)}\n"
            f"Time to first response: median {format_duration(t.first_response_median_s)}, "
            f"p90 {format_duration(t.first_response_p90_s)} · time to claim: median "
            f"{format_duration(t.claim_median_s)}, p90 {format_duration(t.claim_p90_s)}"
        )))
    if rows:
        lines = [f"{i}. {mention(r.person.slack_user_id)}: {_figures_line(r.figures)}" for i, r in enumerate(rows, 1)]
        blocks += _sections(lines, max_blocks=MESSAGE_BLOCKS_MAX - len(blocks) - 1)
    blocks.append(context("Response rate: DMs answered / DMs sent (ignored DMs count against it; DMs that found "
                          "someone out of office do not). Time to respond: from the DM to the first click by Slack's "
                          "clock, counted in the expert's working hours; the wall-clock median is in brackets."))
    return "Response figures", as_dicts(blocks)


def booked_text(request: Request, tz: str | None) -> str:
    """The AE booked the next meeting at the end of this one."""
    first = f", asking {mention(request.ask_first.slack_user_id)} first" if request.ask_first else ""
    return (f"Request #{request.id} for the next meeting ({format_when(request.meeting_at, tz)}) is made{first}. "
            f"The brief came along: edit it with `/presales brief {request.id}`.")
