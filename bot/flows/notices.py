"""Delivering due notices: the scheduler's tick leases due rows and hands each to the sender of
its kind (``SENDERS``). A sender re-checks the request at send time and either sends or says
why the notice is no longer true (a string), so nothing stale goes out.

A rerun, a second scheduler or a crash half-way is harmless: each notice is leased
(bot/services/leases.py) and renewed right before its send."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from bot import clock, metrics
from bot.deps import Deps
from bot.flows import offers, status
from bot.flows.people import refresh_profiles
from bot.flows.homes import refresh_homes
from bot.services import briefs, due, history, leases, people
from bot.services.history import NO_MANAGER
from bot.services import offers as offers_service
from bot.services import requests as requests_service
from bot.slack.blocks import notices as notice_ui
from bot.slack.notify import Posted
from models import Brief, DueNotice, NoticeKind, NoticeState, Person, Request, RequestStatus, Response

log = logging.getLogger(__name__)

# What a sender returns: what Slack answered, or why the notice is no longer worth sending.
Sent = Posted | str


@dataclass
class Sweep:
    """What one scheduler tick did."""

    taken: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    late: int = 0
    resent: int = 0  # expert DMs posted again after Slack refused them for a while
    by_kind: dict[str, int] = field(default_factory=dict)


def sweep_due(deps: Deps, *, batch: int = 100, budget_s: float = 25.0) -> Sweep:
    """Lease due notices and deliver them, batch after batch, within ``budget_s``; then resend
    the expert DMs whose back-off has passed. Call from the scheduler thread or a command,
    never from a work-pool thread."""
    sweep = Sweep()
    token = uuid.uuid4().hex
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        with deps.db.session() as session:
            ids = leases.take_due(session, now=clock.now(), limit=batch, lease=deps.policy.lease, token=token)
        if not ids:
            break
        sweep.taken += len(ids)
        for kind, outcome in deps.work.map(lambda notice_id: deliver(deps, notice_id, token), ids, pool="work"):
            sweep.by_kind[kind] = sweep.by_kind.get(kind, 0) + 1
            if outcome in ("sent", "late"):
                sweep.sent += 1
                sweep.late += outcome == "late"
            elif outcome == "retry":
                sweep.retried += 1
            else:
                sweep.skipped += 1
        if len(ids) < batch:
            break
    sweep.resent = offers.resend_offers(deps)
    return sweep


def deliver_now(deps: Deps, notice_id: int) -> tuple[str, str]:
    """Lease one notice at once and deliver it (e.g. the brief nudge at creation): the same
    exactly-once path as a tick."""
    token = uuid.uuid4().hex
    with deps.db.session() as session:
        if not leases.take_one(session, notice_id=notice_id, now=clock.now(), lease=deps.policy.lease, token=token):
            return "?", "gone"
    return deliver(deps, notice_id, token)


def deliver(deps: Deps, notice_id: int, token: str) -> tuple[str, str]:
    """Send one leased notice if it is still true and still useful. Returns (kind, outcome)."""
    try:
        kind, outcome = _deliver(deps, notice_id, token)
        metrics.notices.labels(kind=kind, outcome=outcome).inc()
        if kind in (NoticeKind.REPING.value, NoticeKind.WIDEN.value, NoticeKind.ESCALATE.value) \
                and outcome in ("sent", "late"):
            metrics.escalations.labels(step=kind).inc()
        return kind, outcome
    except Exception as exc:  # one bad notice must not stop the tick: back off and retry it
        log.exception("delivering notice %s failed", notice_id)
        with deps.db.session() as session:
            leases.give_back(session, notice_id=notice_id, token=token, error=type(exc).__name__, now=clock.now())
        return "?", "retry"


def _take_for_sending(deps: Deps, notice_id: int, token: str) -> tuple[DueNotice | None, str]:
    """The notice, if this tick still holds it and it is still worth sending; else why not
    ("gone", or "skipped" when it is overdue past its grace — closed here)."""
    now = clock.now()
    with deps.db.session() as session:
        notice = leases.get(session, notice_id=notice_id)
        if notice is None or notice.state != NoticeState.LEASED.value or notice.lease_token != token:
            return None, "gone"
        deadline = leases.grace_until(notice)
        if deadline is not None and now > deadline:
            leases.finish(session, notice_id=notice_id, token=token, state=NoticeState.SKIPPED, now=now,
                          error=f"too late: {notice.due_at:%Y-%m-%d %H:%M} UTC, useful until {deadline:%Y-%m-%d %H:%M}")
            log.warning("skipped %s notice %s for request %s: overdue past its grace", notice.kind, notice.id,
                        notice.request_id)
            return notice, "skipped"
    with deps.db.session() as session:  # renew right before the send; lost it? another tick has it
        if not leases.still_ours(session, notice_id=notice_id, token=token, now=clock.now(), lease=deps.policy.lease):
            return notice, "gone"
    return notice, "send"


def _deliver(deps: Deps, notice_id: int, token: str) -> tuple[str, str]:
    started = clock.now()
    notice, verdict = _take_for_sending(deps, notice_id, token)
    if notice is None:
        return "?", verdict
    kind = NoticeKind(notice.kind)
    if verdict != "send":
        return kind.value, verdict
    result = SENDERS[kind](deps, notice)
    late = started - notice.due_at > deps.policy.late_after
    with deps.db.session() as session:
        if isinstance(result, str):  # a reason not to send: no longer true
            partly = bool(leases.reached(session, notice_id=notice_id))  # some recipients have it already
            leases.finish(session, notice_id=notice_id, token=token, now=clock.now(),
                          state=NoticeState.SENT if partly else NoticeState.SKIPPED,
                          error=f"partly sent, then: {result}" if partly else result)
            return kind.value, "sent" if partly else "skipped"
        if result.ok:
            leases.finish(session, notice_id=notice_id, token=token, state=NoticeState.SENT, now=clock.now(),
                          channel=result.channel, ts=result.ts, late=late)
            if late:
                log.info("sent %s notice %s late (due %s)", kind.value, notice.id, notice.due_at.isoformat())
            return kind.value, "late" if late else "sent"
        leases.give_back(session, notice_id=notice_id, token=token, error=result.error or "slack_error",
                         now=clock.now())
        return kind.value, "retry"


def _post_each(deps: Deps, notice: DueNotice, sends: dict[str, Callable[[], Posted]]) -> Posted:
    """One notice, several messages (a re-ping to every waiting expert, an escalation to every
    manager). Each recipient Slack took is recorded on the notice the moment it is, so an
    attempt after a failure (429 / 5xx past the client's retries) or after a lost lease (a
    send slower than the lease, another scheduler took over) reaches only the others —
    nobody silently missed, nobody pinged twice."""

    def one(item: tuple[str, Callable[[], Posted]]) -> Posted:
        key, send = item
        # Renew the lease before each message and re-read who has it: a long fan-out (rate
        # limits, a busy pool) must not let another scheduler take the notice and repeat it.
        with deps.db.session() as session:
            reached = leases.renew_for_recipient(session, notice_id=notice.id, token=notice.lease_token,
                                                 now=clock.now(), lease=deps.policy.lease)
        if reached is None:
            return Posted(ok=False, error="lease_lost", transient=True)
        if key in reached:
            return Posted(ok=True)
        posted = send()
        if posted.ok:
            with deps.db.session() as session:
                leases.add_reached(session, notice_id=notice.id, key=key)
        return posted

    results = deps.work.map(one, list(sends.items()))
    waiting = [result for result in results if not result.ok and result.transient]
    if waiting:  # the tick gives the notice back; the next attempt skips who has it
        return Posted(ok=False, error=waiting[0].error, transient=True)
    failed = [result for result in results if not result.ok]
    reached_any = len(failed) < len(results)
    return Posted(ok=reached_any or not sends, error=failed[0].error if failed and not reached_any else None)


# ------------------------------------------------------------ one sender per kind


def _current(deps: Deps, notice: DueNotice) -> tuple[Request, Brief | None]:
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=notice.request_id)
        brief = briefs.get(session, request_id=notice.request_id)
    return request, brief


def send_broadcast_check(deps: Deps, notice: DueNotice) -> Sent:
    """A request stored but not broadcast (its process died): broadcast it now."""
    request, _ = _current(deps, notice)
    if request.status != RequestStatus.OPEN.value:
        return f"request is {request.status}"
    offers.broadcast(deps, request.id)
    return Posted(ok=True)


def nudge_brief(deps: Deps, request_id: int, *, first: bool = False) -> Posted:
    """Ask the AE for the brief (``first``: right after they made the request)."""
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
    text, blocks = notice_ui.brief_nudge(
        request, due=briefs.due_at(request, due_before=deps.policy.brief_due_before),
        held=request.status == RequestStatus.HELD.value, tz=deps.tz(request.requester), first=first,
    )
    return deps.notifier.post(request.requester.slack_user_id, text, blocks)


def send_brief_nudge(deps: Deps, notice: DueNotice) -> Sent:
    request, brief = _current(deps, notice)
    if brief is not None or request.status not in requests_service.LIVE:
        return "brief exists" if brief is not None else f"request is {request.status}"
    return nudge_brief(deps, request.id, first=notice.slot == "created")


def send_brief_overdue(deps: Deps, notice: DueNotice) -> Sent:
    request, brief = _current(deps, notice)
    if brief is not None or request.status not in requests_service.LIVE:
        return "brief exists" if brief is not None else f"request is {request.status}"
    text, blocks = notice_ui.brief_overdue(request, due=briefs.due_at(request, due_before=deps.policy.brief_due_before),
                                           tz=deps.tz(notice.recipient))
    return deps.notifier.post(notice.recipient.slack_user_id, text, blocks)


def send_reping(deps: Deps, notice: DueNotice) -> Sent:
    """Nobody claimed yet: a reply in each waiting expert's DM thread, broadcast to the DM."""
    request, _ = _current(deps, notice)
    if request.status != RequestStatus.OPEN.value:
        return f"request is {request.status}"
    with deps.db.read() as session:
        waiting = [o for o in offers_service.offers_of(session, request_id=request.id)
                   if o.ts and o.responded_at is None]
    if not waiting:
        return "nobody left to re-ping"
    return _post_each(deps, notice, {
        f"o{o.id}": (lambda o=o: deps.notifier.post(o.channel_id, *notice_ui.reping(request, tz=deps.tz(o.expert)),
                                                    thread_ts=o.ts, reply_broadcast=True))
        for o in waiting})


