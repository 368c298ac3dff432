"""The managers' weekly digest: every figure computed in SQL over the recorded rows.

Windows are ISO weeks (Monday 00:00 to the next Monday 00:00) in the reader's timezone,
stored and compared in UTC, so a DST week is 167 or 169 hours long and nothing is
counted twice or lost. Definitions (the README repeats them):

Team (requests created in the week): made; filled = claimed at some point; unfilled and
cancelled = their status now; fill rate = filled / (made - cancelled); time to claim =
first claim - broadcast (median, p90); escalated = requests that needed at least one
escalation step (re-ping, widen, managers); by type and by skill.
Experts (DMs sent in the week): see bot/services/stats.py; plus hours reported in follow-ups
answered in the week, and the outcomes the AEs reported that week for requests the expert
had claimed. Every active expert is listed, silent ones too.
Planning (requests created in the week, per AE and for the team): median lead time from
request to meeting; last-minute share; brief compliance = briefs complete by their due time
/ requests that needed one; decisions captured = AE follow-ups with an outcome / claimed
requests whose meeting is over.
Gaps: skills requested in the week with fewer than two available experts, or with a request
that went unfilled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from bot import clock
from bot.errors import InvalidInput, quote
from bot.services.sql import PercentileSpec, elapsed_ms, percentile_columns
from bot.services.stats import ResponseFigures, response_figures, weekly_counts
from models import (
    Brief,
    DueNotice,
    ExpertSkill,
    FollowUp,
    NoticeKind,
    NoticeState,
    Person,
    Request,
    RequestStatus,
    Skill,
    request_skills,
)

P50 = PercentileSpec("p50", 0.5)
P90 = PercentileSpec("p90", 0.9)
GAP_MIN_EXPERTS = 2
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


# ---------------------------------------------------------------- weeks


@dataclass(frozen=True)
class Week:
    label: str  # "2026-W47"
    monday: date
    tz: str
    start: datetime  # UTC, Monday 00:00 local
    end: datetime  # UTC, the next Monday 00:00 local

    @property
    def previous(self) -> "Week":
        return week_of(self.monday - timedelta(days=7), self.tz)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def week_of(day: date, tz: str) -> Week:
    year, number, _ = day.isocalendar()
    monday = date.fromisocalendar(year, number, 1)
    return Week(label=f"{year}-W{number:02d}", monday=monday, tz=tz, start=clock.local_midnight(monday, tz),
                end=clock.local_midnight(monday + timedelta(days=7), tz))


def parse_week(text: str | None, *, tz: str, now: datetime) -> Week:
    """'last' (default), 'this', or an ISO week like 2026-W47, in ``tz``."""
    raw = (text or "last").strip().lower()
    today = clock.to_local(now, tz).date()
    if raw in ("last", "previous", "prev"):
        return week_of(today - timedelta(days=7), tz)
    if raw in ("this", "current", "now"):
        return week_of(today, tz)
    match = _WEEK.match(raw)
    if not match:
        raise InvalidInput(f"'{quote(text, 30)}' is not a week: use `last`, `this` or an ISO week like 2026-W47.")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise InvalidInput(f"{year} has no week {number}: ISO weeks run from W01 to W52 or W53.") from None
    week = week_of(monday, tz)
    if week.start > now:
        raise InvalidInput(f"{week.label} has not started yet; `this` is the week so far.")
    return week


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class TeamWeek:
    made: int = 0
    filled: int = 0
    unfilled: int = 0
    cancelled: int = 0
    claim_median_s: float | None = None
    claim_p90_s: float | None = None
    escalated: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_skill: dict[str, int] = field(default_factory=dict)

    @property
    def fill_rate(self) -> float | None:
        base = self.made - self.cancelled
        return self.filled / base if base > 0 else None


@dataclass(frozen=True)
class ExpertWeek:
    person: Person
    figures: ResponseFigures
    hours: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Planning:
    person: Person | None  # None: the whole team
    requests: int = 0
    lead_median_h: float | None = None
    last_minute: int = 0
    briefs_needed: int = 0
    briefs_on_time: int = 0
    meetings_over: int = 0
    decisions_captured: int = 0

    @property
    def last_minute_share(self) -> float | None:
        return self.last_minute / self.requests if self.requests else None

    @property
    def brief_compliance(self) -> float | None:
        return self.briefs_on_time / self.briefs_needed if self.briefs_needed else None

    @property
    def capture_rate(self) -> float | None:
        return self.decisions_captured / self.meetings_over if self.meetings_over else None


@dataclass(frozen=True)
class Gap:
    skill: str
    requests: int
    unfilled: int
    experts: int


@dataclass
class DigestData:
    week: Week
    team: TeamWeek
    previous_team: TeamWeek
    experts: list[ExpertWeek]
    previous_experts: dict[int, ResponseFigures]
    planning: list[Planning]
    planning_team: Planning
    previous_planning_team: Planning
    gaps: list[Gap]
    first_request_at: datetime | None
    # the team's response figures of the weeks up to this one, oldest first (for the chart's trend)
    trend: list[tuple[Week, ResponseFigures]] = field(default_factory=list)

    @property
    def team_responses(self) -> ResponseFigures:
        """This week's figures of the whole team (the trend's last point, else summed from experts)."""
        if self.trend and self.trend[-1][0].label == self.week.label:
            return self.trend[-1][1]
        figures = [e.figures for e in self.experts]
        return ResponseFigures(notified=sum(f.notified for f in figures), responded=sum(f.responded for f in figures))

    @property
    def silent(self) -> list[ExpertWeek]:
        """Experts who got DMs this week and answered none."""
        return [e for e in self.experts if e.figures.notified and not e.figures.responded]

    @property
    def empty(self) -> bool:
        return self.team.made == 0 and not any(e.figures.notified for e in self.experts)


def _in_week(team_id: str, week: Week):
    return and_(Request.team_id == team_id, Request.created_at >= week.start, Request.created_at < week.end,
                Request.synthetic.is_(False))


def _seconds(ms) -> float | None:
    return None if ms is None else round(float(ms) / 1000.0, 3)


def team_week(session: Session, *, team_id: str, week: Week) -> TeamWeek:
    scope = _in_week(team_id, week)
    row = session.execute(
        select(
            func.count(),
            func.count(Request.first_claimed_at),
            func.sum(case((Request.status == RequestStatus.UNFILLED.value, 1), else_=0)),
            func.sum(case((Request.status == RequestStatus.CANCELLED.value, 1), else_=0)),
        ).where(scope)
    ).one()
    pct = session.execute(select(percentile_columns(
        elapsed_ms(Request.first_claimed_at, Request.broadcast_at), [], [P50, P90], where=scope,
    ))).mappings().one_or_none() or {}
    escalated = session.scalar(
        select(func.count(distinct(DueNotice.request_id)))
        .join(Request, Request.id == DueNotice.request_id)
        .where(scope, DueNotice.state == NoticeState.SENT.value,
               DueNotice.kind.in_([NoticeKind.REPING.value, NoticeKind.WIDEN.value, NoticeKind.ESCALATE.value]))
    ) or 0
    by_kind = dict(session.execute(select(Request.kind, func.count()).where(scope).group_by(Request.kind)).all())
    by_skill = dict(session.execute(
        select(Skill.name, func.count())
        .join(request_skills, request_skills.c.skill_id == Skill.id)
        .join(Request, Request.id == request_skills.c.request_id)
        .where(scope).group_by(Skill.name).order_by(func.count().desc(), Skill.name)
    ).all())
    return TeamWeek(made=int(row[0]), filled=int(row[1]), unfilled=int(row[2] or 0), cancelled=int(row[3] or 0),
                    claim_median_s=_seconds(pct.get("p50")), claim_p90_s=_seconds(pct.get("p90")),
                    escalated=int(escalated), by_kind=by_kind, by_skill=by_skill)


def experts_week(session: Session, *, team_id: str, week: Week) -> list[ExpertWeek]:
    figures = response_figures(session, team_id=team_id, since=week.start, until=week.end)
    answered = and_(FollowUp.answered_at >= week.start, FollowUp.answered_at < week.end)
    hours = dict(session.execute(
        select(FollowUp.person_id,
               func.sum(func.coalesce(FollowUp.prep_hours, 0) + func.coalesce(FollowUp.meeting_hours, 0)))
        .join(Person, Person.id == FollowUp.person_id)
        .where(answered, FollowUp.role == "expert", Person.team_id == team_id)
        .group_by(FollowUp.person_id)
    ).all())
    outcomes: dict[int, dict[str, int]] = {}
    for expert_id, decided, count in session.execute(
        select(Request.claimed_by_id, FollowUp.decision_made, func.count())
        .join(Request, Request.id == FollowUp.request_id)
        .where(answered, FollowUp.role == "ae", Request.team_id == team_id, Request.claimed_by_id.is_not(None))
        .group_by(Request.claimed_by_id, FollowUp.decision_made)
    ).all():
        outcomes.setdefault(expert_id, {})[decided or "unknown"] = int(count)
    active = set(figures) | set(hours) | set(outcomes)
    people = session.scalars(select(Person).where(
        Person.team_id == team_id, or_(Person.is_expert.is_(True), Person.id.in_(active or {-1}))
    ))
    rows = [ExpertWeek(p, figures.get(p.id, ResponseFigures()), float(hours.get(p.id) or 0.0), outcomes.get(p.id, {}))
            for p in people]
    rows.sort(key=lambda r: (
        -(r.figures.response_rate if r.figures.response_rate is not None else -1),
        -r.figures.claims,
        r.figures.median_s if r.figures.median_s is not None else float("inf"),
        r.person.slack_user_id,
    ))
    return rows


def planning_week(session: Session, *, team_id: str, week: Week, due_before: timedelta, now: datetime,
                  by_ae: bool = True) -> list[Planning]:
    scope = _in_week(team_id, week)
    group = [Request.requester_id] if by_ae else []
    due_ms = due_before.total_seconds() * 1000
    on_time = and_(Request.needs_brief.is_(True), Brief.completed_at.is_not(None),
                   elapsed_ms(Request.meeting_at, Brief.completed_at) >= due_ms)
    ae_answer = (
        select(FollowUp.request_id).where(FollowUp.role == "ae", FollowUp.decision_made.is_not(None)).subquery()
    )
    over = and_(Request.first_claimed_at.is_not(None), Request.status == RequestStatus.CLAIMED.value,
                Request.meeting_at.is_not(None), Request.meeting_at < now)
    counts = (
        select(
            *group,
            func.count(Request.id).label("requests"),
            func.sum(case((Request.last_minute.is_(True), 1), else_=0)).label("last_minute"),
            func.sum(case((Request.needs_brief.is_(True), 1), else_=0)).label("briefs_needed"),
            func.sum(case((on_time, 1), else_=0)).label("briefs_on_time"),
            func.sum(case((over, 1), else_=0)).label("meetings_over"),
            func.sum(case((and_(over, ae_answer.c.request_id.is_not(None)), 1), else_=0)).label("captured"),
        )
        .outerjoin(Brief, Brief.request_id == Request.id)
        .outerjoin(ae_answer, ae_answer.c.request_id == Request.id)
        .where(scope)
    )
    if group:
        counts = counts.group_by(*group)
    counts = counts.subquery("counts")
    lead = percentile_columns(elapsed_ms(Request.meeting_at, Request.created_at), group, [P50], where=scope)
    if group:
        stmt = select(counts, lead.c.p50).outerjoin(lead, lead.c.requester_id == counts.c.requester_id)
    else:
        stmt = select(counts, lead.c.p50).outerjoin(lead, true())
    rows = []
    people = {}
    result = session.execute(stmt).mappings().all()
    if group:
        ids = [r["requester_id"] for r in result]
        people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids or [-1])))}
    for r in result:
        rows.append(Planning(
            person=people.get(r["requester_id"]) if group else None,
            requests=int(r["requests"] or 0),
            lead_median_h=None if r["p50"] is None else round(float(r["p50"]) / 3_600_000, 2),
            last_minute=int(r["last_minute"] or 0),
            briefs_needed=int(r["briefs_needed"] or 0),
            briefs_on_time=int(r["briefs_on_time"] or 0),
            meetings_over=int(r["meetings_over"] or 0),
            decisions_captured=int(r["captured"] or 0),
        ))
    rows.sort(key=lambda p: (-p.requests, p.person.slack_user_id if p.person else ""))
    return rows


def gaps_week(session: Session, *, team_id: str, week: Week, now: datetime) -> list[Gap]:
    scope = _in_week(team_id, week)
    requested = (
        select(request_skills.c.skill_id.label("skill_id"), func.count().label("requests"),
               func.sum(case((Request.status == RequestStatus.UNFILLED.value, 1), else_=0)).label("unfilled"))
        .join(Request, Request.id == request_skills.c.request_id)
        .where(scope).group_by(request_skills.c.skill_id).subquery("requested")
    )
    available = (
        select(ExpertSkill.skill_id.label("skill_id"), func.count().label("experts"))
        .join(Person, Person.id == ExpertSkill.person_id)
        .where(Person.team_id == team_id, Person.is_expert.is_(True),
               or_(Person.away_until.is_(None), Person.away_until <= now, Person.away_from > now))
        .group_by(ExpertSkill.skill_id).subquery("available")
    )
    experts = func.coalesce(available.c.experts, 0)
    rows = session.execute(
        select(Skill.name, requested.c.requests, requested.c.unfilled, experts)
        .join(requested, requested.c.skill_id == Skill.id)
        .outerjoin(available, available.c.skill_id == Skill.id)
        .where(or_(experts < GAP_MIN_EXPERTS, requested.c.unfilled > 0))
        .order_by(requested.c.unfilled.desc(), experts.asc(), requested.c.requests.desc(), Skill.name)
    ).all()
    return [Gap(skill=n, requests=int(r), unfilled=int(u or 0), experts=int(e)) for n, r, u, e in rows]


def trend(session: Session, *, team_id: str, week: Week, weeks: int) -> list[tuple[Week, ResponseFigures]]:
    """The team's response rate for ``weeks`` weeks ending with ``week`` (one counting query over
    them), and this week's full figures."""
    weeks_ = [week]
    for _ in range(weeks - 1):
        weeks_.append(weeks_[-1].previous)
    weeks_.reverse()
    figures = weekly_counts(session, team_id=team_id, bounds=[w.start for w in weeks_] + [week.end])
    # this week's point also has the team's median (the chart marks it); earlier weeks: counts
    figures[-1] = response_figures(session, team_id=team_id, since=week.start, until=week.end,
                                   by_expert=False).get(None, figures[-1])
    return list(zip(weeks_, figures))


