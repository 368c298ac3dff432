"""Requests for an expert, the offers (DMs) they caused, and their history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.person import Person, Skill


class RequestKind(StrEnum):
    DEMO = "demo"
    DISCOVERY = "discovery"
    POC = "poc"
    RFP = "rfp"
    QUESTION = "question"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def has_meeting(self) -> bool:
        return self in (RequestKind.DEMO, RequestKind.DISCOVERY, RequestKind.POC)


KIND_LABELS = {
    RequestKind.DEMO: "Demo",
    RequestKind.DISCOVERY: "Discovery / technical deep-dive",
    RequestKind.POC: "POC help",
    RequestKind.RFP: "RFP / security questionnaire",
    RequestKind.QUESTION: "Ad-hoc question",
}


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class RequestStatus(StrEnum):
    HELD = "waiting_brief"  # needs a brief before experts are asked (PRESALES_BRIEF_POLICY=hold)
    OPEN = "open"
    CLAIMED = "claimed"
    CANCELLED = "cancelled"
    UNFILLED = "unfilled"


class Response(StrEnum):
    CLAIM = "claim"
    DECLINE = "decline"
    LATE_CLAIM = "late_claim"  # clicked Claim after someone else won: a response, not a claim


request_skills = Table(
    "request_skills",
    Base.metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Request(Base):
    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_status_created", "status", "created_at"),
        Index("ix_requests_claimed_by_status", "claimed_by_id", "status"),
        Index("ix_requests_team_created", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    crm_url: Mapped[str | None] = mapped_column(String(500))
    urgency: Mapped[str] = mapped_column(String(8), default=Urgency.NORMAL.value)
    meeting_at: Mapped[datetime | None]
    duration_min: Mapped[int | None] = mapped_column(Integer)
    needed_by: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.OPEN.value)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    claimed_at: Mapped[datetime | None]
    first_claimed_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    cancelled_at: Mapped[datetime | None]
    broadcast_at: Mapped[datetime | None]
    status_channel: Mapped[str | None] = mapped_column(String(32))
    status_ts: Mapped[str | None] = mapped_column(String(32))
    status_error: Mapped[str | None] = mapped_column(String(64))
    experts_post_channel: Mapped[str | None] = mapped_column(String(32))
    experts_post_ts: Mapped[str | None] = mapped_column(String(32))
    source_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    needs_brief: Mapped[bool] = mapped_column(default=False, server_default="0")
    last_minute: Mapped[bool] = mapped_column(default=False, server_default="0")
    synthetic: Mapped[bool] = mapped_column(default=False, server_default="0")  # a self-test: in no figure
    ladder_from: Mapped[datetime | None]  # when the current escalation ladder started (broadcast, release)
    # the ladder counts working time (PRESALES_WORKING_HOURS) in this timezone: the first expert's;
    # None: wall-clock time (urgent requests)
    ladder_tz: Mapped[str | None] = mapped_column(String(64))
    ask_first_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # only they are asked, until:
    ask_first_until: Mapped[datetime | None]
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))  # the meeting this one follows
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    requester: Mapped[Person] = relationship(foreign_keys=[requester_id], lazy="joined")
    claimed_by: Mapped[Person | None] = relationship(foreign_keys=[claimed_by_id], lazy="joined")
    cancelled_by: Mapped[Person | None] = relationship(foreign_keys=[cancelled_by_id], lazy="joined")
    ask_first: Mapped[Person | None] = relationship(foreign_keys=[ask_first_id])  # loaded when read
    skills: Mapped[list[Skill]] = relationship(secondary=request_skills, lazy="selectin", order_by=Skill.name)

    @property
    def when(self) -> datetime | None:
        """The moment that matters: the meeting start, else the needed-by time."""
        return self.meeting_at or self.needed_by

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN


UNSENT = "ts IS NULL AND failed_at IS NULL"


class Offer(Base):
    """One (request, expert) notification: when it was sent and how the expert answered."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("request_id", "expert_id"),
        Index("ix_offers_expert_sent", "expert_id", "sent_at"),
        Index("ix_offers_sent_at", "sent_at"),
        # The scheduler's resend sweep: DMs taken for sending but neither sent nor failed for good.
        Index("ix_offers_unsent", "sending_until", postgresql_where=text(UNSENT), sqlite_where=text(UNSENT)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    channel_id: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sending_until: Mapped[datetime | None]  # a process is posting this DM (a short lease)
    failed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(64))
    responded_at: Mapped[datetime | None]
    response: Mapped[str | None] = mapped_column(String(16))
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    claimed_at: Mapped[datetime | None]  # this expert won the claim (also after first declining)
    # time to respond, recorded with the first response: wall clock, and working time (the
    # part of it inside the expert's working hours, in their timezone)
    response_ms: Mapped[int | None] = mapped_column(BigInteger)
    response_work_ms: Mapped[int | None] = mapped_column(BigInteger)
    # reached the expert while their Slack status said out of office: not counted against them
    excused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    request: Mapped[Request] = relationship(lazy="joined")
    expert: Mapped[Person] = relationship(lazy="joined")


class RequestEvent(Base):
    """Append-only history of a request: who did what, when."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class Cover(Base):
    """The claimer asks for cover: the request is offered to the other matching experts while the
    claimer stays on it; the first to take it over becomes the claimer."""

    __tablename__ = "covers"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    asked_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, taken, closed
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    taken_at: Mapped[datetime | None]

    request: Mapped[Request] = relationship(lazy="joined")
    asked_by: Mapped[Person] = relationship(foreign_keys=[asked_by_id], lazy="joined")
    taken_by: Mapped[Person | None] = relationship(foreign_keys=[taken_by_id], lazy="joined")

