"""Timed work as rows: every reminder, nudge, escalation step and follow-up is a due notice.

The scheduler only runs a tick that leases due rows and sends them; the request
lifecycle creates, moves and cancels them. No pickled jobs anywhere.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.person import Person
from models.request import Request


class NoticeKind(StrEnum):
    BROADCAST_CHECK = "broadcast_check"  # re-drive a broadcast a crashed process did not finish
    BRIEF_NUDGE = "brief_nudge"  # to the AE: the brief is missing
    BRIEF_OVERDUE = "brief_overdue"  # to a manager: the brief is past due
    REPING = "reping"  # escalation 1: ask the same experts again
    WIDEN = "widen"  # escalation 2: every expert with a related skill + the experts channel
    ESCALATE = "escalate"  # escalation 3: tell the managers and the AE
    REMINDER = "reminder"  # before the meeting, to the claimed expert and the AE
    FOLLOWUP = "followup"  # after the meeting: outcome (AE) or hours (expert)
    EXPIRE = "expire"  # the meeting started with nobody claimed: unfilled
    OFFER = "offer"  # a normal request reaches an expert when their working day starts (if still open)
    ASK_FIRST_OVER = "ask_first_over"  # the ask-first expert had their time: everyone who matches is asked


class NoticeState(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    SENT = "sent"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # too late to be useful (past its grace), or no longer true at send time
    FAILED = "failed"  # Slack refused it for good
    SNOOZED = "snoozed"  # a reminder the person snoozed (a new notice carries it on)


class DueNotice(Base):
    __tablename__ = "due_notices"
    __table_args__ = (
        Index("ix_due_notices_state_due", "state", "due_at"),
        UniqueConstraint("request_id", "kind", "recipient_id", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    # Who the notice is for (for request-level steps such as expire or widen: the requester).
    recipient_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # Distinguishes notices of one kind for one person: "24h", "1h", "due", "snooze-1"...
    slot: Mapped[str] = mapped_column(String(32), default="")
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=NoticeState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))  # which tick holds the lease
    sent_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    request: Mapped[Request] = relationship(lazy="joined")
    recipient: Mapped[Person] = relationship(lazy="joined")
