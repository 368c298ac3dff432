"""Scheduler heartbeats (RELIABILITY 48): running two schedulers is safe (leases), but it is
usually a deployment mistake (a scheduler in every web worker, or two clock processes), so each
tick records that this process is alive and reports the others seen recently."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import SchedulerHeartbeat

FORGET_AFTER = timedelta(days=1)


def beat(session: Session, *, me: str, host: str, pid: int, now: datetime, window: timedelta) -> list[SchedulerHeartbeat]:
    """Record this scheduler; return the other schedulers alive within ``window``."""
    done = session.execute(
        update(SchedulerHeartbeat).where(SchedulerHeartbeat.id == me).values(seen_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        try:
            with session.begin_nested():
                session.add(SchedulerHeartbeat(id=me, host=host[:64], pid=pid, started_at=now, seen_at=now))
        except IntegrityError:
            pass
    session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.seen_at < now - FORGET_AFTER))
    return list(session.scalars(select(SchedulerHeartbeat).where(
        SchedulerHeartbeat.id != me, SchedulerHeartbeat.seen_at >= now - window)))
