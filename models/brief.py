"""The prep brief of a request, its attendees, its edit history, and follow-up answers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.person import Person


class AttendeeRole(StrEnum):
    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    TECHNICAL_EVALUATOR = "technical_evaluator"
    USER = "user"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Brief(Base):
    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), unique=True)
    problem: Mapped[str] = mapped_column(Text)
    show: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    decision_by: Mapped[date] = mapped_column(Date)
    attendees_text: Mapped[str | None] = mapped_column(Text)  # as the AE typed it (the edit form shows it back)
    call_to_action: Mapped[str | None] = mapped_column(Text)
    competitors: Mapped[str | None] = mapped_column(Text)
    links: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))

    attendees: Mapped[list[BriefAttendee]] = relationship(
        back_populates="brief", cascade="all, delete-orphan", lazy="selectin", order_by="BriefAttendee.position"
    )
    updated_by: Mapped[Person] = relationship(lazy="joined")


class BriefAttendee(Base):
    __tablename__ = "brief_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))

    brief: Mapped[Brief] = relationship(back_populates="attendees")


class BriefEdit(Base):
    """Who changed the brief and when, with what it said after the change (JSON)."""

    __tablename__ = "brief_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"), index=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    snapshot: Mapped[str] = mapped_column(Text)


class FollowUp(Base):
    """What the AE (outcome) and the expert (hours) said after the meeting."""

    __tablename__ = "followups"
    __table_args__ = (UniqueConstraint("request_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(8))  # "ae" | "expert"
    decision_made: Mapped[str | None] = mapped_column(String(8))  # yes | no | not_yet
    next_step: Mapped[str | None] = mapped_column(Text)
    new_date: Mapped[date | None] = mapped_column(Date)
    prep_hours: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    meeting_hours: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    answered_at: Mapped[datetime]
