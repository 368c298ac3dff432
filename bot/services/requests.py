"""Requests for an expert: validation, creation, cancellation, rescheduling, expiry, listing,
and the first post of their status message. The `/presales ...` pre-fill is
bot/services/prefill.py; the offers (one per notified expert) bot/services/offers.py.

State machine (every transition is a conditional UPDATE on the current state):

    open ──claim──▶ claimed ──release──▶ open
      │                │
      └──cancel──▶ cancelled ◀──cancel──┘
    open ──(time passed, nobody claimed)──▶ unfilled
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import Conflict, InvalidInput, NotFound
from bot.services import availability, briefs, due, history, people
from bot.services.skills import normalize_skill
from bot.services.fields import Field
from models import Cover, Offer, Person, Request, RequestKind, RequestStatus, Skill, Urgency

ACCOUNT_MAX = 200
DESCRIPTION_MAX = 2900
CRM_MAX = 500
MAX_SKILLS = 10
DURATIONS = (15, 30, 45, 60, 90, 120, 180, 240, 480)
DEFAULT_DURATION = 60
PAST_GRACE = timedelta(minutes=5)

_URL = re.compile(r"^https?://[^\s<>|\"']+$", re.IGNORECASE)


@dataclass
class Draft:
    """What the request modal collected, already typed (validation is separate)."""

    kind: str | None = None
    skills: list[str] = field(default_factory=list)
    account: str = ""
    meeting_at: datetime | None = None
    duration_min: int | None = None
    needed_by: datetime | None = None
    urgency: str = Urgency.NORMAL.value
    description: str = ""
    crm_url: str | None = None
    ask_first_user_id: str | None = None  # an expert to ask first (the one who ran the last meeting)


def _valid_skills(names: list[str], known_skills: set[str] | None, errors: dict) -> list[str]:
    skills = []
    for name in names:
        try:
            skills.append(normalize_skill(name))
        except InvalidInput as exc:
            errors[Field.SKILLS] = str(exc)
    skills = list(dict.fromkeys(skills))
    if not skills and Field.SKILLS not in errors:
        errors[Field.SKILLS] = "Pick at least one skill."
    elif len(skills) > MAX_SKILLS:
        errors[Field.SKILLS] = f"Pick at most {MAX_SKILLS} skills."
    elif known_skills is not None and Field.SKILLS not in errors:
        unknown = [s for s in skills if s not in known_skills]
        if unknown:
            errors[Field.SKILLS] = f"No expert lists '{unknown[0]}'. Pick skills from the list."
    return skills


def _valid_times(draft: Draft, *, now: datetime, max_lead: timedelta,
                 errors: dict) -> tuple[datetime | None, int | None, datetime | None]:
    """(meeting_at, duration, needed_by): a meeting for the types that have one, else a deadline."""
    meeting_at, needed_by, duration = draft.meeting_at, draft.needed_by, draft.duration_min
    if draft.kind not in {k.value for k in RequestKind}:
        return meeting_at, duration, needed_by
    if RequestKind(draft.kind).has_meeting:
        if meeting_at is None:
            errors[Field.MEETING_AT] = "When does the meeting start?"
        elif problem := time_problem(meeting_at, now=now, max_lead=max_lead, what="The meeting"):
            errors[Field.MEETING_AT] = problem
        if duration is None:
            duration = DEFAULT_DURATION
        elif duration not in DURATIONS:
            errors[Field.DURATION] = "Pick a duration from the list."
        return meeting_at, duration, None
    moment = needed_by or meeting_at
    if moment is None:
        errors[Field.NEEDED_BY] = "By when do you need it?"
    elif problem := time_problem(moment, now=now, max_lead=max_lead, what="The deadline"):
        errors[Field.NEEDED_BY] = problem
    return None, None, moment


def validate(draft: Draft, *, now: datetime, max_lead: timedelta, known_skills: set[str] | None = None) -> Draft:
    """Check a draft; return a cleaned copy or raise InvalidInput with one message per block."""
    errors: dict[str, str] = {}
    if draft.kind not in {k.value for k in RequestKind}:
        errors[Field.KIND] = "Pick what kind of help you need."
    skills = _valid_skills(draft.skills, known_skills, errors)
    account = (draft.account or "").strip()
    if not account:
        errors[Field.ACCOUNT] = "Name the account or opportunity."
    elif len(account) > ACCOUNT_MAX:
        errors[Field.ACCOUNT] = f"Keep the account name under {ACCOUNT_MAX} characters."
    description = (draft.description or "").strip()
    if not description:
        errors[Field.DESCRIPTION] = "Say what you need from the expert."
    elif len(description) > DESCRIPTION_MAX:
        errors[Field.DESCRIPTION] = f"Keep it under {DESCRIPTION_MAX} characters ({len(description)} now)."
    crm = (draft.crm_url or "").strip() or None
    if crm and (len(crm) > CRM_MAX or not _URL.match(crm)):
        errors[Field.CRM_URL] = "Give a full link starting with https://, or leave it empty."
    urgency = draft.urgency if draft.urgency in {u.value for u in Urgency} else None
    if urgency is None:
        errors[Field.URGENCY] = "Pick normal or urgent."
    meeting_at, duration, needed_by = _valid_times(draft, now=now, max_lead=max_lead, errors=errors)
    if errors:
        raise InvalidInput(fields={str(k): v for k, v in errors.items()})
    return Draft(kind=draft.kind, skills=skills, account=account, meeting_at=meeting_at, duration_min=duration,
                 needed_by=needed_by, urgency=urgency or Urgency.NORMAL.value, description=description, crm_url=crm,
                 ask_first_user_id=draft.ask_first_user_id)


def time_problem(moment: datetime, *, now: datetime, max_lead: timedelta, what: str) -> str | None:
    if moment < now - PAST_GRACE:
        return f"{what} is in the past. Pick a time from now on."
    if moment > now + max_lead:
        return f"{what} is more than {max_lead.days} days away. Ask again closer to the date."
    return None


# ---------------------------------------------------------------- lifecycle


def find(session: Session, *, request_id: int) -> Request | None:
    """A request by id, whatever its workspace (for flows and jobs acting on ids they stored)."""
    return session.get(Request, request_id)


def get(session: Session, *, request_id: int, team_id: str) -> Request:
    """A request of this workspace, or NotFound (also for another workspace's id)."""
    request = session.get(Request, request_id)
    if request is None or request.team_id != team_id:
        raise NotFound(f"Request #{request_id} does not exist.")
    return request


@dataclass
class Created:
    request: Request
    created: bool  # False when the same submission was seen before (a replay)


def create(
    session: Session,
    *,
    team_id: str,
    requester_user_id: str,
    channel_id: str,
    draft: Draft,
    source_key: str | None,
    policy: due.Policy,
    now: datetime,
    brief: briefs.CleanBrief | None = None,
) -> Created:
    """Store a validated request (and its brief, when the modal had one), flag it
    last-minute, hold it for a brief if the policy says so, and plan its notices.
    ``source_key`` (the modal's view id) makes a replayed submission return the first
    request instead of creating a second one."""
    if source_key:
        existing = session.execute(select(Request).where(Request.source_key == source_key)).scalar_one_or_none()
        if existing is not None:
            return Created(existing, False)
    requester = people.ensure_person(session, team_id=team_id, user_id=requester_user_id, now=now,
                                        with_skills=False)
    skills = list(session.scalars(select(Skill).where(Skill.name.in_(draft.skills))))
    if len(skills) != len(draft.skills):
        raise InvalidInput(fields={Field.SKILLS.value: "One of these skills is no longer in the directory."})
    needs_brief = briefs.needs_brief(draft.kind, required_for=policy.brief_required_for)
    held = needs_brief and brief is None and policy.brief_policy == "hold"
    request = Request(
        team_id=team_id,
        requester_id=requester.id,
        needs_brief=needs_brief,
        last_minute=briefs.is_last_minute(created_at=now, when=draft.meeting_at or draft.needed_by,
                                          threshold=policy.last_minute),
        channel_id=channel_id,
        kind=draft.kind,
        account=draft.account,
        description=draft.description,
        crm_url=draft.crm_url,
        urgency=draft.urgency,
        meeting_at=draft.meeting_at,
        duration_min=draft.duration_min,
        needed_by=draft.needed_by,
        status=RequestStatus.HELD.value if held else RequestStatus.OPEN.value,
        source_key=source_key,
        created_at=now,
        updated_at=now,
    )
    request.skills = skills
    if draft.ask_first_user_id:
        _ask_first(session, request=request, user_id=draft.ask_first_user_id, policy=policy, now=now)
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        existing = session.execute(select(Request).where(Request.source_key == source_key)).scalar_one_or_none()
        if existing is None:
            raise
        return Created(existing, False)
    history.log_event(session, request_id=request.id, actor_id=requester.id, kind="created", now=now)
    if brief is not None:
        briefs.save_with_new_request(session, request=request, clean=brief, editor=requester, now=now)
    due.sync(session, request=request, policy=policy, now=now, new_with_brief=brief is not None)
    return Created(request, True)


def _ask_first(session: Session, *, request: Request, user_id: str, policy: due.Policy, now: datetime) -> None:
    """Only this expert is asked, for PRESALES_ASK_FIRST_FOR of their working time (at most half
    the time left before the request's time), then everyone who matches."""
    expert = people.get_person(session, team_id=request.team_id, user_id=user_id)
    if expert is None or not expert.is_expert or expert.id == request.requester_id:
        raise InvalidInput(fields={Field.ASK_FIRST.value: "Pick an expert from the directory (not yourself), "
                                                          "or leave it empty to ask everyone who matches."})
    until = availability.add_working(now, policy.ask_first_for, tz=expert.tz or policy.default_tz,
                                     hours=availability.hours_of(expert, policy.hours))
    when = request.meeting_at or request.needed_by
    if when is not None:
        until = min(until, now + (when - now) / 2)
    request.ask_first_id, request.ask_first_until = expert.id, until


def end_ask_first(session: Session, *, request_id: int, policy: due.Policy, now: datetime) -> Request | None:
    """The ask-first expert had their time (or declined): the request goes to everyone who
    matches. None if it already had (or is no longer open)."""
    done = session.execute(
        update(Request)
        .where(Request.id == request_id, Request.ask_first_until.is_not(None),
               Request.status.in_([RequestStatus.OPEN.value, RequestStatus.HELD.value]))
        .values(ask_first_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        return None
    request = session.get(Request, request_id)
    session.refresh(request)
    history.log_event(session, request_id=request_id, actor_id=None, kind="ask_first_over", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return request


def create_selftest(session: Session, *, team_id: str, admin_user_id: str, channel_id: str,
                    policy: due.Policy, now: datetime) -> Request:
    """A synthetic request (RELIABILITY 61): the whole path — DM, Claim, status message, Home —
    exercised end to end with the admin as its only expert, and counted in no figure."""
    people.require_manager(session, team_id=team_id, user_id=admin_user_id, admins=policy.admins)
    admin = people.ensure_person(session, team_id=team_id, user_id=admin_user_id, now=now)
    request = Request(
        team_id=team_id, requester_id=admin.id, channel_id=channel_id, kind=RequestKind.QUESTION.value,
        account="Self-test", description="A self-test of presales-bot: claim it to see the whole path work. "
        "It is not counted in any figure.", urgency=Urgency.NORMAL.value, needed_by=now + timedelta(hours=1),
        status=RequestStatus.OPEN.value, needs_brief=False, last_minute=False, synthetic=True,
        created_at=now, updated_at=now,
    )
    session.add(request)
    session.flush()
    session.add(Offer(request_id=request.id, expert_id=admin.id, rank=1, created_at=now, attempts=0))
    history.log_event(session, request_id=request.id, actor_id=admin.id, kind="selftest", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return request


LIVE = (RequestStatus.HELD.value, RequestStatus.OPEN.value, RequestStatus.CLAIMED.value)


def check_owner_or_manager(session: Session, *, request_id: int, team_id: str, actor_user_id: str,
                           policy: due.Policy, now: datetime, what: str) -> Request:
    """The request, if this person asked for it or manages (else NotAllowed naming ``what``)."""
    request = get(session, request_id=request_id, team_id=team_id)
    _owner_or_manager(session, request=request, actor_user_id=actor_user_id, policy=policy, now=now, what=what)
    return request


def _owner_or_manager(session: Session, *, request: Request, actor_user_id: str, policy: due.Policy, now: datetime,
                      what: str) -> Person:
    return people.require_owner_or_manager(
        session, team_id=request.team_id, owner_id=request.requester_id, user_id=actor_user_id,
        admins=policy.admins, now=now, refusal=f"Only the requester or a manager can {what} request #{request.id}.")


def cancel(session: Session, *, request_id: int, team_id: str, actor_user_id: str, policy: due.Policy,
           now: datetime) -> Request:
    request = get(session, request_id=request_id, team_id=team_id)
    actor = _owner_or_manager(session, request=request, actor_user_id=actor_user_id, policy=policy, now=now,
                              what="cancel")
    done = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status.in_(LIVE))
        .values(status=RequestStatus.CANCELLED.value, cancelled_by_id=actor.id, cancelled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        session.refresh(request)
        raise Conflict(f"Request #{request.id} is already {request.status}; nothing to cancel.")
    session.execute(update(Cover).where(Cover.request_id == request.id, Cover.state == "open")  # no cover needed
                    .values(state="closed").execution_options(synchronize_session=False))
    history.log_event(session, request_id=request.id, actor_id=actor.id, kind="cancelled", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return request


def reschedule(session: Session, *, request_id: int, team_id: str, actor_user_id: str, when: datetime,
               max_lead: timedelta, policy: due.Policy, now: datetime) -> Request:
    """Move the meeting (or the needed-by time); every pending notice moves with it."""
    request = get(session, request_id=request_id, team_id=team_id)
    actor = _owner_or_manager(session, request=request, actor_user_id=actor_user_id, policy=policy, now=now,
                              what="reschedule")
    if request.status not in LIVE:
        raise Conflict(f"Request #{request.id} is {request.status}; there is nothing to move.")
    problem = time_problem(when, now=now, max_lead=max_lead, what="The new time")
    if problem:
        raise InvalidInput(problem)
    column = Request.meeting_at if request.meeting_at is not None else Request.needed_by
    session.execute(
        update(Request).where(Request.id == request.id).values({column: when, "updated_at": now})
        .execution_options(synchronize_session=False)
    )
    history.log_event(session, request_id=request.id, actor_id=actor.id, kind="rescheduled", now=now,
                      detail=when.isoformat())
    due.sync(session, request=request, policy=policy, now=now)
    return request


def make_urgent(session: Session, *, request_id: int, team_id: str, actor_user_id: str, policy: due.Policy,
                now: datetime) -> Request:
    """Nobody was there for a normal request: the AE (or a manager) sends it as urgent. Every
    matching expert who is not out of office is asked at once; the ladder restarts, on the
    wall clock."""
    request = get(session, request_id=request_id, team_id=team_id)
    actor = _owner_or_manager(session, request=request, actor_user_id=actor_user_id, policy=policy, now=now,
                              what="change")
    done = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.status == RequestStatus.OPEN.value,
               Request.urgency != Urgency.URGENT.value)
        .values(urgency=Urgency.URGENT.value, ladder_from=now, ladder_tz=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request)
    if not done:
        if request.status != RequestStatus.OPEN.value:
            raise Conflict(f"Request #{request.id} is {request.status}; nothing to send.")
        raise Conflict(f"Request #{request.id} is already urgent.")
    history.log_event(session, request_id=request.id, actor_id=actor.id, kind="made_urgent", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return request


def expire(session: Session, *, request_id: int, policy: due.Policy, now: datetime) -> bool:
    """The meeting (or deadline) came and nobody claimed it: unfilled. True if it changed."""
    done = session.execute(
        update(Request)
        .where(Request.id == request_id, Request.status.in_([RequestStatus.HELD.value, RequestStatus.OPEN.value]))
        .values(status=RequestStatus.UNFILLED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    request = session.get(Request, request_id)
    if done and request is not None:
        history.log_event(session, request_id=request_id, actor_id=None, kind="unfilled", now=now)
        due.sync(session, request=request, policy=policy, now=now)
    return bool(done)


def list_open(session: Session, *, team_id: str, limit: int = 20) -> tuple[list[Request], int]:
    base = select(Request).where(Request.team_id == team_id,
                                 Request.status.in_([RequestStatus.OPEN.value, RequestStatus.HELD.value]))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(session.scalars(base.order_by(func.coalesce(Request.meeting_at, Request.needed_by), Request.id).limit(limit)))
    return rows, total


