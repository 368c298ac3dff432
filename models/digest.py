"""One weekly digest per (manager, ISO week): the row is inserted before anything is sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.person import Person


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("manager_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, "2026-W47"
    tz: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | failed
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))

    manager: Mapped[Person] = relationship(lazy="joined")
