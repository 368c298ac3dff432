"""Offers and claims: the broadcast of a request to matching experts (one DM each), re-rendering
those DMs from the database after every change, and what follows a claim or a release.

Every DM is rendered by ``blocks/request_offer.render`` from the request as it is stored, for the
first post and every update, and found again by the ``ts`` Slack returned for it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from bot import clock, metrics
from bot.deps import Deps
from bot.flows import people as people_flow
from bot.flows import status
from bot.flows.homes import refresh_homes
from bot.services import briefs, covers, due, matching, offers, skills
from bot.services import requests as requests_service
from bot.slack.blocks import deal_status, notices, request_offer
from bot.slack.notify import Posted
from models import Brief, Cover, Offer, Request, RequestStatus, Response

log = logging.getLogger(__name__)


def broadcast(deps: Deps, request_id: int, *, exclude_person_ids: tuple[int, ...] = (), widen: bool = False) -> int:
    """Match experts and DM every one who has not had this request yet (and any DM a crash
    left unsent); post or update the status message. Safe to run again, also concurrently:
    each DM is taken under a send lease first. ``widen`` asks every available expert with a
    related skill, beyond the fan-out limit."""
    now = clock.now()
    with deps.db.session() as session:
        request = requests_service.find(session, request_id=request_id)
        if request is None or request.status != RequestStatus.OPEN.value:
            return 0
        asking_first = request.ask_first_until is not None and now < request.ask_first_until
        skill_ids = skills.related_skill_ids(session, [s.id for s in request.skills]) if widen else None
        matches = [] if request.synthetic else matching.match_experts(
            session, request=request, now=now, limit=None if widen else deps.settings.fanout_limit,
            exclude_person_ids=exclude_person_ids, skill_ids=skill_ids, buffer=deps.policy.meeting_buffer,
            only_person_ids=[request.ask_first_id] if asking_first else None,
        )
        routes = matching.route(matches, request=request, now=now, default_hours=deps.policy.hours,
                                default_tz=deps.settings.timezone)
        first = request.ladder_from is None
        ladder_from, ladder_tz = _ladder_start(deps, request, routes, now)
        offers.plan_offers(session, request=request, matches=routes.now, now=now, ladder_from=ladder_from,
                           ladder_tz=ladder_tz)
        if routes.later:
            due.defer_offers(session, request=request, later=[(m.person.id, at) for m, at in routes.later], now=now)
        if first:
            due.sync(session, request=request, policy=deps.policy, now=now)
        planned = offers.offers_of(session, request_id=request.id)
        mine = offers.start_sending(session, offer_ids=[o.id for o in planned], now=now)
        closest = [] if planned else skills.closest_skills(session, [s.name for s in request.skills])
    if not planned and not first and request.status_ts and not routes.later:
        return 0  # nothing new (a re-run of a finished broadcast)
    sent = post_offers(deps, request_id, mine)
    status.post_experts_channel(deps, request_id)
    status.refresh_status(deps, request_id, matched=bool(planned or routes.later), closest=closest)
    if not planned and not routes.later:
        status.tell_admins_no_match(deps, request_id, closest)
    return sent


def _ladder_start(deps: Deps, request: Request, routes: matching.Routes, now) -> tuple:
    """When the escalation ladder starts and whose working hours it counts: now, in the first
    expert's timezone; or, when nobody is there now, at the first expert's working start."""
    if request.ask_first_until is not None and now < request.ask_first_until:
        return request.ask_first_until, deps.tz(request.ask_first)  # the others are asked from then on
    if request.urgency == "urgent":
        return now, None
    if routes.now:
        return now, deps.tz(routes.now[0].person)
    if routes.later:
        match, at = min(routes.later, key=lambda item: item[1])
        return at, deps.tz(match.person)
    return now, None


def offer_to(deps: Deps, request_id: int, person_id: int) -> Posted | str:
    """A request deferred to an expert's working start reaches them now, if it is still open and
    they still match; if they are not there after all (away, out of office, Do Not Disturb), it
    waits for their next start. A string says why nothing was sent."""
    now = clock.now()
    with deps.db.session() as session:
        request = requests_service.find(session, request_id=request_id)
        if request is None or request.status != RequestStatus.OPEN.value:
            return f"request is {request.status if request else 'gone'}"
        if offers.offer_of(session, request_id=request_id, person_id=person_id) is not None:
            return "already asked"
        found = matching.match_experts(session, request=request, now=now, limit=None, only_person_ids=[person_id],
                                       buffer=deps.policy.meeting_buffer)
        routes = matching.route(found, request=request, now=now, default_hours=deps.policy.hours,
                                default_tz=deps.settings.timezone)
        if not routes.now:
            due.defer_offers(session, request=request, later=[(m.person.id, at) for m, at in routes.later], now=now)
            return "no longer matches" if not found else "not there yet: waits for their next start"
        offers.plan_offers(session, request=request, matches=routes.now, now=now)
        mine = offers.start_sending(session, offer_ids=[o.id for o in offers.offers_of(session, request_id=request_id)
                                                        if o.expert_id == person_id], now=now)
    if not mine:
        return "being sent by another process"
    sent = post_offers(deps, request_id, mine)
    status.refresh_status(deps, request_id)
    return Posted(ok=True) if sent else Posted(ok=False, error="not_sent", transient=True)


@dataclass(frozen=True)
class Shown:
    """What every DM of a request shows besides the request: its brief, and an open ask for cover."""

    brief: Brief | None
    cover: Cover | None
    # renders of this request by what differs between experts (timezone, their answer, whether it
    # is theirs): a fan-out to 25 experts builds and checks the Block Kit a few times, not 25
    renders: dict = field(default_factory=dict, compare=False)


def shown(session, request: Request) -> Shown:
    """The brief, and (only a claimed request can have one) an open ask for cover."""
    cover = covers.open_cover(session, request_id=request.id) if request.status == RequestStatus.CLAIMED.value else None
    return Shown(briefs.get(session, request_id=request.id), cover)


def _render(deps: Deps, request: Request, extra: Shown, offer: Offer) -> tuple[str, list[dict]]:
    tz = deps.tz(offer.expert)
    key = (tz, offer.response, offer.expert_id == request.claimed_by_id)
    rendered = extra.renders.get(key)
    if rendered is None:
        state = request_offer.OfferState(viewer_user_id=offer.expert.slack_user_id, response=offer.response,
                                         brief=extra.brief, cover=extra.cover)
        rendered = extra.renders[key] = request_offer.render(request, state, tz)
    return rendered


def _post_one(deps: Deps, request: Request, extra: Shown, offer: Offer) -> Posted:
    """One expert's DM, and one short write recording its ts (or why Slack did not take it)."""
    posted = deps.notifier.post(offer.expert.slack_user_id, *_render(deps, request, extra, offer))
    try:
        with deps.db.session() as session:
            if posted.ok and posted.ts:  # sent when Slack says it was: the ts it gave the DM
                offers.record_offer_sent(session, offer_id=offer.id,
                                         channel_id=posted.channel or offer.expert.slack_user_id,
                                         ts=posted.ts, now=clock.slack_time(posted.ts, now=clock.now()))
            elif not offers.record_offer_failed(session, offer_id=offer.id, now=clock.now(),
                                                error=posted.error or "unknown", transient=posted.transient):
                metrics.offers_failed.labels(code=posted.error or "unknown").inc()  # for good
    except OperationalError:
        # RELIABILITY 38: the database went away mid-broadcast. The row keeps no ts (never
        # "sent" without one) and its send lease; once that runs out the scheduler's resend
        # sweep posts it again: the documented at-least-once window, one duplicate at most.
        log.warning("could not record the DM of offer %s (database unavailable); it will be posted again",
                    offer.id)
    return posted


