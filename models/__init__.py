"""SQLAlchemy 2.0 typed models. Import from here so metadata is complete."""

from models.base import Base, UTCDateTime
from models.digest import Digest
from models.heartbeat import SchedulerHeartbeat
from models.brief import AttendeeRole, Brief, BriefAttendee, BriefEdit, FollowUp
from models.person import ExpertSkill, Person, Skill, SkillLevel
from models.request import (
    KIND_LABELS,
    Cover,
    Offer,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    Response,
    Urgency,
    request_skills,
)
from models.schedule import DueNotice, NoticeKind, NoticeState

__all__ = [
    "Digest", "SchedulerHeartbeat",
    "AttendeeRole", "Brief", "BriefAttendee", "BriefEdit", "FollowUp", "DueNotice", "NoticeKind", "NoticeState",
    "Base", "UTCDateTime", "ExpertSkill", "Person", "Skill", "SkillLevel", "KIND_LABELS", "Cover", "Offer", "Request",
    "RequestEvent", "RequestKind", "RequestStatus", "Response", "Urgency", "request_skills",
]
