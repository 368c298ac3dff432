"""The weekly digest as Slack messages (split to stay within Block Kit limits) and as plain
text, CSV or JSON for `presales-bot digest` — all from the same lines."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.services.digest import DigestData, ExpertWeek, Planning, TeamWeek
from bot.slack.blocks.common import MESSAGE_BLOCKS_MAX, as_dicts, kind_label, md, plain
from bot.slack.text import escape, format_duration, format_percent, mention

EXPERTS_PER_MESSAGE = 60
SECTION_MAX = 2900


@dataclass(frozen=True)
class Style:
    """Slack mrkdwn (mentions, escaped text) or plain text for the terminal."""

    slack: bool

    def bold(self, text: str) -> str:
        return f"*{text}*" if self.slack else text

    def who(self, person) -> str:
        if person is None:
            return "team"
        if self.slack:
            return mention(person.slack_user_id)
        return f"{_printable(person.name)} ({person.slack_user_id})" if person.name else person.slack_user_id

    def text(self, value: str) -> str:
        return escape(value) if self.slack else _printable(value)


def _printable(text: str) -> str:
    """A name as a terminal shows it: control characters (an escape sequence in a Slack display
    name could clear or rewrite the manager's screen) become U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _delta(now: float | None, before: float | None, *, percent: bool = False, duration: bool = False,
           better: str | None = None) -> str:
    """' (▲3)', ' (▼5 pts ⚠)' — the change from last week; ⚠ when it moved the wrong way."""
    if now is None or before is None:
        return ""
    diff = now - before
    if abs(diff) < 1e-9:
        return " (=)"
    amount = f"{abs(diff) * 100:.0f} pts" if percent else format_duration(abs(diff)) if duration else f"{abs(diff):g}"
    worse = (better == "up" and diff < 0) or (better == "down" and diff > 0)
    return f" ({'▲' if diff > 0 else '▼'}{amount}{' ⚠' if worse else ''})"


def team_lines(t: TeamWeek, p: TeamWeek, style: Style) -> list[str]:
    lines = [
        f"Requests {t.made}{_delta(t.made, p.made)} · filled {t.filled} · unfilled {t.unfilled} · "
        f"cancelled {t.cancelled} · fill rate {format_percent(t.fill_rate)}"
        f"{_delta(t.fill_rate, p.fill_rate, percent=True, better='up')}",
        f"Time to claim: median {format_duration(t.claim_median_s)}"
        f"{_delta(t.claim_median_s, p.claim_median_s, duration=True, better='down')} · "
        f"p90 {format_duration(t.claim_p90_s)} · escalations needed {t.escalated}{_delta(t.escalated, p.escalated)}",
    ]
    if t.by_kind:
        lines.append("By type: " + ", ".join(f"{kind_label(k)} {n}" for k, n in sorted(t.by_kind.items(), key=lambda i: -i[1])))
    if t.by_skill:
        lines.append("By skill: " + ", ".join(f"{style.text(k)} {n}" for k, n in list(t.by_skill.items())[:15]))
    return lines


def expert_line(rank: int, e: ExpertWeek, before, style: Style) -> str:
    f = e.figures
    outcome = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(e.outcomes.items())) or "—"
    silent = " · 🔇 silent" if f.notified and not f.responded else ""
    return (
        f"{rank}. {style.who(e.person)} — DMs {f.notified} · responded {f.responded} · rate "
        f"{format_percent(f.response_rate)}"
        f"{_delta(f.response_rate, before.response_rate if before else None, percent=True, better='up')}"
        f" · median {format_duration(f.median_s)} · claims {f.claims} · declines {f.declines} · "
        f"{e.hours:g} h · outcomes: {outcome}{silent}"
    )


def planning_line(p: Planning, before: Planning | None, style: Style) -> str:
    lead = format_duration(p.lead_median_h * 3600) if p.lead_median_h is not None else "—"
    return (
        f"{style.who(p.person)}: {p.requests} requests · median lead {lead} · last-minute "
        f"{format_percent(p.last_minute_share)}"
        f"{_delta(p.last_minute_share, before.last_minute_share if before else None, percent=True, better='down')}"
        f" · briefs on time {p.briefs_on_time}/{p.briefs_needed} · decisions captured "
        f"{p.decisions_captured}/{p.meetings_over}"
    )


def sections(data: DigestData, style: Style) -> list[tuple[str, list[str]]]:
    """(title, lines) in reading order; the one source for every format."""
    week = data.week
    if data.empty:
        if data.first_request_at is None or data.first_request_at >= week.end:
            note = "Nothing yet: this week is before the first request."
        else:
            note = "No requests and no expert DMs this week."
        return [("Summary", [note])]
    out = [("Team", team_lines(data.team, data.previous_team, style))]
    out.append(("Experts (response rate, then claims)",
                [expert_line(i, e, data.previous_experts.get(e.person.id), style) for i, e in enumerate(data.experts, 1)]))
    planning = [planning_line(data.planning_team, data.previous_planning_team, style)]
    planning += [planning_line(p, None, style) for p in data.planning]
    out.append(("Planning (AEs)", planning))
    out.append(("Gaps", [f"{style.text(g.skill)}: {g.requests} requested, {g.unfilled} unfilled, "
                         f"{g.experts} available expert(s)" for g in data.gaps] or ["None: every requested skill had cover."]))
    return out


def title(data: DigestData) -> str:
    week = data.week
    return f"Weekly digest {week.label} · {week.monday:%a %d %b} – {week.sunday:%a %d %b %Y} ({week.tz})"