def post_offers(deps: Deps, request_id: int, offer_ids: list[int]) -> int:
    """Post the DMs this process holds a send lease for: the request and brief are loaded
    and the blocks built once per expert; one short write per DM records its ts."""
    if not offer_ids:
        return 0
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        extra = shown(session, request)
        leased = offers.by_ids(session, offer_ids)
    rendered = (request.status, request.claimed_by_id)
    results = deps.work.map(lambda offer: _post_one(deps, request, extra, offer), leased)
    metrics.offers_sent.inc(sum(1 for result in results if result.ok))
    with deps.db.read() as session:
        current = requests_service.find(session, request_id=request_id)
    if current is not None and (current.status, current.claimed_by_id) != rendered:
        # Claimed or cancelled while these DMs were in flight: show the truth now.
        deps.work.map(lambda offer_id: refresh_offer(deps, offer_id), [o.id for o, r in zip(leased, results) if r.ok])
    # timezones for reminders and Homes, learnt after the DMs went out, not before
    people_flow.refresh_later(deps, [o.expert for o in leased])
    return sum(1 for r in results if r.ok)


def resend_offers(deps: Deps) -> int:
    """Post again the expert DMs Slack refused with a rate limit, a 5xx or a network error
    once their back-off has passed (and any a dead process left half-sent), for requests
    still open: an expert is never silently left out of a broadcast (RELIABILITY 36)."""
    with deps.db.session() as session:
        grouped = offers.take_resends(session, now=clock.now())
    return sum(post_offers(deps, request_id, offer_ids) for request_id, offer_ids in grouped.items())


