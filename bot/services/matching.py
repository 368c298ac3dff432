"""Matching a request to the experts who should hear about it, and who may claim it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from bot.services import availability
from bot.services.sql import epoch_ms
from models import ExpertSkill, Offer, Person, Request, RequestStatus, SkillLevel

SPEED_WINDOW = timedelta(days=90)
# A claimed request keeps counting as load until its time has passed by this much.
LOAD_GRACE = timedelta(hours=12)


def load_subquery(now: datetime):
    """Open claims per expert: claimed requests whose time has not passed."""
    when = func.coalesce(Request.meeting_at, Request.needed_by)
    return (
        select(Request.claimed_by_id.label("person_id"), func.count().label("load"))
        .where(
            Request.status == RequestStatus.CLAIMED.value,
            or_(when.is_(None), when >= now - LOAD_GRACE),
        )
        .group_by(Request.claimed_by_id)
        .subquery("load")
    )


def load_of(session: Session, *, person_id: int, now: datetime) -> int:
    load = load_subquery(now)
    return int(session.scalar(select(load.c.load).where(load.c.person_id == person_id)) or 0)


@dataclass
class Match:
    person: Person
    matched: int
    weight: int
    load: int
    speed_ms: float | None


def _skills_matched(skill_ids: Sequence[int]):
    """Per expert: how many of the skills they have, and those skills weighed by level."""
    level_weight = case(
        (ExpertSkill.level == SkillLevel.EXPERT.value, 3),
        (ExpertSkill.level == SkillLevel.PROFICIENT.value, 2),
        else_=1,
    )
    return (
        select(
            ExpertSkill.person_id.label("person_id"),
            func.count().label("matched"),
            func.sum(level_weight).label("weight"),
        )
        .where(ExpertSkill.skill_id.in_(skill_ids))
        .group_by(ExpertSkill.person_id)
        .subquery("matched")
    )


def _recent_speed(now: datetime):
    """Per expert: their average time to respond over SPEED_WINDOW."""
    return (
        select(Offer.expert_id.label("person_id"), func.avg(Offer.response_work_ms).label("speed"))
        .where(Offer.sent_at >= now - SPEED_WINDOW, Offer.responded_at.is_not(None), Offer.sent_at.is_not(None))
        .group_by(Offer.expert_id)
        .subquery("speed")
    )


def _away_at(at: datetime):
    return and_(
        Person.away_until.is_not(None),
        Person.away_until > at,
        or_(Person.away_from.is_(None), Person.away_from <= at),
    )


def _out_of_office_through(at: datetime):
    """Out of office with no end, or until after ``at``."""
    return and_(Person.out_of_office.is_(True), or_(Person.ooo_until.is_(None), Person.ooo_until > at))


def _in_a_claimed_meeting(request: Request, buffer: timedelta):
    """Experts who claimed another request whose meeting overlaps this one's (``buffer`` around it)."""
    start = request.meeting_at - buffer
    end = request.meeting_at + timedelta(minutes=request.duration_min or 60) + buffer
    other_end_ms = epoch_ms(Request.meeting_at) + func.coalesce(Request.duration_min, 60) * 60000
    return (
        select(Request.claimed_by_id)
        .where(Request.status == RequestStatus.CLAIMED.value, Request.id != request.id,
               Request.meeting_at.is_not(None), Request.meeting_at < end,
               other_end_ms > start.timestamp() * 1000.0)
    )


