"""Cover: the expert who claimed a request asks the others to take it over. They stay on it until
someone does; the first to click Take over becomes the claimer (one conditional UPDATE decides
every race, as for claims). Both keep credit for their part: the first claim stays counted, the
new claimer gets a claim too, and their time to respond counts from the cover request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotAllowed
from bot.services import availability, due, history, matching, people
from bot.services import requests as requests_service
from models import Cover, Offer, Person, Request, RequestStatus, Response

NOTE_MAX = 500


class Taken(StrEnum):
    TAKEN_OVER = "taken_over"  # this expert is the claimer now
    ALREADY = "already"  # someone else took it over first
    CLOSED = "closed"  # no cover is asked for (any more)


@dataclass
class TakeResult:
    outcome: Taken
    request: Request
    cover: Cover | None
    expert: Person


def open_cover(session: Session, *, request_id: int) -> Cover | None:
    return session.scalar(select(Cover).where(Cover.request_id == request_id, Cover.state == "open"))


def latest(session: Session, *, request_id: int) -> Cover | None:
    return session.scalar(select(Cover).where(Cover.request_id == request_id).order_by(Cover.id.desc()).limit(1))


def ask(session: Session, *, request_id: int, team_id: str, expert_user_id: str, note: str | None,
        now: datetime) -> Cover:
    """The claimer asks for cover (with an optional note for the others)."""
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    expert = people.get_person(session, team_id=team_id, user_id=expert_user_id)
    if request.status != RequestStatus.CLAIMED.value or expert is None or request.claimed_by_id != expert.id:
        raise NotAllowed(f"Only the expert who claimed request #{request.id} can ask for cover.")
    if open_cover(session, request_id=request.id) is not None:
        raise Conflict(f"You already asked for cover on request #{request.id}; the others have it.")
    cover = Cover(request_id=request.id, asked_by_id=expert.id, note=(note or "").strip()[:NOTE_MAX] or None,
                  asked_at=now, state="open")
    session.add(cover)
    session.flush()
    history.log_event(session, request_id=request.id, actor_id=expert.id, kind="cover_asked", now=now,
                      detail=cover.note)
    return cover


def close(session: Session, *, request_id: int) -> int:
    """The request was released or cancelled: a cover asked for it is no longer needed."""
    return session.execute(
        update(Cover).where(Cover.request_id == request_id, Cover.state == "open").values(state="closed")
        .execution_options(synchronize_session=False)
    ).rowcount


def take(session: Session, *, request_id: int, team_id: str, expert_user_id: str, policy: due.Policy,
         now: datetime, at: datetime | None = None) -> TakeResult:
    """Take over a request whose claimer asked for cover. ``at``: Slack's time of the click."""
    at = at or now
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    expert = people.ensure_person(session, team_id=team_id, user_id=expert_user_id, now=now)
    # The request row first, as release and cancel lock it: no deadlock between them and a take.
    session.execute(select(Request.id).where(Request.id == request.id).with_for_update())
    cover = open_cover(session, request_id=request.id)
    if cover is None:
        last = latest(session, request_id=request.id)
        taken = last is not None and last.state == "taken"
        return TakeResult(Taken.ALREADY if taken else Taken.CLOSED, request, last, expert)
    if expert.id == cover.asked_by_id:
        raise NotAllowed("You asked for cover yourself; someone else takes it over.")
    if not matching.is_eligible(session, request=request, person=expert):
        raise NotAllowed(f"Request #{request.id} was not offered to you, so you cannot take it over.")
    won = session.execute(
        update(Cover).where(Cover.id == cover.id, Cover.state == "open")
        .values(state="taken", taken_by_id=expert.id, taken_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        return TakeResult(Taken.ALREADY, request, cover, expert)
    session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status == RequestStatus.CLAIMED.value,
               Request.claimed_by_id == cover.asked_by_id)
        .values(claimed_by_id=expert.id, claimed_at=at, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    _credit(session, request=request, cover=cover, expert=expert, at=at, policy=policy)
    history.log_event(session, request_id=request.id, actor_id=expert.id, kind="covered", now=now,
                      detail=f"from person {cover.asked_by_id}")
    session.refresh(request)
    session.refresh(cover)
    due.sync(session, request=request, policy=policy, now=now)
    return TakeResult(Taken.TAKEN_OVER, request, cover, expert)


def _credit(session: Session, *, request: Request, cover: Cover, expert: Person, at: datetime,
            policy: due.Policy) -> None:
    """The new claimer's claim, timed from the cover request (or from their DM, if it came later)."""
    offer = session.scalar(select(Offer).where(Offer.request_id == request.id, Offer.expert_id == expert.id))
    asked = max(cover.asked_at, offer.sent_at) if offer is not None and offer.sent_at else cover.asked_at
    start = min(asked, at)
    hours = availability.hours_of(expert, policy.hours)
    timing = {"response_ms": int((at - start).total_seconds() * 1000),
              "response_work_ms": availability.working_ms(start, at, tz=expert.tz or policy.default_tz, hours=hours)}
    if offer is None:
        session.add(Offer(request_id=request.id, expert_id=expert.id, rank=0, created_at=cover.asked_at,
                          attempts=0, responded_at=at, response=Response.CLAIM.value, claimed_at=at, **timing))
    elif offer.responded_at is None:
        offer.responded_at, offer.response, offer.claimed_at = at, Response.CLAIM.value, at
        offer.response_ms, offer.response_work_ms = timing["response_ms"], timing["response_work_ms"]
    else:
        offer.claimed_at = at  # their first answer stays what is timed; the claim is credited
    session.flush()
