"""Response figures, computed in SQL (one query per table, never a Python loop over rows).

Definitions (the README repeats them; managers are judged on these):
- *notified*: offers (DMs) Slack accepted (``sent_at``: the ``ts`` Slack returned) in the period,
  except those that reached the expert while their Slack status said out of office and that
  they did not answer (*excused*: they do not count against anyone).
- *responded*: notified offers the expert answered (claim, decline, or a late claim
  click after someone else won), timed at the click (Slack's ``action_ts``). Ignored offers
  count against the response rate.
- *response rate*: responded / notified.
- *time to respond*: from the DM to the first click, counted in the expert's working time
  (``response_work_ms``: only the part inside their working days and hours, in their
  timezone); median and p90 are linear-interpolated percentiles (PostgreSQL's
  percentile_cont). The wall-clock time (``response_ms``) is kept too (``wall_median_s``).
- *claims*: requests the expert won (also after declining first, or from the experts channel);
  *declines*: first responses that were a decline.
- Per request: *time to first response* = first response - broadcast; *time to claim* =
  first claim - broadcast.
The period holds an offer by ``coalesce(sent_at, responded_at)`` and a request by ``broadcast_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.orm import Session

from bot.errors import NotAllowed
from bot.services import people
from bot.services.sql import PercentileSpec, elapsed_ms, percentile_columns
from models import Offer, Person, Request, Response

P50 = PercentileSpec("p50", 0.5)
P90 = PercentileSpec("p90", 0.9)
WALL50 = PercentileSpec("wall50", 0.5)


@dataclass(frozen=True)
class ResponseFigures:
    notified: int = 0
    responded: int = 0
    claims: int = 0
    declines: int = 0
    median_s: float | None = None  # working time
    p90_s: float | None = None  # working time
    excused: int = 0  # reached while out of office and not answered: not in ``notified``
    wall_median_s: float | None = None  # wall-clock, when asked for (``wall=True``)

    @property
    def response_rate(self) -> float | None:
        return self.responded / self.notified if self.notified else None


@dataclass(frozen=True)
class TeamFigures:
    responses: ResponseFigures
    requests: int
    claimed: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    claim_median_s: float | None
    claim_p90_s: float | None


def _seconds(ms) -> float | None:
    return None if ms is None else round(float(ms) / 1000.0, 3)


def _offer_scope(team_id: str, since: datetime, until: datetime):
    """Offers of the period by coalesce(sent_at, responded_at), written so the sent_at index
    serves it (a coalesce() in the WHERE clause would scan every offer)."""
    sent = and_(Offer.sent_at >= since, Offer.sent_at < until)
    unsent = and_(Offer.sent_at.is_(None), Offer.responded_at >= since, Offer.responded_at < until)
    real = Offer.request_id.not_in(select(Request.id).where(Request.synthetic.is_(True)))  # self-tests count nowhere
    return and_(Person.team_id == team_id, or_(sent, unsent), real)


def response_figures(
    session: Session,
    *,
    team_id: str,
    since: datetime,
    until: datetime,
    expert_ids: list[int] | None = None,
    by_expert: bool = True,
    wall: bool = False,
) -> dict[int | None, ResponseFigures]:
    """Figures per expert id (or one entry keyed None for the whole team); ``wall`` adds the
    wall-clock median (one more sort of the period's responses)."""
    scope = _offer_scope(team_id, since, until)
    if expert_ids is not None:
        scope = and_(scope, Offer.expert_id.in_(expert_ids))
    sent = Offer.sent_at.is_not(None)
    answered = and_(sent, Offer.responded_at.is_not(None))
    excused = and_(sent, Offer.excused.is_(True), Offer.responded_at.is_(None))
    group = [Offer.expert_id] if by_expert else []
    counts = (
        select(
            *group,
            func.sum(case((and_(sent, not_(excused)), 1), else_=0)).label("notified"),
            func.sum(case((excused, 1), else_=0)).label("excused"),
            func.sum(case((answered, 1), else_=0)).label("responded"),
            func.count(Offer.claimed_at).label("claims"),
            func.sum(case((Offer.response == Response.DECLINE.value, 1), else_=0)).label("declines"),
        )
        .join(Person, Person.id == Offer.expert_id)
        .where(scope)
    )
    if group:
        counts = counts.group_by(*group)
    counts = counts.subquery("counts")
    pct = percentile_columns(
        case((answered, Offer.response_work_ms)),
        group,
        [P50, P90],
        where=and_(scope, Person.id == Offer.expert_id),
    )
    columns = [counts, pct.c.p50, pct.c.p90]
    if wall:
        wall_pct = percentile_columns(case((answered, Offer.response_ms)), group, [WALL50],
                                      where=and_(scope, Person.id == Offer.expert_id), name="wall_percentiles")
        columns.append(wall_pct.c.wall50)
    stmt = select(*columns).select_from(counts)
    if group:
        stmt = stmt.outerjoin(pct, pct.c.expert_id == counts.c.expert_id)
        if wall:
            stmt = stmt.outerjoin(wall_pct, wall_pct.c.expert_id == counts.c.expert_id)
    else:
        stmt = stmt.outerjoin(pct, true())
        if wall:
            stmt = stmt.outerjoin(wall_pct, true())
    out: dict[int | None, ResponseFigures] = {}
    for row in session.execute(stmt).mappings():
        key = row["expert_id"] if group else None
        out[key] = ResponseFigures(
            notified=int(row["notified"] or 0),
            responded=int(row["responded"] or 0),
            claims=int(row["claims"] or 0),
            declines=int(row["declines"] or 0),
            median_s=_seconds(row["p50"]),
            p90_s=_seconds(row["p90"]),
            excused=int(row["excused"] or 0),
            wall_median_s=_seconds(row["wall50"]) if wall else None,
        )
    return out


def weekly_counts(session: Session, *, team_id: str, bounds: list[datetime]) -> list[ResponseFigures]:
    """The team's DMs and answers for each period between consecutive ``bounds`` (the weeks of a
    trend): counts only, one GROUP BY over the sent_at index (medians need a sort per week)."""
    if len(bounds) < 2:
        return []
    bucket = case(*((Offer.sent_at < edge, index) for index, edge in enumerate(bounds[1:])), else_=None).label("bucket")
    sent = and_(Offer.sent_at >= bounds[0], Offer.sent_at < bounds[-1])
    real = Offer.request_id.not_in(select(Request.id).where(Request.synthetic.is_(True)))
    answered = Offer.responded_at.is_not(None)
    excused = and_(Offer.excused.is_(True), Offer.responded_at.is_(None))
    rows = session.execute(
        select(bucket, func.sum(case((not_(excused), 1), else_=0)).label("notified"),
               func.sum(case((answered, 1), else_=0)).label("responded"),
               func.sum(case((excused, 1), else_=0)).label("excused"))
        .join(Person, Person.id == Offer.expert_id).where(Person.team_id == team_id, sent, real).group_by(bucket)
    ).mappings()
    out = [ResponseFigures() for _ in bounds[1:]]
    for row in rows:
        if row["bucket"] is not None:
            out[int(row["bucket"])] = ResponseFigures(notified=int(row["notified"] or 0),
                                                      responded=int(row["responded"] or 0),
                                                      excused=int(row["excused"] or 0))
    return out


def team_figures(session: Session, *, team_id: str, since: datetime, until: datetime) -> TeamFigures:
    responses = response_figures(session, team_id=team_id, since=since, until=until, by_expert=False,
                                 wall=True).get(
        None, ResponseFigures()
    )
    in_period = and_(Request.team_id == team_id, Request.broadcast_at >= since, Request.broadcast_at < until,
                     Request.synthetic.is_(False))
    first_response = (
        select(Offer.request_id, func.min(Offer.responded_at).label("first_at"))
        .where(Offer.responded_at.is_not(None))
        .group_by(Offer.request_id)
        .subquery("first_response")
    )
    per_request = (
        select(
            Request.id.label("request_id"),
            elapsed_ms(first_response.c.first_at, Request.broadcast_at).label("to_first"),
            elapsed_ms(Request.first_claimed_at, Request.broadcast_at).label("to_claim"),
            Request.first_claimed_at,
        )
        .outerjoin(first_response, first_response.c.request_id == Request.id)
        .where(in_period)
        .subquery("per_request")
    )
    totals = session.execute(
        select(func.count(), func.count(per_request.c.first_claimed_at)).select_from(per_request)
    ).one()
    first = session.execute(
        select(percentile_columns(per_request.c.to_first, [], [P50, P90]))
    ).mappings().one_or_none() or {}
    to_claim = session.execute(
        select(percentile_columns(per_request.c.to_claim, [], [P50, P90]))
    ).mappings().one_or_none() or {}
    return TeamFigures(
        responses=responses,
        requests=int(totals[0]),
        claimed=int(totals[1]),
        first_response_median_s=_seconds(first.get("p50")),
        first_response_p90_s=_seconds(first.get("p90")),
        claim_median_s=_seconds(to_claim.get("p50")),
        claim_p90_s=_seconds(to_claim.get("p90")),
    )


@dataclass(frozen=True)
class ExpertRow:
    person: Person
    figures: ResponseFigures


def expert_table(session: Session, *, team_id: str, since: datetime, until: datetime, limit: int = 50) -> list[ExpertRow]:
    """Every active expert (silence included), ranked by response rate, then speed."""
    figures = response_figures(session, team_id=team_id, since=since, until=until)
    listed = list(
        session.scalars(
            select(Person).where(
                Person.team_id == team_id,
                (Person.is_expert.is_(True)) | Person.id.in_([k for k in figures if k is not None] or [-1]),
            )
        )
    )
    rows = [ExpertRow(p, figures.get(p.id, ResponseFigures())) for p in listed]
    rows.sort(
        key=lambda r: (
            -(r.figures.response_rate if r.figures.response_rate is not None else -1),
            r.figures.median_s if r.figures.median_s is not None else float("inf"),
            r.person.slack_user_id,
        )
    )
    return rows[:limit]


@dataclass(frozen=True)
class StatsView:
    single: tuple[str, ResponseFigures] | None
    team: TeamFigures | None
    rows: list[ExpertRow]


def for_viewer(session: Session, *, team_id: str, viewer_user_id: str, target_user_id: str | None,
               admins: frozenset[str], since: datetime, until: datetime) -> StatsView:
    """What `/presales stats [@someone]` may show this viewer: their own figures; managers
    also anyone's, and the team with every expert."""
    roles = people.roles_of(session, team_id=team_id, user_id=viewer_user_id, admins=admins)
    if target_user_id and target_user_id != viewer_user_id and not roles.can_manage:
        raise NotAllowed("Only managers can see someone else's figures. `/presales stats` shows yours.")
    who = target_user_id or (None if roles.can_manage else viewer_user_id)
    single = None
    if who:
        person = people.get_person(session, team_id=team_id, user_id=who)
        figures = ResponseFigures()
        if person is not None:
            figures = response_figures(session, team_id=team_id, since=since, until=until,
                                       expert_ids=[person.id], wall=True).get(person.id, ResponseFigures())
        single = (who, figures)
    if roles.can_manage and not target_user_id:
        return StatsView(single, team_figures(session, team_id=team_id, since=since, until=until),
                         expert_table(session, team_id=team_id, since=since, until=until, limit=40))
    return StatsView(single, None, [])
