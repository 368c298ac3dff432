"""Sending the weekly digest on schedule: once per (manager, week), at the digest time in each
manager's own timezone, across processes. The figures themselves are bot/services/digest.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock
from bot.services import people
from bot.services.digest import Week, week_of
from models import Digest, Person

DIGEST_LEASE = timedelta(minutes=10)
CATCH_UP = timedelta(days=6)


def due_week(cron: str, *, tz: str, now: datetime) -> Week | None:
    """The week whose digest is due for a reader in ``tz`` now: the ISO week before the latest
    firing, if that firing was within the catch-up window (a scheduler that was down)."""
    fired = clock.last_cron_fire(cron, tz=tz, now=now)
    if fired is None or now - fired > CATCH_UP:
        return None
    return week_of(clock.to_local(fired, tz).date() - timedelta(days=7), tz)


def reserve(session: Session, *, manager_id: int, week: Week, now: datetime) -> Digest | None:
    """Claim the (manager, week) digest for sending; None if it is sent or being sent.

    The unique row is inserted before anything is sent. A row left 'sending' by a process
    that died is taken over after DIGEST_LEASE (at most one duplicate, never silence)."""
    try:
        with session.begin_nested():
            row = Digest(manager_id=manager_id, week=week.label, tz=week.tz, state="sending", created_at=now)
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        pass
    taken = session.execute(
        update(Digest)
        .where(Digest.manager_id == manager_id, Digest.week == week.label, Digest.state != "sent",
               or_(Digest.state == "failed", Digest.created_at < now - DIGEST_LEASE))
        .values(state="sending", created_at=now, error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        return None
    return session.scalar(select(Digest).where(Digest.manager_id == manager_id, Digest.week == week.label))


def mark(session: Session, *, digest_id: int, sent: bool, now: datetime, channel: str | None = None,
         ts: str | None = None, error: str | None = None) -> None:
    session.execute(
        update(Digest).where(Digest.id == digest_id).values(
            state="sent" if sent else "failed", sent_at=now if sent else None, slack_channel=channel, slack_ts=ts,
            error=(error or "")[:200] or None)
        .execution_options(synchronize_session=False)
    )


def managers(session: Session, *, admins: frozenset[str], now: datetime) -> list[Person]:
    """Everyone who gets the digest: managers, and the admins (in every workspace we know; their
    people rows are made on this first need)."""
    if admins:
        for team_id in session.scalars(select(Person.team_id).distinct()).all():
            people.ensure_admins(session, team_id=team_id, admins=admins, now=now)
    return list(session.scalars(
        select(Person).where(or_(Person.is_manager.is_(True), Person.slack_user_id.in_(sorted(admins) or [""])))
        .order_by(Person.id)
    ))
