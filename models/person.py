"""People: AEs, experts and managers of one Slack workspace; skills and levels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class SkillLevel(StrEnum):
    LEARNING = "learning"
    PROFICIENT = "proficient"
    EXPERT = "expert"

    @property
    def weight(self) -> int:
        return {"learning": 1, "proficient": 2, "expert": 3}[self.value]


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    tz: Mapped[str | None] = mapped_column(String(64))
    tz_checked_at: Mapped[datetime | None]
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    is_expert: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=3)
    away_from: Mapped[datetime | None]
    away_until: Mapped[datetime | None]
    # working days ("12345": ISO weekdays) and hours (minutes after local midnight); None: the default
    work_days: Mapped[str | None] = mapped_column(String(7))
    work_start: Mapped[int | None] = mapped_column(Integer)
    work_end: Mapped[int | None] = mapped_column(Integer)
    # from Slack: a status that reads as out of office (until its expiration), Do Not Disturb
    out_of_office: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    ooo_until: Mapped[datetime | None]  # None with out_of_office: until the status is cleared
    status_text: Mapped[str | None] = mapped_column(String(100))
    status_emoji: Mapped[str | None] = mapped_column(String(64))
    dnd_until: Mapped[datetime | None]  # Do Not Disturb (or a snooze) is on until then
    availability_checked_at: Mapped[datetime | None]
    home_seen_at: Mapped[datetime | None]  # last app_home_opened: whose Home to refresh
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    skills: Mapped[list[ExpertSkill]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="ExpertSkill.skill_id"
    )

    def is_away_at(self, moment: datetime) -> bool:
        if self.away_until is None:
            return False
        start = self.away_from
        return (start is None or start <= moment) and moment < self.away_until

    def is_out_of_office_at(self, moment: datetime) -> bool:
        """Their Slack status says out of office at ``moment`` (until it expires or is cleared)."""
        return bool(self.out_of_office) and (self.ooo_until is None or moment < self.ooo_until)

    def in_dnd_at(self, moment: datetime) -> bool:
        return self.dnd_until is not None and moment < self.dnd_until


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class ExpertSkill(Base):
    __tablename__ = "expert_skills"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(16), default=SkillLevel.PROFICIENT.value)

    person: Mapped[Person] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")
