"""Due notices: the timeline of a request as rows, kept in step with its state.

``plan()`` is a pure function from a request's state to the notices it should have
pending; ``sync()`` reconciles the table with it after every lifecycle change
(creation, brief, claim, release, cancel, reschedule): missing notices are created,
moved ones get their new time, ones no longer wanted are cancelled. Notices already
sent are never touched, so nothing is sent twice and nothing is silently dropped.

Delivering due rows (leases, retries, who of several recipients has a message) is
``bot/services/leases.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import clock
from bot.errors import Conflict, NotAllowed, NotFound
from bot.services import availability, people
from models import Brief, DueNotice, FollowUp, NoticeKind, NoticeState, Offer, Person, Request, RequestStatus

BROADCAST_CHECK_AFTER = timedelta(minutes=2)
SNOOZE_CHOICES = (30, 60)


@dataclass(frozen=True)
class Policy:
    """The timing and role rules, as plain values (built from the settings when the app is
    assembled: bot/app.py ``make_policy``)."""

    brief_required_for: frozenset[str]
    brief_policy: str
    brief_due_before: timedelta
    last_minute: timedelta
    interval: timedelta
    escalate_after: timedelta
    urgent_escalate_after: timedelta
    reminder_offsets: tuple[timedelta, ...]
    followup_after: timedelta
    working_hours: tuple[int, int]
    lease: timedelta
    admins: frozenset[str] = frozenset()
    default_tz: str = "UTC"
    ooo_emoji: frozenset[str] = frozenset()
    ooo_words: tuple[str, ...] = ()
    meeting_buffer: timedelta | None = timedelta(minutes=30)  # None: overlapping claims do not exclude
    ask_first_for: timedelta = timedelta(hours=2)
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    @property
    def hours(self) -> availability.Hours:
        """The default working days and hours (each person may have their own)."""
        return availability.Hours(days=self.working_days, start=self.working_hours[0], end=self.working_hours[1])

    @property
    def late_after(self) -> timedelta:
        return max(2 * self.interval, timedelta(minutes=1))


@dataclass(frozen=True)
class Planned:
    kind: NoticeKind
    recipient_id: int
    slot: str
    due_at: datetime

    @property
    def key(self) -> tuple[str, int, str]:
        return self.kind.value, self.recipient_id, self.slot


def label(delta: timedelta) -> str:
    """24h, 90m, 2d — a short name for an offset (used in slots and messages)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size and (unit != "d" or seconds >= 2 * 86400):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def working_time(moment: datetime, *, tz: str | None, hours: tuple[int, int], latest: datetime | None,
                 earliest: datetime | None = None) -> datetime:
    """``moment`` moved into weekday working hours in ``tz``: back to the last working hour
    before it (a nudge should arrive before its deadline, not after), or — when that is not
    after ``earliest`` (the request did not exist yet) — forward to the next start if that is
    before ``latest`` (the meeting). If neither fits, ``moment`` stands: the meeting is
    sooner than working hours allow."""
    zone = clock.zone(tz)
    local = moment.astimezone(zone)
    start, end = hours
    minute = local.hour * 60 + local.minute
    if local.weekday() < 5 and start <= minute < end:
        return moment
    day = local.date()
    behind = day if local.weekday() < 5 and minute >= end else day - timedelta(days=1)
    while behind.weekday() >= 5:
        behind -= timedelta(days=1)
    last_hour = max(start, end - 60)
    backward = datetime.combine(behind, time(last_hour // 60, last_hour % 60), zone).astimezone(clock.UTC)
    if earliest is None or backward > earliest:
        return backward
    ahead = day if local.weekday() < 5 and minute < start else day + timedelta(days=1)
    while ahead.weekday() >= 5:
        ahead += timedelta(days=1)
    forward = datetime.combine(ahead, time(start // 60, start % 60), zone).astimezone(clock.UTC)
    if latest is None or forward < latest:
        return forward
    return moment


def _ladder(request: Request, policy: Policy) -> list[tuple[NoticeKind, datetime]]:
    """Re-ping, widen, escalate: each step after ``escalate_after`` (urgent: shorter) of working
    time in the ladder's timezone (that of the first expert asked; urgent requests count wall-clock
    time), and never more than a quarter of the time left before the meeting."""
    start = request.ladder_from
    if start is None:
        return []
    urgent = request.urgency == "urgent"
    after = policy.urgent_escalate_after if urgent else policy.escalate_after
    hours = policy.hours
    steps, t, when = [], start, request.when
    for kind in (NoticeKind.REPING, NoticeKind.WIDEN, NoticeKind.ESCALATE):
        worked = t + after if urgent or not request.ladder_tz else \
            availability.add_working(t, after, tz=request.ladder_tz, hours=hours)
        t = worked if when is None else min(worked, t + max(when - t, timedelta(0)) / 4)
        if when is not None and t >= when:
            break
        steps.append((kind, t))
    return steps


def plan(request: Request, *, policy: Policy, has_brief: bool, manager_ids: list[int], ae_tz: str | None) -> list[Planned]:
    """The notices ``request`` should have, given its state. Pure and stable over time:
    it depends on stored moments (creation, broadcast, claim), never on "now"."""
    out: list[Planned] = []
    ae, when, status = request.requester_id, request.when, request.status
    if request.synthetic:  # a self-test escalates to nobody: it only expires
        return [Planned(NoticeKind.EXPIRE, ae, "", when)] if status == RequestStatus.OPEN.value and when else []
    live = status in (RequestStatus.HELD.value, RequestStatus.OPEN.value, RequestStatus.CLAIMED.value)
    if status in (RequestStatus.HELD.value, RequestStatus.OPEN.value) and when is not None:
        out.append(Planned(NoticeKind.EXPIRE, ae, "", when))
    if status == RequestStatus.OPEN.value and request.ladder_from is None:
        # Stored but not broadcast yet: if the process that should broadcast dies, this does it.
        out.append(Planned(NoticeKind.BROADCAST_CHECK, ae, "initial", request.created_at + BROADCAST_CHECK_AFTER))
    if live and request.needs_brief and not has_brief:
        out.append(Planned(NoticeKind.BRIEF_NUDGE, ae, "created", request.created_at))
    if live and request.needs_brief and not has_brief and when is not None:
        due = when - policy.brief_due_before
        nudges: dict[datetime, str] = {}  # two nudges moved to the same working hour: send one
        for slot, moment in (("due-24h", due - timedelta(hours=24)), ("due", due)):
            if moment > request.created_at:
                nudges[working_time(moment, tz=ae_tz, hours=policy.working_hours, latest=when,
                                    earliest=request.created_at)] = slot
        out += [Planned(NoticeKind.BRIEF_NUDGE, ae, slot, moment) for moment, slot in nudges.items()]
        if due > request.created_at:
            out += [Planned(NoticeKind.BRIEF_OVERDUE, m, "due", due) for m in manager_ids if m != ae]
    if status == RequestStatus.OPEN.value and request.ask_first_until is not None:
        out.append(Planned(NoticeKind.ASK_FIRST_OVER, ae, str(int(request.ask_first_until.timestamp())),
                           request.ask_first_until))
    if status == RequestStatus.OPEN.value and request.ladder_from is not None:
        ladder = str(int(request.ladder_from.timestamp()))
        out.append(Planned(NoticeKind.BROADCAST_CHECK, ae, ladder, request.ladder_from + BROADCAST_CHECK_AFTER))
        out += [Planned(kind, ae, ladder, moment) for kind, moment in _ladder(request, policy)]
    if status == RequestStatus.CLAIMED.value and request.claimed_by_id and request.meeting_at is not None:
        meeting = str(int(request.meeting_at.timestamp()))
        for offset in policy.reminder_offsets:
            moment = request.meeting_at - offset
            if request.claimed_at is not None and moment > request.claimed_at:
                for person in dict.fromkeys((request.claimed_by_id, ae)):
                    out.append(Planned(NoticeKind.REMINDER, person, f"{label(offset)}@{meeting}", moment))
        end = request.meeting_at + timedelta(minutes=request.duration_min or 60)
        for person in dict.fromkeys((ae, request.claimed_by_id)):
            out.append(Planned(NoticeKind.FOLLOWUP, person, meeting, end + policy.followup_after))
    return out


@dataclass
class Synced:
    created: int = 0
    moved: int = 0
    cancelled: int = 0


def manager_ids(session: Session, *, team_id: str, admins: frozenset[str], now: datetime) -> list[int]:
    """Managers of the workspace; the admins when nobody has the role yet (their people rows are
    made on this first need: an admin who never used the bot is still reached)."""
    ids = list(session.scalars(select(Person.id).where(Person.team_id == team_id, Person.is_manager.is_(True))))
    if ids or not admins:
        return ids
    return [p.id for p in people.ensure_admins(session, team_id=team_id, admins=admins, now=now)]


def sync(session: Session, *, request: Request, policy: Policy, now: datetime,
         new_with_brief: bool | None = None) -> Synced:
    """Make the pending notices of ``request`` match ``plan()`` (call after every state change,
    in the same transaction). ``new_with_brief`` (True/False) says the request was inserted in
    this very transaction, with or without its brief: nothing to re-read, no notices yet."""
    session.flush()
    if new_with_brief is None:
        session.refresh(request)
        has_brief = session.scalar(select(func.count()).select_from(Brief).where(Brief.request_id == request.id)) > 0
        existing = list(session.scalars(select(DueNotice).where(DueNotice.request_id == request.id)))
    else:
        has_brief, existing = new_with_brief, []
    # managers are only told of a brief that is overdue: none to find when the brief exists
    managers = manager_ids(session, team_id=request.team_id, admins=policy.admins, now=now) \
        if request.needs_brief and not has_brief else []
    ae_tz = request.requester.tz or policy.default_tz
    wanted = {p.key: p for p in plan(request, policy=policy, has_brief=has_brief, manager_ids=managers, ae_tz=ae_tz)}
    result = Synced()
    seen = set()
    for notice in existing:
        key = (notice.kind, notice.recipient_id, notice.slot)
        seen.add(key)
        if notice.state == NoticeState.CANCELLED.value and key in wanted:
            # wanted again (a release after a claim, a re-claim): pending once more
            notice.state, notice.due_at, notice.updated_at = NoticeState.PENDING.value, wanted[key].due_at, now
            notice.attempts, notice.last_error = 0, None
            result.created += 1
            continue
        if notice.state != NoticeState.PENDING.value:
            continue
        if notice.slot.startswith("snooze-"):
            keep = request.status == RequestStatus.CLAIMED.value
        elif notice.kind == NoticeKind.OFFER.value:  # an expert's working day: while nobody has it
            keep = request.status == RequestStatus.OPEN.value
        else:
            keep = key in wanted
        if not keep:
            notice.state, notice.updated_at = NoticeState.CANCELLED.value, now
            result.cancelled += 1
        elif key in wanted and wanted[key].due_at != notice.due_at:
            notice.due_at, notice.updated_at = wanted[key].due_at, now
            result.moved += 1
    for key, planned in wanted.items():
        if key in seen:
            continue
        session.add(DueNotice(kind=planned.kind.value, request_id=request.id, recipient_id=planned.recipient_id,
                              slot=planned.slot, due_at=planned.due_at, state=NoticeState.PENDING.value, attempts=0,
                              late=False, created_at=now, updated_at=now))
        result.created += 1
    session.flush()
    return result


def defer_offers(session: Session, *, request: Request, later: list[tuple[int, datetime]], now: datetime) -> int:
    """An OFFER notice per (expert id, moment): the request reaches them when their working day
    starts, if it is still open then. An expert who has one already keeps it."""
    have = set(session.scalars(select(DueNotice.recipient_id).where(
        DueNotice.request_id == request.id, DueNotice.kind == NoticeKind.OFFER.value,
        DueNotice.state.in_([NoticeState.PENDING.value, NoticeState.LEASED.value]))))
    have |= set(session.scalars(select(Offer.expert_id).where(Offer.request_id == request.id)))
    made = 0
    for person_id, at in later:
        if person_id in have:
            continue
        session.add(DueNotice(kind=NoticeKind.OFFER.value, request_id=request.id, recipient_id=person_id,
                              slot=f"start@{int(at.timestamp())}",
                              due_at=at, state=NoticeState.PENDING.value, attempts=0, late=False, created_at=now,
                              updated_at=now))
        have.add(person_id)
        made += 1
    session.flush()
    return made


def next_deferred(session: Session, *, request_id: int) -> DueNotice | None:
    """The earliest pending OFFER of a request: who is reached next, and when."""
    return session.scalar(select(DueNotice).where(
        DueNotice.request_id == request_id, DueNotice.kind == NoticeKind.OFFER.value,
        DueNotice.state == NoticeState.PENDING.value).order_by(DueNotice.due_at, DueNotice.id).limit(1))


def timeline(session: Session, *, request_id: int) -> list[DueNotice]:
    return list(session.scalars(
        select(DueNotice).where(DueNotice.request_id == request_id).order_by(DueNotice.due_at, DueNotice.id)
    ))


def superseded(session: Session, *, notice: DueNotice, now: datetime) -> bool:
    """Is a later reminder for the same request and person also due now? (After downtime the
    person gets one reminder, the latest, not a burst.)"""
    return session.execute(
        select(DueNotice.id).where(
            DueNotice.request_id == notice.request_id,
            DueNotice.recipient_id == notice.recipient_id,
            DueNotice.kind == notice.kind,
            DueNotice.id != notice.id,
            DueNotice.due_at > notice.due_at,
            DueNotice.due_at <= now,
            DueNotice.state.in_([NoticeState.PENDING.value, NoticeState.LEASED.value, NoticeState.SENT.value]),
        ).limit(1)
    ).first() is not None


def snooze(session: Session, *, notice_id: int, team_id: str, user_id: str, minutes: int, tz: str | None,
           now: datetime) -> DueNotice:
    """Send this reminder again in ``minutes``; each reminder message can be snoozed once."""
    if minutes not in SNOOZE_CHOICES:
        raise NotFound("That snooze button is not one of ours.")
    notice = session.get(DueNotice, notice_id)
    if notice is None or notice.request.team_id != team_id or notice.kind != NoticeKind.REMINDER.value:
        raise NotFound("That reminder does not exist (any more).")
    if notice.recipient.slack_user_id != user_id:
        raise NotAllowed("That reminder is someone else's.")
    request = notice.request
    if request.status != RequestStatus.CLAIMED.value:
        raise Conflict(f"Request #{request.id} is {request.status}; no more reminders.")
    if notice.state == NoticeState.SNOOZED.value:
        existing = session.scalar(select(DueNotice).where(DueNotice.request_id == request.id,
                                                          DueNotice.slot == f"snooze-{notice.id}"))
        when = f" until {clock.to_local(existing.due_at, tz):%H:%M}" if existing is not None else ""
        raise Conflict(f"This reminder is already snoozed{when}.")
    again = now + timedelta(minutes=minutes)
    if request.meeting_at is not None and again >= request.meeting_at:
        raise Conflict("The meeting starts before then; no snoozing past the start.")
    done = session.execute(
        update(DueNotice)
        .where(DueNotice.id == notice.id, DueNotice.state == NoticeState.SENT.value)
        .values(state=NoticeState.SNOOZED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:  # snoozed a moment ago by a second click, or not sent yet
        raise Conflict("This reminder is already snoozed.")
    copy = DueNotice(kind=notice.kind, request_id=request.id, recipient_id=notice.recipient_id,
                     slot=f"snooze-{notice.id}", due_at=again, state=NoticeState.PENDING.value, attempts=0, late=False,
                     note=notice.slot, created_at=now, updated_at=now)
    session.add(copy)
    session.flush()
    return copy


def followup_answered(session: Session, *, request_id: int, person_id: int) -> FollowUp | None:
    return session.scalar(select(FollowUp).where(FollowUp.request_id == request_id, FollowUp.person_id == person_id))


