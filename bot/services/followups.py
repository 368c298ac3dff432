"""After the meeting: the AE records the outcome, the expert the hours spent. Once each."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services import history
from bot.services import people
from bot.services import requests as requests_service
from bot.services.fields import Field
from models import FollowUp, Request, RequestStatus

DECISIONS = ("yes", "no", "not_yet")
MAX_HOURS = 200.0


def _check(session: Session, *, request: Request, person_id: int, answered_at_tz: str | None) -> None:
    if request.status != RequestStatus.CLAIMED.value:
        raise Conflict(f"Request #{request.id} is {request.status}; there is no meeting to follow up.")
    existing = session.scalar(select(FollowUp).where(FollowUp.request_id == request.id, FollowUp.person_id == person_id))
    if existing is not None:
        when = clock.to_local(existing.answered_at, answered_at_tz)
        raise Conflict(f"You already answered for request #{request.id} on {when:%a %d %b at %H:%M}. Thanks!")


def _store(session: Session, row: FollowUp, *, request: Request, tz: str | None) -> FollowUp:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # answered twice at the same moment
        _check(session, request=request, person_id=row.person_id, answered_at_tz=tz)
        raise
    history.log_event(session, request_id=request.id, actor_id=row.person_id, kind=f"followup_{row.role}",
                      now=row.answered_at)
    return row


def check_can_answer(session: Session, *, request_id: int, team_id: str, user_id: str, role: str) -> Request:
    """The request, if this person is the one to answer its follow-up (before the modal opens)."""
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    person = people.get_person(session, team_id=team_id, user_id=user_id)
    owner = request.requester_id if role == "ae" else request.claimed_by_id
    if person is None or person.id != owner:
        raise NotAllowed("Only the AE who asked records the outcome, and only the expert who took it logs hours.")
    return request


def record_outcome(session: Session, *, request_id: int, team_id: str, user_id: str, decided: str | None,
                   next_step: str, new_date: date | None, tz: str | None, now: datetime) -> FollowUp:
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    person = people.ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    if person.id != request.requester_id:
        raise NotAllowed("Only the AE who asked for this meeting records its outcome.")
    errors = {}
    if decided not in DECISIONS:
        errors[Field.OUTCOME_DECIDED.value] = "Pick one."
    if new_date is not None and new_date < clock.to_local(now, tz).date():
        errors[Field.OUTCOME_NEW_DATE.value] = "That date is in the past."
    if len(next_step or "") > 2000:
        errors[Field.OUTCOME_NEXT.value] = "Keep it under 2000 characters."
    if errors:
        raise InvalidInput(fields=errors)
    _check(session, request=request, person_id=person.id, answered_at_tz=tz)
    row = FollowUp(request_id=request.id, person_id=person.id, role="ae", decision_made=decided,
                   next_step=(next_step or "").strip() or None, new_date=new_date, answered_at=now)
    return _store(session, row, request=request, tz=tz)


def _hours(text: str, block: Field, errors: dict) -> float | None:
    try:
        value = float((text or "").strip().replace(",", "."))
    except ValueError:
        errors[block.value] = "A number of hours, like 1.5."
        return None
    if not 0 <= value <= MAX_HOURS or value != value:
        errors[block.value] = f"Between 0 and {MAX_HOURS:g} hours."
        return None
    return round(value, 2)


def record_hours(session: Session, *, request_id: int, team_id: str, user_id: str, prep: str, meeting: str,
                 tz: str | None, now: datetime) -> FollowUp:
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    person = people.ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    if person.id != request.claimed_by_id:
        raise NotAllowed("Only the expert who took this request logs its hours.")
    errors: dict[str, str] = {}
    prep_hours = _hours(prep, Field.HOURS_PREP, errors)
    meeting_hours = _hours(meeting, Field.HOURS_MEETING, errors)
    if errors:
        raise InvalidInput(fields=errors)
    _check(session, request=request, person_id=person.id, answered_at_tz=tz)
    row = FollowUp(request_id=request.id, person_id=person.id, role="expert", prep_hours=prep_hours,
                   meeting_hours=meeting_hours, answered_at=now)
    return _store(session, row, request=request, tz=tz)
