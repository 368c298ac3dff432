"""What each person's App Home shows: their requests, their offers and meetings, and for
managers the week so far and what is at risk. Read-only queries, newest first, capped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.services import availability, people
from bot.services import matching
from bot.services.stats import ResponseFigures, response_figures
from models import Brief, DueNotice, FollowUp, NoticeKind, NoticeState, Offer, Person, Request, RequestStatus

LIVE = (RequestStatus.HELD.value, RequestStatus.OPEN.value, RequestStatus.CLAIMED.value)
AT_RISK_WITHIN = timedelta(hours=48)
FIGURES_PERIOD = timedelta(weeks=4)


@dataclass
class Listing:
    items: list = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass
class RequestRow:
    request: Request
    has_brief: bool
    followup_due: bool = False


@dataclass
class HomeData:
    person: Person
    roles: people.Roles
    offers: Listing  # open requests offered to this expert now
    meetings: Listing  # requests they claimed, upcoming
    mine: Listing  # requests they asked for
    figures: ResponseFigures | None
    at_risk: Listing  # managers: unfilled and at-risk requests
    skills: list[tuple[str, str]]
    load: int
    now: datetime
    hours: availability.Hours | None = None  # the expert's working days and hours


def _listing(session: Session, stmt, limit: int) -> Listing:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return Listing(items=list(session.scalars(stmt.limit(limit))), total=total)


def _rows(session: Session, requests: list[Request], *, person_id: int | None = None) -> list[RequestRow]:
    ids = [r.id for r in requests] or [-1]
    with_brief = set(session.scalars(select(Brief.request_id).where(Brief.request_id.in_(ids))))
    due = set()
    if person_id is not None:
        answered = select(FollowUp.request_id).where(FollowUp.person_id == person_id)
        due = set(session.scalars(select(DueNotice.request_id).where(
            DueNotice.request_id.in_(ids), DueNotice.kind == NoticeKind.FOLLOWUP.value,
            DueNotice.recipient_id == person_id, DueNotice.state == NoticeState.SENT.value,
            DueNotice.request_id.not_in(answered))))
    return [RequestRow(r, r.id in with_brief, r.id in due) for r in requests]


def load(session: Session, *, person: Person, admins: frozenset[str], now: datetime, limit: int = 8,
         default_hours: availability.Hours | None = None) -> HomeData:
    roles = people.roles_of(session, team_id=person.team_id, user_id=person.slack_user_id, admins=admins)
    when = func.coalesce(Request.meeting_at, Request.needed_by)
    offers = meetings = at_risk = Listing()
    figures = None
    if roles.expert or person.is_expert:
        offers = _listing(session, select(Request).join(Offer, Offer.request_id == Request.id).where(
            Offer.expert_id == person.id, Request.status == RequestStatus.OPEN.value,
        ).order_by(when, Request.id), limit)
        meetings = _listing(session, select(Request).where(
            Request.claimed_by_id == person.id, Request.status == RequestStatus.CLAIMED.value,
            or_(when.is_(None), when >= now - timedelta(hours=12)),
        ).order_by(when, Request.id), limit)
        figures = response_figures(session, team_id=person.team_id, since=now - FIGURES_PERIOD,
                                   until=now + timedelta(seconds=1),
                                   expert_ids=[person.id]).get(person.id, ResponseFigures())
    mine = _listing(session, select(Request).where(
        Request.requester_id == person.id,
        or_(Request.status.in_(LIVE), Request.updated_at >= now - timedelta(days=14)),
    ).order_by(Request.created_at.desc(), Request.id.desc()), limit)
    if roles.can_manage:
        no_brief = and_(Request.needs_brief.is_(True), Request.id.not_in(select(Brief.request_id)))
        soon = and_(when.is_not(None), when >= now, when < now + AT_RISK_WITHIN)
        at_risk = _listing(session, select(Request).where(
            Request.team_id == person.team_id,
            or_(
                and_(soon, Request.status.in_([RequestStatus.OPEN.value, RequestStatus.HELD.value])),
                and_(soon, Request.status == RequestStatus.CLAIMED.value, no_brief),
                and_(Request.status == RequestStatus.UNFILLED.value, Request.updated_at >= now - timedelta(days=7)),
            ),
        ).order_by(when, Request.id), limit)
    return HomeData(
        person=person, roles=roles,
        offers=Listing(_rows(session, offers.items), offers.total),
        meetings=Listing(_rows(session, meetings.items), meetings.total),
        mine=Listing(_rows(session, mine.items, person_id=person.id), mine.total),
        figures=figures,
        at_risk=Listing(_rows(session, at_risk.items), at_risk.total),
        skills=sorted((es.skill.name, es.level) for es in person.skills),
        load=matching.load_of(session, person_id=person.id, now=now) if person.is_expert else 0,
        now=now,
        hours=availability.hours_of(person, default_hours) if person.is_expert and default_hours else None,
    )


def seen(session: Session, *, person: Person, now: datetime) -> None:
    person.home_seen_at = now


def watchers(session: Session, *, request_id: int, since: datetime) -> list[Person]:
    """Whose Home shows this request — the requester, the claimer, the experts it was offered
    to — among those who opened their Home recently (no point publishing a Home nobody looks at)."""
    request = session.get(Request, request_id)
    if request is None:
        return []
    ids = {request.requester_id}
    if request.claimed_by_id:
        ids.add(request.claimed_by_id)
    ids |= set(session.scalars(select(Offer.expert_id).where(Offer.request_id == request_id)))
    return list(session.scalars(select(Person).where(Person.id.in_(ids), Person.home_seen_at >= since)))
