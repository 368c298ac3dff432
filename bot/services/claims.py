"""Claim, decline, release: one conditional UPDATE decides every race.

A response is timed by Slack's clock: from the ``ts`` Slack gave the DM (``sent_at``) to the
click's ``action_ts`` (``at``), in wall-clock time and in the expert's working time, stored
once with the first response so every figure is one SQL aggregate.

``UPDATE requests SET status='claimed', claimed_by_id=:me ... WHERE id=:id AND status='open'``
has exactly one winner on PostgreSQL (row lock on UPDATE) and on SQLite (a single
writer, BEGIN IMMEDIATE); the row count says who. Nothing here reads, decides in
Python, then writes. Expected outcomes (lost race, already yours, closed) are return
values, not exceptions, so what they record (a late click is still a response) commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.errors import NotAllowed
from bot.services import availability, covers, due, history
from bot.services import people
from bot.services import matching
from bot.services import requests as requests_service
from models import Offer, Person, Request, RequestStatus, Response

DECLINE_REASON_MAX = 500


class Outcome(StrEnum):
    WON = "won"
    ALREADY_YOURS = "already_yours"
    TAKEN = "taken"  # someone else was first
    CLOSED = "closed"  # cancelled or unfilled
    DECLINED = "declined"
    ALREADY_DECLINED = "already_declined"
    RELEASED = "released"


@dataclass
class Result:
    outcome: Outcome
    request: Request
    expert: Person

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.WON, Outcome.DECLINED, Outcome.RELEASED)


def _load(session: Session, *, request_id: int, team_id: str, expert_user_id: str, now: datetime) -> tuple[Request, Person]:
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    expert = people.ensure_person(session, team_id=team_id, user_id=expert_user_id, now=now)
    return request, expert


def _timing(session: Session, *, request: Request, expert: Person, at: datetime, policy: due.Policy) -> dict:
    """responded_at and the time to respond (wall clock and working time) of a click at ``at``."""
    sent_at = session.scalar(select(Offer.sent_at).where(Offer.request_id == request.id, Offer.expert_id == expert.id))
    values: dict = {"responded_at": at}
    if sent_at is not None:
        start = min(sent_at, at)
        hours = availability.hours_of(expert, policy.hours)
        values["response_ms"] = int((at - start).total_seconds() * 1000)
        values["response_work_ms"] = availability.working_ms(start, at, tz=expert.tz or policy.default_tz, hours=hours)
    return values


def _record_response(session: Session, *, request: Request, expert: Person, response: Response, at: datetime,
                     policy: due.Policy, reason: str | None = None) -> bool:
    """Store the expert's first response on their offer (once). Returns True if this was it."""
    values: dict = {**_timing(session, request=request, expert=expert, at=at, policy=policy), "response": response.value}
    if reason:
        values["decline_reason"] = reason[:DECLINE_REASON_MAX]
    done = session.execute(
        update(Offer)
        .where(Offer.request_id == request.id, Offer.expert_id == expert.id, Offer.responded_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done:
        return True
    exists = session.execute(
        select(Offer.id).where(Offer.request_id == request.id, Offer.expert_id == expert.id)
    ).first()
    if not exists:
        # Claimed without a DM (e.g. from the experts channel): keep the response, never count it as notified.
        session.add(Offer(request_id=request.id, expert_id=expert.id, rank=0, created_at=at, attempts=0, **values))
        session.flush()
        return True
    return False


def check_can_respond(session: Session, *, request_id: int, team_id: str, user_id: str) -> Request:
    """The request, if this person may claim or decline it (checked before a modal opens)."""
    request = requests_service.get(session, request_id=request_id, team_id=team_id)
    person = people.get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not matching.is_eligible(session, request=request, person=person):
        raise NotAllowed(f"Request #{request.id} was not offered to you.")
    return request


def claim(session: Session, *, request_id: int, team_id: str, expert_user_id: str, policy: due.Policy,
          now: datetime, at: datetime | None = None) -> Result:
    """``at``: when the expert clicked, by Slack's clock (the click's action_ts); default ``now``."""
    at = at or now
    request, expert = _load(session, request_id=request_id, team_id=team_id, expert_user_id=expert_user_id, now=now)
    if not matching.is_eligible(session, request=request, person=expert):
        raise NotAllowed(f"Request #{request.id} was not offered to you, so you cannot claim it.")
    won = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status == RequestStatus.OPEN.value)
        .values(
            status=RequestStatus.CLAIMED.value,
            claimed_by_id=expert.id,
            claimed_at=now,
            first_claimed_at=func.coalesce(Request.first_claimed_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        _record_response(session, request=request, expert=expert, response=Response.CLAIM, at=at, policy=policy)
        session.execute(  # counted as a claim even when this expert's first answer was a decline
            update(Offer).where(Offer.request_id == request.id, Offer.expert_id == expert.id)
            .values(claimed_at=now).execution_options(synchronize_session=False)
        )
        history.log_event(session, request_id=request.id, actor_id=expert.id, kind="claimed", now=now)
        due.sync(session, request=request, policy=policy, now=now)
        return Result(Outcome.WON, request, expert)
    session.refresh(request)
    if request.status == RequestStatus.CLAIMED.value and request.claimed_by_id == expert.id:
        return Result(Outcome.ALREADY_YOURS, request, expert)
    if request.status == RequestStatus.CLAIMED.value:
        _record_response(session, request=request, expert=expert, response=Response.LATE_CLAIM, at=at, policy=policy)
        return Result(Outcome.TAKEN, request, expert)
    return Result(Outcome.CLOSED, request, expert)


def decline(session: Session, *, request_id: int, team_id: str, expert_user_id: str, reason: str | None,
            policy: due.Policy, now: datetime, at: datetime | None = None) -> Result:
    """A Decline is a response at the click (``at``, Slack's action_ts); the reason is optional
    and may come later (``add_decline_reason``)."""
    at = at or now
    request, expert = _load(session, request_id=request_id, team_id=team_id, expert_user_id=expert_user_id, now=now)
    if not matching.is_eligible(session, request=request, person=expert):
        raise NotAllowed(f"Request #{request.id} was not offered to you.")
    if request.status == RequestStatus.CLAIMED.value:
        if request.claimed_by_id == expert.id:
            return Result(Outcome.ALREADY_YOURS, request, expert)
        return Result(Outcome.TAKEN, request, expert)
    if request.status != RequestStatus.OPEN.value:
        return Result(Outcome.CLOSED, request, expert)
    reason = (reason or "").strip() or None
    if _record_response(session, request=request, expert=expert, response=Response.DECLINE, at=at, policy=policy,
                        reason=reason):
        history.log_event(session, request_id=request.id, actor_id=expert.id, kind="declined", now=now,
                          detail=reason)
        return Result(Outcome.DECLINED, request, expert)
    return Result(Outcome.ALREADY_DECLINED, request, expert)


def release(session: Session, *, request_id: int, team_id: str, expert_user_id: str, policy: due.Policy,
            now: datetime) -> Result:
    """The claimer gives the request back: it reopens for everyone else."""
    request, expert = _load(session, request_id=request_id, team_id=team_id, expert_user_id=expert_user_id, now=now)
    done = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status == RequestStatus.CLAIMED.value, Request.claimed_by_id == expert.id)
        .values(status=RequestStatus.OPEN.value, claimed_by_id=None, claimed_at=None, ladder_from=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request)
    if not done:
        if request.status == RequestStatus.CLAIMED.value:
            raise NotAllowed("Only the expert who claimed this request can release it.")
        return Result(Outcome.CLOSED, request, expert)
    covers.close(session, request_id=request.id)  # a cover asked for is no longer needed
    history.log_event(session, request_id=request.id, actor_id=expert.id, kind="released", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return Result(Outcome.RELEASED, request, expert)


def add_decline_reason(session: Session, *, request_id: int, team_id: str, expert_user_id: str, reason: str | None,
                       policy: due.Policy, now: datetime) -> Result:
    """The optional reason of a decline recorded at the click. A reason form submitted with no
    decline recorded yet (opened by an earlier version, which recorded it on submission) records
    the decline now, so a deploy loses no decline."""
    request, expert = _load(session, request_id=request_id, team_id=team_id, expert_user_id=expert_user_id, now=now)
    if not matching.is_eligible(session, request=request, person=expert):
        raise NotAllowed(f"Request #{request.id} was not offered to you.")
    declined = session.scalar(select(Offer.id).where(Offer.request_id == request.id, Offer.expert_id == expert.id,
                                                     Offer.response == Response.DECLINE.value))
    if declined is None:
        return decline(session, request_id=request_id, team_id=team_id, expert_user_id=expert_user_id, reason=reason,
                       policy=policy, now=now)
    reason = (reason or "").strip() or None
    if reason is not None:
        session.execute(update(Offer).where(Offer.id == declined).values(decline_reason=reason[:DECLINE_REASON_MAX])
                        .execution_options(synchronize_session=False))
        history.log_event(session, request_id=request.id, actor_id=expert.id, kind="decline_reason", now=now,
                          detail=reason[:DECLINE_REASON_MAX])
    return Result(Outcome.ALREADY_DECLINED, request, expert)
