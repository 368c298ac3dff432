"""Offers: one row per (request, expert) the request was sent to. Planning them from the matches,
the send lease that lets one process post each DM, what Slack answered, and resending the DMs
Slack refused for a while (429, 5xx, a network error) once their back-off has passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.services.matching import Match
from models import Offer, Request, RequestStatus


def excuse_unanswered(session: Session, *, person_id: int) -> int:
    """The person is out of office: their DMs of requests still open that they have not answered
    do not count against their response rate."""
    return session.execute(
        update(Offer)
        .where(Offer.expert_id == person_id, Offer.responded_at.is_(None), Offer.sent_at.is_not(None),
               Offer.request_id.in_(select(Request.id).where(Request.status == RequestStatus.OPEN.value)))
        .values(excused=True)
        .execution_options(synchronize_session=False)
    ).rowcount


def by_ids(session: Session, offer_ids: Sequence[int]) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.id.in_(list(offer_ids)))))


def get(session: Session, *, offer_id: int) -> Offer | None:
    return session.get(Offer, offer_id)


def offer_of(session: Session, *, request_id: int, person_id: int | None) -> Offer | None:
    """The offer of ``request_id`` made to one person, if any."""
    if person_id is None:
        return None
    return session.scalar(select(Offer).where(Offer.request_id == request_id, Offer.expert_id == person_id))


def sent_offers(session: Session, *, request_id: int) -> list[Offer]:
    """The offers whose DM Slack took (they have a ts to update)."""
    return list(session.scalars(select(Offer).where(Offer.request_id == request_id, Offer.ts.is_not(None))))


OFFER_SEND_LEASE = timedelta(minutes=2)
OFFER_MAX_ATTEMPTS = 6  # a DM Slack keeps refusing with 429/5xx: tried over about 8 minutes
OFFER_RETRY_FIRST = timedelta(seconds=15)  # then 30 s, 1 min, 2 min, 4 min
OFFER_RETRY_MAX = timedelta(minutes=5)


def plan_offers(session: Session, *, request: Request, matches: Sequence[Match], now: datetime,
                ladder_from: datetime | None = None, ladder_tz: str | None = None) -> list[Offer]:
    """Offer rows for matches that do not have one yet (one per request and expert). The
    request row is locked first, so two broadcasts of one request plan one after the other.
    The first broadcast starts the escalation ladder (at ``ladder_from``, default now: when
    the first expert is reached; counted in ``ladder_tz``'s working hours)."""
    session.execute(select(Request.id).where(Request.id == request.id).with_for_update())
    have = set(session.scalars(select(Offer.expert_id).where(Offer.request_id == request.id)))
    offers = []
    for rank, match in enumerate(matches, start=1):
        if match.person.id in have:
            continue
        offer = Offer(request_id=request.id, expert_id=match.person.id, rank=rank, created_at=now, attempts=0)
        session.add(offer)
        offers.append(offer)
    if request.broadcast_at is None:
        request.broadcast_at = now
    if request.ladder_from is None:
        request.ladder_from = ladder_from or now
        request.ladder_tz = ladder_tz
    session.flush()
    return offers


def start_sending(session: Session, *, offer_ids: Sequence[int], now: datetime) -> list[int]:
    """Take the right to post these offers' DMs: the ones not sent, not failed for good, and
    not being posted by another process (whose lease has not run out). One statement."""
    if not offer_ids:
        return []
    return list(session.scalars(
        update(Offer)
        .where(Offer.id.in_(list(offer_ids)), Offer.ts.is_(None), Offer.failed_at.is_(None), Offer.rank > 0,
               or_(Offer.sending_until.is_(None), Offer.sending_until < now))
        .values(sending_until=now + OFFER_SEND_LEASE)
        .returning(Offer.id)
        .execution_options(synchronize_session=False)
    ))


def record_offer_sent(session: Session, *, offer_id: int, channel_id: str, ts: str, now: datetime) -> None:
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id)
        .values(channel_id=channel_id, ts=ts, sent_at=func.coalesce(Offer.sent_at, now), failed_at=None, error=None,
                sending_until=None, attempts=Offer.attempts + 1)
    )


def record_offer_failed(session: Session, *, offer_id: int, error: str, now: datetime, transient: bool = False) -> bool:
    """A DM Slack did not take. ``transient`` (rate limited past the client's own retries, a 5xx,
    a network error): keep the send lease until a back-off has passed, then the scheduler's
    resend sweep posts it again, up to OFFER_MAX_ATTEMPTS. Otherwise (or after the last
    attempt) it failed for good. True when it will be tried again."""
    # Only the holder of the send lease gets here, so reading the attempts first is safe.
    attempts = session.scalar(select(Offer.attempts).where(Offer.id == offer_id, Offer.ts.is_(None)))
    if attempts is None:
        return False
    attempts += 1
    again = transient and attempts < OFFER_MAX_ATTEMPTS
    values: dict = {"attempts": attempts, "error": error[:64]}
    if again:
        values["sending_until"] = now + min(OFFER_RETRY_FIRST * 2 ** (attempts - 1), OFFER_RETRY_MAX)
    else:
        values["failed_at"] = now
    session.execute(update(Offer).where(Offer.id == offer_id, Offer.ts.is_(None)).values(**values)
                    .execution_options(synchronize_session=False))
    return again


def take_resends(session: Session, *, now: datetime, limit: int = 200) -> dict[int, list[int]]:
    """Take the send lease of DMs whose back-off (or a dead sender's lease) has run out, for
    requests still open: {request id: [offer ids]}. Two schedulers never take the same DM."""
    candidates = list(session.scalars(
        select(Offer.id)
        .join(Request, Request.id == Offer.request_id)
        .where(Offer.ts.is_(None), Offer.failed_at.is_(None), Offer.rank > 0, Offer.sending_until < now,
               Request.status == RequestStatus.OPEN.value)
        .order_by(Offer.sending_until)
        .limit(limit)
    ))
    taken = start_sending(session, offer_ids=candidates, now=now)
    grouped: dict[int, list[int]] = {}
    if taken:
        for offer_id, request_id in session.execute(select(Offer.id, Offer.request_id).where(Offer.id.in_(taken))):
            grouped.setdefault(request_id, []).append(offer_id)
    return grouped


def offers_of(session: Session, *, request_id: int) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.request_id == request_id).order_by(Offer.rank, Offer.id)))
