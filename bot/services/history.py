"""The append-only history of a request: who did what, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sqlalchemy import select

from models import RequestEvent

NO_MANAGER = "escalation_without_manager"  # the managers' step had nobody to tell


def log_event(session: Session, *, request_id: int, actor_id: int | None, kind: str, now: datetime,
              detail: str | None = None) -> None:
    session.add(RequestEvent(request_id=request_id, actor_id=actor_id, kind=kind, detail=detail, at=now))


def has_event(session: Session, *, request_id: int, kind: str) -> bool:
    return session.scalar(select(RequestEvent.id).where(RequestEvent.request_id == request_id,
                                                        RequestEvent.kind == kind).limit(1)) is not None