def compute(session: Session, *, team_id: str, week: Week, due_before: timedelta, now: datetime,
            trend_weeks: int = 0) -> DigestData:
    """The digest of ``week``; ``trend_weeks`` adds the team's figures of that many weeks (the chart)."""
    previous = week.previous
    team = team_week(session, team_id=team_id, week=week)
    planning_team = planning_week(session, team_id=team_id, week=week, due_before=due_before, now=now, by_ae=False)
    previous_planning = planning_week(session, team_id=team_id, week=previous, due_before=due_before, now=now,
                                      by_ae=False)
    first = session.scalar(select(func.min(Request.created_at)).where(Request.team_id == team_id))
    return DigestData(
        week=week,
        team=team,
        previous_team=team_week(session, team_id=team_id, week=previous),
        experts=experts_week(session, team_id=team_id, week=week),
        previous_experts=response_figures(session, team_id=team_id, since=previous.start, until=previous.end),
        planning=planning_week(session, team_id=team_id, week=week, due_before=due_before, now=now),
        planning_team=planning_team[0] if planning_team else Planning(person=None),
        previous_planning_team=previous_planning[0] if previous_planning else Planning(person=None),
        gaps=gaps_week(session, team_id=team_id, week=week, now=now),
        first_request_at=first,
        trend=trend(session, team_id=team_id, week=week, weeks=trend_weeks) if trend_weeks else [],
    )