def send_widen(deps: Deps, notice: DueNotice) -> Sent:
    """Still nobody: every available expert with a related skill, and the experts channel."""
    request, _ = _current(deps, notice)
    if request.status != RequestStatus.OPEN.value:
        return f"request is {request.status}"
    offers.broadcast(deps, request.id, widen=True)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request.id)
    if request.experts_post_ts and request.experts_post_channel:
        return deps.notifier.post(request.experts_post_channel, notice_ui.widen(request),
                                  thread_ts=request.experts_post_ts, reply_broadcast=True)
    return Posted(ok=True)


def send_escalate(deps: Deps, notice: DueNotice) -> Sent:
    """Still nobody: the managers and the AE hear it, with what was tried."""
    request, _ = _current(deps, notice)
    if request.status != RequestStatus.OPEN.value:
        return f"request is {request.status}"
    with deps.db.session() as session:
        asked = offers_service.offers_of(session, request_id=request.id)
        managers = people.by_ids(session, due.manager_ids(session, team_id=request.team_id,
                                                          admins=deps.settings.admins, now=clock.now()))
        if not managers:
            history.log_event(session, request_id=request.id, actor_id=None, kind=NO_MANAGER, now=clock.now())
    if not managers:
        log.warning("request %s: escalation reaches no manager (no manager role and no PRESALES_ADMINS); "
                    "only the AE is told", request.id)
        status.refresh_status(deps, request.id)
    refresh_profiles(deps, managers)  # their timezones, for an admin seen here the first time
    notified = sum(1 for o in asked if o.sent_at)
    declined = sum(1 for o in asked if o.response == Response.DECLINE.value)

    def send(person: Person) -> Posted:
        text, blocks = notice_ui.escalate(request, notified=notified, declined=declined, tz=deps.tz(person))
        return deps.notifier.post(person.slack_user_id, text, blocks)

    recipients = {p.id: p for p in [*managers, request.requester]}.values()
    return _post_each(deps, notice, {f"p{p.id}": (lambda p=p: send(p)) for p in recipients})


