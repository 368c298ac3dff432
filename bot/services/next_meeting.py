"""The next meeting with the customer, booked at the end of this one (the AE's follow-up)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.services import briefs, due
from bot.services.fields import Field
from bot.services.requests import DEFAULT_DURATION, DESCRIPTION_MAX, Created, Draft, time_problem, create, get
from models import RequestKind, Urgency


def book_next(session: Session, *, request_id: int, team_id: str, user_id: str, meeting_at: datetime,
              max_lead: timedelta, policy: due.Policy, now: datetime) -> Created:
    """The next meeting with the customer, booked at the end of this one: a new request for it,
    pre-filled (type, skills, account, what is needed, the brief carried over for editing), asking
    the expert who took this one first."""
    request = get(session, request_id=request_id, team_id=team_id)
    problem = time_problem(meeting_at, now=now, max_lead=max_lead, what="The next meeting")
    if problem:
        raise InvalidInput(fields={Field.OUTCOME_NEXT_MEETING.value: problem})
    kind = request.kind if RequestKind(request.kind).has_meeting else RequestKind.DEMO.value
    draft = Draft(kind=kind, skills=[s.name for s in request.skills], account=request.account,
                  meeting_at=meeting_at, duration_min=request.duration_min or DEFAULT_DURATION,
                  urgency=Urgency.NORMAL.value, crm_url=request.crm_url,
                  description=f"Next meeting after request #{request.id}. {request.description}"[:DESCRIPTION_MAX],
                  ask_first_user_id=request.claimed_by.slack_user_id
                  if request.claimed_by is not None and request.claimed_by.is_expert else None)
    brief = briefs.get(session, request_id=request.id)
    clean = briefs.carried_over(brief, meeting_day=meeting_at.date()) if brief is not None else None
    created = create(session, team_id=team_id, requester_user_id=user_id, channel_id=request.channel_id, draft=draft,
                     source_key=f"next-of-{request.id}", policy=policy, now=now, brief=clean)
    created.request.follows_id = request.id
    session.flush()
    session.refresh(created.request, attribute_names=["ask_first", "requester", "skills"])
    return created
