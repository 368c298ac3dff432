"""The append-only history of a request: who did what, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import RequestEvent


def log_event(session: Session, *, request_id: int, actor_id: int | None, kind: str, now: datetime,
              detail: str | None = None) -> None:
    session.add(RequestEvent(request_id=request_id, actor_id=actor_id, kind=kind, detail=detail, at=now))