def send_reminder(deps: Deps, notice: DueNotice) -> Sent:
    """Before the meeting: the claimed expert and the AE, each in their own timezone."""
    request, brief = _current(deps, notice)
    if request.status != RequestStatus.CLAIMED.value:
        return f"request is {request.status}"
    if notice.recipient_id not in (request.claimed_by_id, request.requester_id):
        return "recipient no longer on this request"
    with deps.db.session() as session:
        if due.superseded(session, notice=notice, now=clock.now()):
            return "superseded by a later reminder due now (catch-up sends one)"
    if "@" in notice.slot:  # "1h@<meeting>": the configured offset
        offset = notice.slot.split("@")[0]
    else:  # a snoozed reminder: what is left, in whole minutes
        left = max(request.meeting_at - clock.now(), timedelta(minutes=1))
        offset = due.label(timedelta(minutes=round(left.total_seconds() / 60)))
    text, blocks = notice_ui.reminder(request, brief, notice_id=notice.id, offset=offset,
                                      for_expert=notice.recipient_id == request.claimed_by_id,
                                      tz=deps.tz(notice.recipient))
    return deps.notifier.post(notice.recipient.slack_user_id, text, blocks)


def send_followup(deps: Deps, notice: DueNotice) -> Sent:
    """After the meeting: the AE for the outcome, the expert for their hours."""
    request, brief = _current(deps, notice)
    if request.status != RequestStatus.CLAIMED.value:
        return f"request is {request.status}"
    with deps.db.read() as session:
        if due.followup_answered(session, request_id=request.id, person_id=notice.recipient_id):
            return "already answered"
    if notice.recipient_id == request.requester_id:
        text, blocks = notice_ui.followup_ae(request, brief)
    elif notice.recipient_id == request.claimed_by_id:
        text, blocks = notice_ui.followup_expert(request)
    else:
        return "recipient no longer on this request"
    return deps.notifier.post(notice.recipient.slack_user_id, text, blocks)


