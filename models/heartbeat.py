"""Each scheduler process says it is alive; a second one running at once is noticed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeats"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
