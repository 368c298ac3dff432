"""No demo without a brief: what the AE must say, when it is due, and who may edit it.

A brief is complete when it says (1) the customer's problem and hoped-for gain, (2) what
to show or cover, (3) at least one attendee with a role, and (4) the decision the customer
will make after the meeting and by when. Call to action, competitors and links are optional.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.errors import Conflict, InvalidInput, NotAllowed, quote
from bot.services import due, history
from bot.services import people
from bot.services import matching
from bot.services.fields import Field
from models import AttendeeRole, Brief, BriefAttendee, BriefEdit, Person, Request, RequestStatus

MIN_ANSWER = 20
MAX_ANSWER = 2900
MAX_ATTENDEES = 25
MAX_OPTIONAL = 2900

_ROLE_WORDS: list[tuple[re.Pattern, AttendeeRole]] = [
    (re.compile(r"\bdecision[\s_-]*maker\b|\bdecider\b|\bdm\b|\bbuyer\b|\bsigner\b", re.I), AttendeeRole.DECISION_MAKER),
    (re.compile(r"\btechnical[\s_-]*evaluator\b|\btech(nical)?\b|\bevaluator\b", re.I), AttendeeRole.TECHNICAL_EVALUATOR),
    (re.compile(r"\binfluencer\b|\bchampion\b", re.I), AttendeeRole.INFLUENCER),
    (re.compile(r"\busers?\b|\bend[\s_-]*user\b", re.I), AttendeeRole.USER),
]


@dataclass
class BriefDraft:
    """What the brief fields of a modal said (raw text; ``decision_by`` already a date)."""

    problem: str = ""
    show: str = ""
    attendees: str = ""
    decision: str = ""
    decision_by: date | None = None
    call_to_action: str = ""
    competitors: str = ""
    links: str = ""

    def is_empty(self) -> bool:
        return not any(
            (value or "").strip() if isinstance(value, str) else value is not None for value in asdict(self).values()
        )


@dataclass
class CleanBrief:
    problem: str
    show: str
    attendees: list[tuple[str, AttendeeRole]]
    attendees_text: str
    decision: str
    decision_by: date
    call_to_action: str | None
    competitors: str | None
    links: str | None
    snapshot: dict = field(default_factory=dict)


def parse_attendees(text: str) -> list[tuple[str, AttendeeRole]]:
    """One attendee per line: 'Jane Doe, CTO - decision maker'. The role words decide the role."""
    out: list[tuple[str, AttendeeRole]] = []
    lines = [line.strip(" \t-•*") for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise InvalidInput("List who attends, one per line with their role, e.g. `Jane Doe, CTO - decision maker`.")
    if len(lines) > MAX_ATTENDEES:
        raise InvalidInput(f"{len(lines)} attendees is more than {MAX_ATTENDEES}: list the people who matter most.")
    for number, line in enumerate(lines, start=1):
        role = next((r for pattern, r in _ROLE_WORDS if pattern.search(line)), None)
        if role is None:
            raise InvalidInput(
                f"Line {number} ('{quote(line)}'): add the role — decision maker, influencer, technical evaluator or user."
            )
        name = line
        for pattern, _ in _ROLE_WORDS:
            name = pattern.sub("", name)
        name = re.sub(r"[\s,;:()\-–—/]+$", "", re.sub(r"^[\s,;:()\-–—/]+", "", name)).strip()
        name = re.sub(r"\s*[-–—]\s*$", "", name).strip()
        if not name:
            raise InvalidInput(f"Line {number}: give the person's name as well as their role.")
        out.append((name[:200], role))
    return out


def _answer(errors: dict, block: Field, text: str, *, what: str, required: bool = True) -> str | None:
    value = (text or "").strip()
    if not value:
        if required:
            errors[block.value] = f"Required: {what}."
        return None
    if len(value) > MAX_ANSWER:
        errors[block.value] = f"Keep it under {MAX_ANSWER} characters ({len(value)} now)."
        return None
    if required and len(value) < MIN_ANSWER:
        errors[block.value] = f"Say a bit more ({MIN_ANSWER} characters at least): {what}."
        return None
    return value


def validate(draft: BriefDraft, *, meeting_at: datetime | None, tz: str | None, now: datetime) -> CleanBrief:
    """Check every answer; InvalidInput carries one inline error per modal block."""
    errors: dict[str, str] = {}
    problem = _answer(errors, Field.BRIEF_PROBLEM, draft.problem,
                      what="the customer's problem and what they hope to gain from this meeting")
    show = _answer(errors, Field.BRIEF_SHOW, draft.show, what="what we should show or cover")
    decision = _answer(errors, Field.BRIEF_DECISION, draft.decision,
                       what="the decision the customer will make after the meeting")
    attendees: list[tuple[str, AttendeeRole]] = []
    try:
        attendees = parse_attendees(draft.attendees)
    except InvalidInput as exc:
        errors[Field.BRIEF_ATTENDEES.value] = str(exc)
    today = clock.to_local(now, tz).date()
    if draft.decision_by is None:
        errors[Field.BRIEF_DECISION_BY.value] = "By when will the customer decide? Pick a date."
    elif draft.decision_by < today:
        errors[Field.BRIEF_DECISION_BY.value] = "That date is in the past."
    elif meeting_at is not None and draft.decision_by < clock.to_local(meeting_at, tz).date():
        errors[Field.BRIEF_DECISION_BY.value] = "The decision comes after the meeting: pick the meeting day or later."
    elif draft.decision_by > today + timedelta(days=731):
        errors[Field.BRIEF_DECISION_BY.value] = "More than two years away? Pick the date the customer committed to."
    optional = {}
    for block, name in ((Field.BRIEF_CTA, "call_to_action"), (Field.BRIEF_COMPETITORS, "competitors"),
                        (Field.BRIEF_LINKS, "links")):
        optional[name] = _answer(errors, block, getattr(draft, name), what=name, required=False)
    if errors:
        raise InvalidInput(fields=errors)
    clean = CleanBrief(problem=problem, show=show, attendees=attendees, attendees_text=draft.attendees.strip(),
                       decision=decision, decision_by=draft.decision_by, **optional)
    clean.snapshot = {
        "problem": problem, "show": show, "decision": decision, "decision_by": draft.decision_by.isoformat(),
        "attendees": [[name, role.value] for name, role in attendees], **optional,
    }
    return clean


# ---------------------------------------------------------------- policy and timing


def needs_brief(kind: str, *, required_for: frozenset[str]) -> bool:
    return kind in required_for


def due_at(request: Request, *, due_before: timedelta) -> datetime | None:
    """When the brief is due: ``due_before`` ahead of the meeting (or the needed-by time)."""
    moment = request.when
    return None if moment is None else moment - due_before


def is_last_minute(*, created_at: datetime, when: datetime | None, threshold: timedelta) -> bool:
    return when is not None and when - created_at < threshold


def get(session: Session, *, request_id: int) -> Brief | None:
    return session.execute(select(Brief).where(Brief.request_id == request_id)).scalar_one_or_none()


@dataclass
class Saved:
    brief: Brief
    first: bool  # the request had no brief before
    released: bool  # a held request opened because of it (broadcast now)


def check_editable(session: Session, *, request: Request, user_id: str, policy: "due.Policy", now: datetime) -> Person:
    """The person who may write this brief now, or a readable refusal."""
    editor = people.require_owner_or_manager(
        session, team_id=request.team_id, owner_id=request.requester_id, user_id=user_id, admins=policy.admins,
        now=now, refusal=f"Only the requester or a manager can write the brief of request #{request.id}.")
    if request.status in (RequestStatus.CANCELLED.value, RequestStatus.UNFILLED.value):
        raise Conflict(f"Request #{request.id} is {request.status}; its brief can no longer be edited.")
    if request.when is not None and now >= request.when:
        raise Conflict(f"The meeting for request #{request.id} has started; the brief is final.")
    return editor


def check_viewable(session: Session, *, request: Request, user_id: str, policy: "due.Policy") -> None:
    """The requester, managers, the claimer and the experts it was offered to may read the brief."""
    person = people.get_person(session, team_id=request.team_id, user_id=user_id)
    roles = people.roles_of(session, team_id=request.team_id, user_id=user_id, admins=policy.admins)
    if roles.can_manage or (person is not None and (
            person.id in (request.requester_id, request.claimed_by_id)
            or matching.was_offered(session, request=request, person=person))):
        return
    raise NotAllowed(f"The brief of request #{request.id} is for the people working on it.")


def save(session: Session, *, request: Request, clean: CleanBrief, editor_user_id: str, policy: "due.Policy",
         now: datetime) -> Saved:
    """Create or edit the brief (until the meeting starts), keeping who changed it and when."""
    # One writer per request at a time (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already is):
    # two first saves become a save and an edit, never a duplicate or a half-replaced attendee list.
    session.execute(select(Request.id).where(Request.id == request.id).with_for_update())
    editor = check_editable(session, request=request, user_id=editor_user_id, policy=policy, now=now)
    brief = get(session, request_id=request.id)
    first = brief is None
    if brief is None:
        brief = _new_brief(session, request=request, clean=clean, editor_id=editor.id, now=now)
    else:
        _fill(brief, clean, editor_id=editor.id, now=now)
        brief.attendees.clear()
        session.flush()
        brief.attendees.extend(_attendees(clean))
        session.flush()
    session.add(BriefEdit(brief_id=brief.id, editor_id=editor.id, at=now, snapshot=json.dumps(clean.snapshot)))
    released = bool(
        session.execute(
            update(Request)
            .where(Request.id == request.id, Request.status == RequestStatus.HELD.value)
            .values(status=RequestStatus.OPEN.value, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
    history.log_event(session, request_id=request.id, actor_id=editor.id,
                               kind="brief_added" if first else "brief_edited", now=now)
    due.sync(session, request=request, policy=policy, now=now)
    return Saved(brief=brief, first=first, released=released)


def carried_over(brief: Brief, *, meeting_day: date | None) -> CleanBrief:
    """A brief carried to the next meeting's request, for the AE to edit: the same answers, the
    decision date no earlier than the new meeting."""
    attendees = [(a.name, AttendeeRole(a.role)) for a in sorted(brief.attendees, key=lambda a: a.position)]
    decision_by = max(brief.decision_by, meeting_day) if meeting_day else brief.decision_by
    clean = CleanBrief(problem=brief.problem, show=brief.show, attendees=attendees,
                       attendees_text=brief.attendees_text or "", decision=brief.decision, decision_by=decision_by,
                       call_to_action=brief.call_to_action, competitors=brief.competitors, links=brief.links)
    clean.snapshot = {"carried_from_request": brief.request_id}
    return clean


def save_with_new_request(session: Session, *, request: Request, clean: CleanBrief, editor: Person,
                          now: datetime) -> Brief:
    """The brief written in the request modal, stored with the request it belongs to (same
    transaction, before the ack): the request row is new, so there is nothing to lock, no earlier
    brief to replace and no hold to release; the caller plans the notices. The same rows as
    ``save`` (brief, attendees, first edit, "brief_added" event) in a third of the statements."""
    brief = _new_brief(session, request=request, clean=clean, editor_id=editor.id, now=now)
    session.add(BriefEdit(brief_id=brief.id, editor_id=editor.id, at=now, snapshot=json.dumps(clean.snapshot)))
    history.log_event(session, request_id=request.id, actor_id=editor.id, kind="brief_added", now=now)
    return brief


def _new_brief(session: Session, *, request: Request, clean: CleanBrief, editor_id: int, now: datetime) -> Brief:
    brief = Brief(request_id=request.id, completed_at=now, created_at=now, attendees=_attendees(clean))
    _fill(brief, clean, editor_id=editor_id, now=now)
    session.add(brief)
    session.flush()
    return brief


def _fill(brief: Brief, clean: CleanBrief, *, editor_id: int, now: datetime) -> None:
    brief.problem, brief.show, brief.decision = clean.problem, clean.show, clean.decision
    brief.decision_by = clean.decision_by
    brief.attendees_text = clean.attendees_text
    brief.call_to_action, brief.competitors, brief.links = clean.call_to_action, clean.competitors, clean.links
    brief.updated_at, brief.updated_by_id = now, editor_id


def _attendees(clean: CleanBrief) -> list[BriefAttendee]:
    return [BriefAttendee(position=position, name=name, role=role.value)
            for position, (name, role) in enumerate(clean.attendees)]


def edits(session: Session, *, request_id: int) -> list[BriefEdit]:
    return list(session.scalars(
        select(BriefEdit).join(Brief, Brief.id == BriefEdit.brief_id).where(Brief.request_id == request_id)
        .order_by(BriefEdit.at, BriefEdit.id)
    ))
