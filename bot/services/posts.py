"""The first post of a request's status message and of its experts-channel post: a placeholder
taken first, so two flows never both post, then the ts Slack returned."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from models import Request

SLOT_LEASE = timedelta(minutes=2)
PENDING = "pending:"


def reserve_post(session: Session, *, request_id: int, column: str, now: datetime) -> bool:
    """Take the right to make the first post of the status message (``status_ts``) or the
    experts-channel post (``experts_post_ts``): a placeholder, so two flows never both post."""
    col = getattr(Request, column)
    stale = f"{PENDING}{int((now - SLOT_LEASE).timestamp()):011d}"
    return bool(session.execute(
        update(Request)
        .where(Request.id == request_id, or_(col.is_(None), and_(col.startswith(PENDING), col < stale)))
        .values({column: f"{PENDING}{int(now.timestamp()):011d}"})
        .execution_options(synchronize_session=False)
    ).rowcount)


def is_placeholder(ts: str | None) -> bool:
    return bool(ts) and ts.startswith(PENDING)


def record_status_message(session: Session, *, request_id: int, channel: str | None, ts: str | None, error: str | None) -> None:
    values: dict = {"status_error": error[:64] if error else None, "status_ts": ts, "status_channel": channel}
    session.execute(update(Request).where(Request.id == request_id).values(**values))


def record_experts_post(session: Session, *, request_id: int, channel: str, ts: str | None) -> None:
    session.execute(
        update(Request).where(Request.id == request_id).values(experts_post_channel=channel, experts_post_ts=ts)
    )