def send_expire(deps: Deps, notice: DueNotice) -> Sent:
    """The time came and nobody claimed it: unfilled; every view shows it and the AE is told."""
    with deps.db.session() as session:
        changed = requests_service.expire(session, request_id=notice.request_id, policy=deps.policy, now=clock.now())
        request = requests_service.find(session, request_id=notice.request_id)
    if not changed and request.status != RequestStatus.UNFILLED.value:
        return f"request is {request.status}"
    # Changed now, or by an earlier attempt whose message did not go out: (re)render and tell.
    offers.refresh_all(deps, request.id)
    refresh_homes(deps, request.id)
    return deps.notifier.post(request.requester.slack_user_id,
                              notice_ui.unfilled(request, tz=deps.tz(request.requester)))


def send_ask_first_over(deps: Deps, notice: DueNotice) -> Sent:
    """The ask-first expert had their time: everyone who matches is asked."""
    with deps.db.session() as session:
        request = requests_service.end_ask_first(session, request_id=notice.request_id, policy=deps.policy,
                                                 now=clock.now())
    if request is None:
        return "ask-first already over, or the request is no longer open"
    if request.status == RequestStatus.OPEN.value:
        offers.broadcast(deps, request.id)
    return Posted(ok=True)


def send_offer(deps: Deps, notice: DueNotice) -> Sent:
    """An expert's working day started: the request reaches them if nobody has taken it."""
    return offers.offer_to(deps, notice.request_id, notice.recipient_id)


SENDERS: dict[NoticeKind, Callable[[Deps, DueNotice], Sent]] = {
    NoticeKind.BROADCAST_CHECK: send_broadcast_check,
    NoticeKind.BRIEF_NUDGE: send_brief_nudge,
    NoticeKind.BRIEF_OVERDUE: send_brief_overdue,
    NoticeKind.REPING: send_reping,
    NoticeKind.WIDEN: send_widen,
    NoticeKind.ESCALATE: send_escalate,
    NoticeKind.REMINDER: send_reminder,
    NoticeKind.FOLLOWUP: send_followup,
    NoticeKind.EXPIRE: send_expire,
    NoticeKind.OFFER: send_offer,
    NoticeKind.ASK_FIRST_OVER: send_ask_first_over,
}
