"""The weekly digest as Slack messages (split to stay within Block Kit limits) and as plain
text, CSV or JSON for `presales-bot digest` — all from the same lines."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot import clock
from bot.services.digest import DigestData, ExpertWeek, Planning
from bot.slack.blocks.common import MESSAGE_BLOCKS_MAX, as_dicts, kind_label, md, plain
from bot.slack.chart import ExpertBar, WeekPoint
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
    """' (▲3)', ' (▼5 pts ⚠)', ' (no change)' — the change from the week before; ⚠ marks every
    change for the worse (``better``: which way is good; None for counts that are neither)."""
    if now is None or before is None:
        return ""
    diff = now - before
    if abs(diff) < 1e-9:
        return " (no change)"
    amount = f"{abs(diff) * 100:.0f} pts" if percent else format_duration(abs(diff)) if duration else f"{abs(diff):g}"
    worse = (better == "up" and diff < 0) or (better == "down" and diff > 0)
    return f" ({'▲' if diff > 0 else '▼'}{amount}{' ⚠' if worse else ''})"


TIMES_ARE = "time to respond: each expert's working hours, DM sent to first click by Slack's clock; time to claim: wall clock"
LEGEND = ("Times to respond count each expert's own working hours, by Slack's clock (DM sent → first click). "
          "Response rate = DMs answered / DMs sent (ignored DMs count against it; DMs that found someone out of "
          "office do not). ▲▼ = change from the week before; ⚠ = a change for the worse.")


def team_fields(data: DigestData) -> list[tuple[str, str]]:
    """(label, value) pairs of the team section: fields in Slack, lines elsewhere."""
    t, p = data.team, data.previous_team
    r, rp = data.team_responses, (data.trend[-2][1] if len(data.trend) > 1 else None)
    return [
        ("Requests", f"{t.made}{_delta(t.made, p.made)}"),
        ("Filled", f"{t.filled} of {t.made - t.cancelled} · {format_percent(t.fill_rate)}"
                   f"{_delta(t.fill_rate, p.fill_rate, percent=True, better='up')}"),
        ("Time to claim", f"median {format_duration(t.claim_median_s)}"
                          f"{_delta(t.claim_median_s, p.claim_median_s, duration=True, better='down')}"
                          f" · p90 {format_duration(t.claim_p90_s)}"),
        ("Needed escalation", f"{t.escalated}{_delta(t.escalated, p.escalated, better='down')}"),
        ("Unfilled · cancelled", f"{t.unfilled}{_delta(t.unfilled, p.unfilled, better='down')} · {t.cancelled}"),
        ("Experts answered", f"{format_percent(r.response_rate)} of {r.notified} DMs"
                             f"{_delta(r.response_rate, rp.response_rate if rp else None, percent=True, better='up')}"),
    ]


def team_lines(data: DigestData, style: Style) -> list[str]:
    t = data.team
    lines = [f"{label}: {value}" for label, value in team_fields(data)]
    if t.by_kind:
        lines.append("By type: " + ", ".join(f"{kind_label(k)} {n}" for k, n in sorted(t.by_kind.items(), key=lambda i: -i[1])))
    if t.by_skill:
        lines.append("By skill: " + ", ".join(f"{style.text(k)} {n}" for k, n in list(t.by_skill.items())[:15]))
    return lines


def expert_line(rank: int, e: ExpertWeek, before, style: Style) -> str:
    """Two short lines per expert (they read on a phone): how they answered, then what they did."""
    f = e.figures
    if f.notified and not f.responded:
        head = f"{rank}. {style.bold(style.who(e.person))} — 🔇 answered none of {f.notified} DMs"
    elif not f.notified:
        head = f"{rank}. {style.bold(style.who(e.person))} — no DMs this week"
    else:
        head = (f"{rank}. {style.bold(style.who(e.person))} — answered {f.responded} of {f.notified} "
                f"({format_percent(f.response_rate)})"
                f"{_delta(f.response_rate, before.response_rate if before else None, percent=True, better='up')}"
                f" · median {format_duration(f.median_s)}"
                f"{_delta(f.median_s, before.median_s if before else None, duration=True, better='down')}")
    outcomes = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(e.outcomes.items()))
    done = [f"claimed {f.claims}", f"declined {f.declines}", f"{e.hours:g} h logged"]
    if f.excused:
        done.append(f"{f.excused} DM(s) while out of office, not counted")
    if outcomes:
        done.append(f"customer decisions after their meetings: {outcomes}")
    return f"{head}\n      {' · '.join(done)}"


def planning_line(p: Planning, before: Planning | None, style: Style) -> str:
    lead = format_duration(p.lead_median_h * 3600) if p.lead_median_h is not None else "—"
    return (
        f"{style.who(p.person)}: {p.requests} requests · median lead time {lead} · last-minute "
        f"{format_percent(p.last_minute_share)}"
        f"{_delta(p.last_minute_share, before.last_minute_share if before else None, percent=True, better='down')}"
        f" · briefs on time {p.briefs_on_time} of {p.briefs_needed} · outcomes recorded "
        f"{p.decisions_captured} of {p.meetings_over} meetings"
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
    out = [("Team", team_lines(data, style))]
    out.append(("Experts, by response rate then claims",
                [expert_line(i, e, data.previous_experts.get(e.person.id), style) for i, e in enumerate(data.experts, 1)]))
    planning = [planning_line(data.planning_team, data.previous_planning_team, style)]
    planning += [planning_line(p, None, style) for p in data.planning]
    out.append(("Planning (AEs)", planning))
    out.append(("Gaps", [f"{style.text(g.skill)}: {g.requests} requested, {g.unfilled} unfilled, "
                         f"{g.experts} available expert(s)" for g in data.gaps] or ["None: every requested skill had cover."]))
    return out


def week_name(data: DigestData, now: datetime | None = None) -> str:
    """'Last week, 16–22 Nov' (or 'This week so far', or 'Week of 2–8 Nov 2026')."""
    week = data.week
    span = (f"{week.monday:%-d}–{week.sunday:%-d %b}" if week.monday.month == week.sunday.month
            else f"{week.monday:%-d %b}–{week.sunday:%-d %b}")
    if now is not None:
        today = clock.to_local(now, week.tz).date()
        if week.monday <= today <= week.sunday:
            return f"This week so far, {span}"
        if week.monday <= today - timedelta(days=7) <= week.sunday:
            return f"Last week, {span}"
    return f"Week of {span} {week.sunday:%Y}"


def title(data: DigestData, now: datetime | None = None) -> str:
    return f"Pre-sales digest · {week_name(data, now)}"


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


def messages(data: DigestData, now: datetime | None = None) -> list[tuple[str, list[dict]]]:
    """One or more messages that read on a phone: the week's name and what the figures mean first,
    the team as fields, then two short lines per expert (a long table continues in the next)."""
    week = data.week
    head = title(data, now)
    pages: list[list[Block]] = [[
        HeaderBlock(text=plain(f"📊 {head}"[:150])),
        ContextBlock(elements=[md(f"{week.label} · Mon {week.monday:%-d %b} – Sun {week.sunday:%-d %b}, "
                                  f"{week.tz} time. {LEGEND}")]),
    ]]
    for heading, lines in sections(data, Style(slack=True)):
        if heading == "Team":
            pages[-1].append(SectionBlock(text=md("*Team*"), fields=[md(f"*{label}*\n{value}")
                                                                    for label, value in team_fields(data)]))
            extra = [line for line in lines if line.startswith(("By type", "By skill"))]
            if extra:
                pages[-1].append(ContextBlock(elements=[md("\n".join(extra)[:2900])]))
            continue
        groups = [lines[i:i + EXPERTS_PER_MESSAGE] for i in range(0, len(lines), EXPERTS_PER_MESSAGE)] or [[]]
        for index, group in enumerate(groups):
            blocks = _section_blocks(f"{heading} (continued)" if index else heading, group)
            if index or len(pages[-1]) + len(blocks) > MESSAGE_BLOCKS_MAX - 1:
                pages.append([])
            pages[-1] += blocks
    pages[-1].append(ContextBlock(elements=[md(
        f"`/presales digest {week.label}` shows any week; `presales-bot digest --format csv` exports it.")]))
    total = len(pages)
    text = f"{head} ({week.label})"
    return [(f"{text} ({i}/{total})" if total > 1 else text, as_dicts(page)) for i, page in enumerate(pages, 1)]


def as_text(data: DigestData) -> str:
    style = Style(slack=False)
    head = f"{title(data)} ({data.week.label}, {data.week.tz})"
    lines = [head, "=" * len(head), LEGEND]
    for heading, body in sections(data, style):
        lines += ["", heading, "-" * len(heading), *body]
    return "\n".join(lines) + "\n"


def as_csv(data: DigestData) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["week", "section", "who", "metric", "value"])
    t, w = data.team, data.week.label
    writer.writerow([w, "about", "", "times", TIMES_ARE])
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
        "week": data.week.label, "timezone": data.week.tz, "times": TIMES_ARE, "start": data.week.start.isoformat(),
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


def chart_args(data: DigestData) -> dict:
    """What the chart shows (bot/slack/chart.py): every expert who got a DM (silent ones too), the
    team's rate and median, and the team's last weeks."""
    bars = [ExpertBar(name=e.person.name or e.person.slack_user_id, answered=e.figures.responded,
                      sent=e.figures.notified,
                      median_min=e.figures.median_s / 60 if e.figures.median_s is not None else None)
            for e in data.experts if e.figures.notified]
    team = data.team_responses
    trend = [WeekPoint(label=f"{w.monday:%-d %b}", rate=f.response_rate, sent=f.notified,
                       median_min=f.median_s / 60 if f.median_s is not None else None) for w, f in data.trend]
    return {"bars": bars, "title": f"Experts, {week_name(data)} ({data.week.label})", "team_rate": team.response_rate,
            "team_median_min": team.median_s / 60 if team.median_s is not None else None, "trend": trend}


def headline(data: DigestData) -> str:
    """This week so far, in one line (the manager's App Home)."""
    t = data.team
    responses = [e.figures for e in data.experts]
    notified = sum(f.notified for f in responses)
    responded = sum(f.responded for f in responses)
    rate = format_percent(responded / notified) if notified else "—"
    return (f"{t.made} requests · {t.filled} filled ({format_percent(t.fill_rate)}) · median time to claim "
            f"{format_duration(t.claim_median_s)} · expert response rate {rate}")

