"""A request's life after the handler stored the change: created (broadcast, or held for its
brief), briefed, cancelled, moved. Each re-renders what shows the request and tells who must
hear it."""

from __future__ import annotations

from bot.deps import Deps
from bot.flows import notices, offers, status
from bot.flows.homes import refresh_homes
from bot.flows.people import refresh_profiles
from bot.services import briefs, leases
from bot.services import offers as offers_service
from bot.services import requests as requests_service
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import notices as notice_ui
from bot.slack.blocks.common import as_dicts
from bot.slack.text import escape_clip, format_when
from models import NoticeKind, RequestStatus


def after_create(deps: Deps, request_id: int) -> None:
    """A new request: broadcast it, or (held for its brief) show it waiting and ask for the brief."""
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        if request is None:
            return
        has_brief = briefs.get(session, request_id=request_id) is not None
    refresh_profiles(deps, [request.requester])
    status.refresh_status(deps, request_id)  # the deal channel sees it at once, before the fan-out
    if request.status == RequestStatus.OPEN.value:
        offers.broadcast(deps, request_id)
    if request.needs_brief and not has_brief:
        with deps.db.read() as session:
            nudge = leases.pending(session, request_id=request_id, kind=NoticeKind.BRIEF_NUDGE, slot="created")
        if nudge is not None:
            notices.deliver_now(deps, nudge)


def after_brief(deps: Deps, request_id: int, *, released: bool, first: bool) -> None:
    """A brief was saved: a held request goes out now; the claimed expert gets the brief."""
    if released:
        offers.broadcast(deps, request_id)
    else:
        offers.refresh_all(deps, request_id)
    refresh_homes(deps, request_id)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        brief = briefs.get(session, request_id=request_id)
    if first and brief is not None and request.status == RequestStatus.CLAIMED.value and request.claimed_by:
        text = f"📋 The brief for request #{request.id} is ready.\n{brief_ui.summary(brief)}"
        blocks = as_dicts(brief_ui.summary_blocks(request, brief))
        deps.notifier.post(request.claimed_by.slack_user_id, text, blocks)


def after_cancel(deps: Deps, request_id: int) -> None:
    offers.refresh_all(deps, request_id)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        offer = offers_service.offer_of(session, request_id=request_id, person_id=request.claimed_by_id)
    if offer is not None and offer.ts:  # the expert who had taken it hears it, not just sees it
        deps.notifier.post(offer.channel_id, notice_ui.cancelled(request), thread_ts=offer.ts, reply_broadcast=True)
    refresh_homes(deps, request_id)


def after_reschedule(deps: Deps, request_id: int) -> None:
    offers.refresh_all(deps, request_id)
    refresh_homes(deps, request_id)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
    if request and request.status == RequestStatus.CLAIMED.value and request.claimed_by:
        tz = deps.tz(request.claimed_by)
        deps.notifier.post(request.claimed_by.slack_user_id,
                           f"🗓 Request #{request.id} ({escape_clip(request.account, 100)}) moved to "
                           f"{format_when(request.when, tz)}. Reminders moved with it.")