def match_experts(
    session: Session,
    *,
    request: Request,
    now: datetime,
    limit: int | None = None,
    exclude_person_ids: Iterable[int] = (),
    skill_ids: Sequence[int] | None = None,
    buffer: timedelta | None = timedelta(minutes=30),
    only_person_ids: Sequence[int] | None = None,
) -> list[Match]:
    """Experts for ``request``: at least one requested skill, active, not away at the request's
    time, not out of office through it, not in a claimed meeting that overlaps it (with
    ``buffer`` around it; None: overlaps do not count), below capacity; ranked by skills matched (and their levels), then load, then
    recent response speed. The requester is never matched. Who is there *now* is
    ``route()``'s question."""
    skill_ids = list(skill_ids) if skill_ids is not None else [s.id for s in request.skills]
    if not skill_ids:
        return []
    matched, load, speed = _skills_matched(skill_ids), load_subquery(now), _recent_speed(now)
    load_col = func.coalesce(load.c.load, 0)
    stmt = (
        select(Person, matched.c.matched, matched.c.weight, load_col, speed.c.speed)
        .join(matched, matched.c.person_id == Person.id)
        .outerjoin(load, load.c.person_id == Person.id)
        .outerjoin(speed, speed.c.person_id == Person.id)
        .where(
            Person.team_id == request.team_id,
            Person.is_expert.is_(True),
            Person.id != request.requester_id,
            load_col < Person.max_concurrent,
            not_(_away_at(request.when or now)),
            not_(_out_of_office_through(request.when or now)),
        )
        .order_by(matched.c.matched.desc(), matched.c.weight.desc(), load_col.asc(),
                  speed.c.speed.is_(None), speed.c.speed.asc(), Person.id.asc())
    )
    if request.meeting_at is not None and buffer is not None:  # (a request's own claim never excludes anyone)
        stmt = stmt.where(Person.id.not_in(_in_a_claimed_meeting(request, buffer)))
    if only_person_ids is not None:
        stmt = stmt.where(Person.id.in_(list(only_person_ids)))
    excluded = list(exclude_person_ids)
    if excluded:
        stmt = stmt.where(Person.id.not_in(excluded))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Match(person=p, matched=int(m), weight=int(w), load=int(l), speed_ms=float(s) if s is not None else None)
        for p, m, w, l, s in session.execute(stmt).all()
    ]


@dataclass(frozen=True)
class Routes:
    """Who gets a request now, who later (when their working day starts), and who not at all."""

    now: list[Match]
    later: list[tuple[Match, datetime]]
    skipped: list[Match]


def route(matches: Sequence[Match], *, request: Request, now: datetime, default_hours: availability.Hours,
          default_tz: str) -> Routes:
    """Urgent: everyone who is not out of office, at once. Normal: those inside their working
    hours now (and not away, out of office or on Do Not Disturb) at once; the others at their
    next working start, if that comes before the request's time. Someone whose timezone Slack has
    not told us yet is not held back on a guess: only away and out of office count for them."""
    routes = Routes([], [], [])
    for match in matches:
        person = match.person
        if person.tz is None and not (person.is_away_at(now) or person.is_out_of_office_at(now)):
            routes.now.append(match)
            continue
        tz = person.tz or default_tz
        hours = availability.hours_of(person, default_hours)
        if request.urgency == "urgent":
            (routes.skipped if person.is_out_of_office_at(now) else routes.now).append(match)
            continue
        if availability.unavailable_reason(person, now=now, hours=hours, tz=tz) is None:
            routes.now.append(match)
            continue
        at = availability.reachable_from(person, now=now, hours=hours, tz=tz)
        if at is not None and (request.when is None or at < request.when):
            routes.later.append((match, at))
        else:
            routes.skipped.append(match)
    return routes


def was_offered(session: Session, *, request: Request, person: Person) -> bool:
    return session.execute(
        select(Offer.id).where(Offer.request_id == request.id, Offer.expert_id == person.id)
    ).first() is not None


def is_eligible(session: Session, *, request: Request, person: Person) -> bool:
    """May this person claim the request: an active expert of this workspace (not the requester)
    who was offered it, or who has one of its skills (claiming from the experts channel).
    Someone removed from the directory can no longer claim what they were once offered."""
    if request.synthetic:  # a self-test: the person it was sent to, whoever they are
        return person.team_id == request.team_id and was_offered(session, request=request, person=person)
    if person.team_id != request.team_id or person.id == request.requester_id or not person.is_expert:
        return False
    if was_offered(session, request=request, person=person):
        return True
    wanted = {s.id for s in request.skills}
    return any(es.skill_id in wanted for es in person.skills)