# ------------------------------------------------------------ re-rendering the DMs


def refresh_offer(deps: Deps, offer_id: int, *, urgent: bool = False) -> Posted:
    """Re-render one DM from what the database says now (``urgent``: its reader just clicked)."""
    with deps.db.read() as session:
        offer = offers.get(session, offer_id=offer_id)
        if offer is None or not offer.ts or not offer.channel_id:
            return Posted(ok=False, error="not_sent")
        request = requests_service.find(session, request_id=offer.request_id)
        extra = shown(session, request)
    return deps.notifier.update(offer.channel_id, offer.ts, *_render(deps, request, extra, offer), urgent=urgent)


def refresh_for(deps: Deps, request_id: int, person_id: int) -> None:
    """Re-render one person's DM for a request (after a click that changed nothing)."""
    with deps.db.read() as session:
        offer = offers.offer_of(session, request_id=request_id, person_id=person_id)
    if offer is not None:
        refresh_offer(deps, offer.id, urgent=True)


def refresh_all(deps: Deps, request_id: int, *, first_person_id: int | None = None) -> None:
    """Re-render every DM, the status message and the experts-channel post of a request.

    The DM of the person who acted (``first_person_id``; by default whoever holds the claim)
    is updated at once; with chat.update paced (PRESALES_SLACK_PACE) the others go on its
    lane at Tier 3 (RELIABILITY 55): a claim on a 100-expert request neither delays the
    claimer nor runs into 429s, and every DM shows the newest state in the end."""
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        extra = shown(session, request) if request is not None else None
        sent = offers.sent_offers(session, request_id=request_id)
    if request is None:
        return

    def update(offer: Offer) -> Posted:  # the request, brief and cover loaded once for every DM
        return deps.notifier.update(offer.channel_id, offer.ts, *_render(deps, request, extra, offer),
                                    urgent=offer.expert_id == first)

    first = first_person_id if first_person_id is not None else request.claimed_by_id
    for offer in sent:  # theirs before any other is queued
        if offer.expert_id == first:
            update(offer)
    others = [offer for offer in sent if offer.expert_id != first]
    if deps.notifier.pacer.paces("chat.update"):
        # rendered when its turn comes, from the database then: a queued update can never put
        # back a state that changed meanwhile (a Claim button on a request claimed since)
        for offer in others:
            deps.work.paced("chat.update", (offer.channel_id, offer.ts),
                            lambda offer_id=offer.id: refresh_offer(deps, offer_id))
    else:  # nothing to wait for (PRESALES_SLACK_PACE=off): the send pool updates them side by side
        deps.work.map(update, others)
    status.post_experts_channel(deps, request_id)
    status.refresh_status(deps, request_id)


# ------------------------------------------------------------ after a click


def after_claim(deps: Deps, request_id: int) -> None:
    refresh_all(deps, request_id)
    refresh_homes(deps, request_id)
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
    if request and request.status == RequestStatus.CLAIMED.value:
        status.post_in_thread(deps, request, deal_status.claim_thread_text(request))


def after_decline(deps: Deps, request_id: int, person_id: int) -> None:
    """Their DM first; if they were the one asked first, everyone who matches is asked now."""
    refresh_all(deps, request_id, first_person_id=person_id)
    with deps.db.session() as session:
        request = requests_service.find(session, request_id=request_id)
        ended = request is not None and request.ask_first_id == person_id and \
            requests_service.end_ask_first(session, request_id=request_id, policy=deps.policy, now=clock.now())
    if ended:
        broadcast(deps, request_id)


def after_release(deps: Deps, request_id: int, expert_user_id: str, expert_person_id: int) -> None:
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        waiting = [o for o in offers.offers_of(session, request_id=request_id)
                   if o.ts and o.expert_id != expert_person_id and o.response != Response.DECLINE.value]
    if request:
        status.post_in_thread(deps, request, deal_status.release_thread_text(request, expert_user_id))
    refresh_all(deps, request_id, first_person_id=expert_person_id)  # the releaser's DM first
    # chat.update notifies nobody: tell the others in their DM thread that it is open again
    deps.work.map(lambda o: deps.notifier.post(o.channel_id, notices.reopened(request, expert_user_id),
                                               thread_ts=o.ts, reply_broadcast=True), waiting)
    broadcast(deps, request_id, exclude_person_ids=(expert_person_id,))
    refresh_homes(deps, request_id)
