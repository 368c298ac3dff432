"""Leasing due notices for delivery: exactly one scheduler sends each.

``take_due()`` leases due rows atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
SQLite: the same conditional UPDATE under ``BEGIN IMMEDIATE``), so two schedulers never
take the same row; a row whose lease expired (a scheduler died mid-send) is taken again.
The window between Slack accepting a message and the row being marked sent is the one
place a crash can cause a duplicate: at most one per crash.

What each notice should be, and when, is ``bot/services/due.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from models import DueNotice, NoticeKind, NoticeState

log = logging.getLogger(__name__)

FOLLOWUP_GRACE = timedelta(days=3)
BROADCAST_GRACE = timedelta(days=1)
MAX_ATTEMPTS = 5


def get(session: Session, *, notice_id: int) -> DueNotice | None:
    return session.get(DueNotice, notice_id)


def pending(session: Session, *, request_id: int, kind: NoticeKind, slot: str) -> int | None:
    """The id of one notice of a request (e.g. the brief nudge at creation), if it exists."""
    return session.scalar(select(DueNotice.id).where(
        DueNotice.request_id == request_id, DueNotice.kind == kind.value, DueNotice.slot == slot))


def oldest_due(session: Session, *, now: datetime) -> datetime | None:
    """When the oldest pending notice that is due now was due (the scheduler's lag)."""
    return session.scalar(select(func.min(DueNotice.due_at)).where(
        DueNotice.state == NoticeState.PENDING.value, DueNotice.due_at <= now))


def _takeable(now: datetime):
    return or_(
        and_(DueNotice.state == NoticeState.PENDING.value, DueNotice.due_at <= now),
        and_(DueNotice.state == NoticeState.LEASED.value, DueNotice.lease_until < now),
    )


def take_due(session: Session, *, now: datetime, limit: int, lease: timedelta, token: str) -> list[int]:
    """Lease up to ``limit`` due notices for the tick ``token``; returns their ids (oldest first).

    One statement: ``UPDATE ... WHERE id IN (SELECT id ... FOR UPDATE SKIP LOCKED) AND
    <still takeable> RETURNING id`` — concurrent schedulers get disjoint sets."""
    candidates = (
        select(DueNotice.id)
        .where(_takeable(now))
        .order_by(DueNotice.due_at, DueNotice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = session.execute(
        update(DueNotice)
        .where(DueNotice.id.in_(candidates.scalar_subquery()), _takeable(now))
        .values(state=NoticeState.LEASED.value, lease_until=now + lease, lease_token=token,
                attempts=DueNotice.attempts + 1, updated_at=now)
        .returning(DueNotice.id, DueNotice.due_at)
        .execution_options(synchronize_session=False)
    ).all()
    return [row.id for row in sorted(taken, key=lambda r: (r.due_at, r.id))]


def take_one(session: Session, *, notice_id: int, now: datetime, lease: timedelta, token: str) -> bool:
    """Lease one pending notice now, whatever its due time (e.g. the nudge at creation)."""
    return bool(session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice_id, DueNotice.state == NoticeState.PENDING.value)
        .values(state=NoticeState.LEASED.value, lease_until=now + lease, lease_token=token,
                attempts=DueNotice.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount)


def still_ours(session: Session, *, notice_id: int, token: str, now: datetime, lease: timedelta) -> bool:
    """Right before sending: is the lease still this tick's? Renews it, so a slow send
    (rate limits, a wide broadcast) does not let another scheduler take it meanwhile."""
    return bool(session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice_id, DueNotice.state == NoticeState.LEASED.value,
               DueNotice.lease_token == token, DueNotice.lease_until > now)
        .values(lease_until=now + lease, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount)


_DONE = "done:"


def _parse_reached(note: str | None) -> set[str]:
    note = note or ""
    return set(note[len(_DONE):].split(",")) - {""} if note.startswith(_DONE) else set()


def reached(session: Session, *, notice_id: int) -> set[str]:
    """The recipients of this multi-recipient notice (a re-ping, an escalation) who have it."""
    return _parse_reached(session.scalar(select(DueNotice.note).where(DueNotice.id == notice_id)))


def renew_for_recipient(session: Session, *, notice_id: int, token: str, now: datetime,
                        lease: timedelta) -> set[str] | None:
    """Right before one message of a multi-recipient notice: renew the lease (like
    ``still_ours``) and read who has the message already, in one statement. None: the lease is
    lost (another tick holds the notice now)."""
    row = session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice_id, DueNotice.state == NoticeState.LEASED.value,
               DueNotice.lease_token == token, DueNotice.lease_until > now)
        .values(lease_until=now + lease, updated_at=now)
        .returning(DueNotice.note)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else _parse_reached(row[0])


def add_reached(session: Session, *, notice_id: int, key: str) -> None:
    """One recipient has the message: recorded at once, whoever holds the lease by now (the
    message is out), so no later attempt sends it to them again. Concurrent appends from the
    fan-out's threads serialize on the row; none is lost. The separator goes first, so a note
    an earlier version wrote ("done:a,b") stays readable ("done:a,b,c")."""
    session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice_id)
        .values(note=case((DueNotice.note.startswith(_DONE), DueNotice.note), else_=literal(_DONE)) + f",{key}")
        .execution_options(synchronize_session=False)
    )


def grace_until(notice: DueNotice) -> datetime | None:
    """The last moment a notice is still worth sending (None: always)."""
    kind = NoticeKind(notice.kind)
    if kind == NoticeKind.EXPIRE:
        return None
    if kind == NoticeKind.FOLLOWUP:
        return notice.due_at + FOLLOWUP_GRACE
    if kind == NoticeKind.BROADCAST_CHECK:
        return notice.due_at + BROADCAST_GRACE
    return notice.request.when


def finish(session: Session, *, notice_id: int, token: str, state: NoticeState, now: datetime,
           channel: str | None = None, ts: str | None = None, late: bool = False, error: str | None = None) -> bool:
    """Close a notice this tick leased (sent / skipped / failed). False if the lease was lost."""
    values: dict = {"state": state.value, "updated_at": now, "lease_until": None, "late": late}
    if state == NoticeState.SENT:
        values.update(sent_at=now, slack_channel=channel, slack_ts=ts)
    if error:
        values["last_error"] = error[:200]
    return bool(session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice_id, DueNotice.state == NoticeState.LEASED.value, DueNotice.lease_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount)


def give_back(session: Session, *, notice_id: int, token: str, error: str, now: datetime) -> NoticeState:
    """A send failed: retry after the lease expires, or fail for good after MAX_ATTEMPTS."""
    notice = session.get(DueNotice, notice_id)
    if notice is None or notice.state != NoticeState.LEASED.value or notice.lease_token != token:
        return NoticeState(notice.state) if notice else NoticeState.FAILED
    if notice.attempts >= MAX_ATTEMPTS:
        finish(session, notice_id=notice_id, token=token, state=NoticeState.FAILED, now=now, error=error)
        log.error("notice %s (%s, request %s) failed for good: %s", notice.id, notice.kind, notice.request_id, error)
        return NoticeState.FAILED
    notice.last_error, notice.updated_at = error[:200], now
    return NoticeState.LEASED  # taken again when the lease runs out: a natural back-off