def _section_blocks(heading: str, lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    chunk = f"*{heading}*"
    for line in lines:
        if len(chunk) + len(line) + 1 > SECTION_MAX:
            blocks.append(SectionBlock(text=md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(SectionBlock(text=md(chunk)))
    return blocks


def messages(data: DigestData) -> list[tuple[str, list[dict]]]:
    """One or more messages: the headline first; a long expert table continues in the next."""
    pages: list[list[Block]] = [[HeaderBlock(text=plain(title(data)[:150]))]]
    for heading, lines in sections(data, Style(slack=True)):
        groups = [lines[i:i + EXPERTS_PER_MESSAGE] for i in range(0, len(lines), EXPERTS_PER_MESSAGE)] or [[]]
        for index, group in enumerate(groups):
            blocks = _section_blocks(f"{heading} (continued)" if index else heading, group)
            if index or len(pages[-1]) + len(blocks) > MESSAGE_BLOCKS_MAX - 1:
                pages.append([])
            pages[-1] += blocks
    pages[-1].append(ContextBlock(elements=[md(
        "Response rate counts ignored DMs against it; changes are against the week before. "
        "`/presales digest 2026-W47` shows any week.")]))
    total = len(pages)
    return [(f"{title(data)} ({i}/{total})" if total > 1 else title(data), as_dicts(page))
            for i, page in enumerate(pages, 1)]


def as_text(data: DigestData) -> str:
    style = Style(slack=False)
    lines = [title(data), "=" * len(title(data))]
    for heading, body in sections(data, style):
        lines += ["", heading, "-" * len(heading), *body]
    return "\n".join(lines) + "\n"


def as_csv(data: DigestData) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["week", "section", "who", "metric", "value"])
    t, w = data.team, data.week.label
    for metric, value in (("requests", t.made), ("filled", t.filled), ("unfilled", t.unfilled),
                          ("cancelled", t.cancelled), ("fill_rate", t.fill_rate), ("claim_median_s", t.claim_median_s),
                          ("claim_p90_s", t.claim_p90_s), ("escalated", t.escalated)):
        writer.writerow([w, "team", "", metric, "" if value is None else value])
    for e in data.experts:
        f = e.figures
        for metric, value in (("notified", f.notified), ("responded", f.responded), ("response_rate", f.response_rate),
                              ("median_s", f.median_s), ("claims", f.claims), ("declines", f.declines),
                              ("hours", e.hours)):
            writer.writerow([w, "expert", e.person.slack_user_id, metric, "" if value is None else value])
    for p in [data.planning_team, *data.planning]:
        who = p.person.slack_user_id if p.person else "team"
        for metric, value in (("requests", p.requests), ("lead_median_h", p.lead_median_h),
                              ("last_minute_share", p.last_minute_share), ("brief_compliance", p.brief_compliance),
                              ("decisions_captured", p.decisions_captured), ("meetings_over", p.meetings_over)):
            writer.writerow([w, "planning", who, metric, "" if value is None else value])
    for g in data.gaps:
        writer.writerow([w, "gap", g.skill, "requests", g.requests])
        writer.writerow([w, "gap", g.skill, "experts", g.experts])
    return out.getvalue()


def as_json(data: DigestData) -> str:
    t = data.team
    doc = {
        "week": data.week.label, "timezone": data.week.tz, "start": data.week.start.isoformat(),
        "end": data.week.end.isoformat(),
        "team": {"requests": t.made, "filled": t.filled, "unfilled": t.unfilled, "cancelled": t.cancelled,
                 "fill_rate": t.fill_rate, "claim_median_s": t.claim_median_s, "claim_p90_s": t.claim_p90_s,
                 "escalated": t.escalated, "by_type": t.by_kind, "by_skill": t.by_skill},
        "experts": [{"user": e.person.slack_user_id, "notified": e.figures.notified, "responded": e.figures.responded,
                     "response_rate": e.figures.response_rate, "median_s": e.figures.median_s,
                     "p90_s": e.figures.p90_s, "claims": e.figures.claims, "declines": e.figures.declines,
                     "hours": e.hours, "outcomes": e.outcomes} for e in data.experts],
        "planning": [{"user": p.person.slack_user_id if p.person else None, "requests": p.requests,
                      "lead_median_h": p.lead_median_h, "last_minute_share": p.last_minute_share,
                      "brief_compliance": p.brief_compliance, "decisions_captured": p.decisions_captured,
                      "meetings_over": p.meetings_over} for p in [data.planning_team, *data.planning]],
        "gaps": [{"skill": g.skill, "requests": g.requests, "unfilled": g.unfilled, "experts": g.experts}
                 for g in data.gaps],
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def chart_rows(data: DigestData) -> list[tuple[str, float | None, float | None]]:
    rows = [e for e in data.experts if e.figures.notified]
    return [(e.person.name or e.person.slack_user_id, e.figures.response_rate,
             e.figures.median_s / 60 if e.figures.median_s is not None else None) for e in rows]


def headline(data: DigestData) -> str:
    """This week so far, in one line (the manager's App Home)."""
    t = data.team
    responses = [e.figures for e in data.experts]
    notified = sum(f.notified for f in responses)
    responded = sum(f.responded for f in responses)
    rate = format_percent(responded / notified) if notified else "—"
    return (f"{t.made} requests · {t.filled} filled ({format_percent(t.fill_rate)}) · median time to claim "
            f"{format_duration(t.claim_median_s)} · expert response rate {rate}")

