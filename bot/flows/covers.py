"""Cover: the claimer asked the others to take a request over; then one of them did."""

from __future__ import annotations

from bot import clock
from bot.deps import Deps
from bot.flows import offers as offer_flow
from bot.flows import status
from bot.flows.homes import refresh_homes
from bot.services import covers, matching, offers
from bot.services import requests as requests_service
from bot.slack.blocks import notices as notice_ui
from bot.slack.text import escape_clip, mention
from models import RequestStatus


def after_asked(deps: Deps, request_id: int) -> None:
    """Every DM shows the ask (the claimer's: "you stay on it"); experts who had the request hear
    it in their DM's thread; matching experts who are there and never had it get a DM now."""
    now = clock.now()
    with deps.db.session() as session:
        request = requests_service.find(session, request_id=request_id)
        cover = covers.open_cover(session, request_id=request_id) if request is not None else None
        if cover is None or request.status != RequestStatus.CLAIMED.value:
            return
        had = [o for o in offers.offers_of(session, request_id=request_id)
               if o.ts and o.expert_id != cover.asked_by_id]
        found = matching.match_experts(session, request=request, now=now, limit=deps.settings.fanout_limit,
                                       exclude_person_ids=[cover.asked_by_id, *(o.expert_id for o in had)],
                                       buffer=deps.policy.meeting_buffer)
        routes = matching.route(found, request=request, now=now, default_hours=deps.policy.hours,
                                default_tz=deps.settings.timezone)
        new = offers.plan_offers(session, request=request, matches=routes.now, now=now)
        mine = offers.start_sending(session, offer_ids=[o.id for o in new], now=now)
    offer_flow.refresh_all(deps, request_id)  # the claimer's DM first; the others show "Take it over"
    text = notice_ui.cover_asked(request, cover)
    deps.work.map(lambda o: deps.notifier.post(o.channel_id, text, thread_ts=o.ts, reply_broadcast=True), had)
    offer_flow.post_offers(deps, request_id, mine)
    note = f" ({escape_clip(cover.note, 200)})" if cover.note else ""
    status.post_in_thread(deps, request, f"🆘 {mention(cover.asked_by.slack_user_id)} asked the other experts for "
                                         f"cover{note}; they stay on it until someone takes it over.")


def after_taken(deps: Deps, request_id: int, cover_id: int) -> None:
    """Everyone sees the new claimer; the AE and the expert who asked are told."""
    offer_flow.refresh_all(deps, request_id)
    refresh_homes(deps, request_id)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        cover = covers.latest(session, request_id=request_id)
    if request is None or cover is None or cover.id != cover_id or cover.taken_by is None:
        return
    taker, asker = mention(cover.taken_by.slack_user_id), mention(cover.asked_by.slack_user_id)
    status.post_in_thread(deps, request, f"🔁 {taker} took request #{request.id} over from {asker}. "
                                         f"{mention(request.requester.slack_user_id)}, talk to {taker} from now on.")
    deps.notifier.post(cover.asked_by.slack_user_id,
                       f"🔁 {taker} took request #{request.id} ({escape_clip(request.account, 100)}) over. Thanks for "
                       "asking in time; your reminders for it stop.")
