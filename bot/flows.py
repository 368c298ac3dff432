"""Use cases that span the database and Slack: what happens after a handler acked.

A flow runs on the background executor (never on Bolt's listener pool), opens short
database transactions through the services, and speaks to Slack only through
``bot/slack/notify.py`` between those transactions — never inside one. Handlers and
the scheduler call flows the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot import clock
from bot.config import Settings
from bot.db import Database
from bot.services import directory
from bot.services import requests as requests_service
from bot.slack.blocks import deal_status, request_offer
from bot.slack.blocks.replies import text_reply
from bot.slack.notify import Notifier, Posted
from bot.slack.text import escape_clip, mention
from bot.work import Work
from models import Offer, Person, Request, RequestStatus, Response

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=1)


@dataclass
class Flows:
    settings: Settings
    db: Database
    notifier: Notifier
    work: Work

    # ------------------------------------------------------------ people

    def refresh_profiles(self, people: list[Person], *, parallel: bool = False) -> dict[int, str | None]:
        """Timezones for ``people`` (person id -> IANA name), asking users.info for stale ones.
        ``parallel`` uses the send pool: only from threads that are not on it themselves."""
        now = clock.now()
        zones = {p.id: p.tz for p in people}
        stale = directory.people_needing_profile(people, now=now, max_age=PROFILE_MAX_AGE)
        if not stale:
            return zones
        ask = lambda p: (p, self.notifier.profile(p.slack_user_id))  # noqa: E731
        profiles = self.work.map(ask, stale) if parallel else [ask(p) for p in stale]
        with self.db.session() as session:
            for person, profile in profiles:
                if profile is None:
                    continue
                directory.update_profile(session, person_id=person.id, tz=profile.tz, name=profile.name,
                                         email=profile.email, now=now)
                if profile.tz:
                    zones[person.id] = profile.tz
        return zones

    def timezone_of(self, team_id: str, user_id: str) -> str:
        """A person's IANA timezone: cached in the database, else users.info, else the default."""
        with self.db.session() as session:
            person = directory.ensure_person(session, team_id=team_id, user_id=user_id, now=clock.now())
        return self.refresh_profiles([person]).get(person.id) or self.settings.timezone

    # ------------------------------------------------------------ broadcast

    def broadcast(self, request_id: int, *, exclude_person_ids: tuple[int, ...] = ()) -> int:
        """Match experts and DM the new ones; post or update the deal-channel status.
        Returns the number of DMs Slack accepted. Safe to run again (offers are unique)."""
        now = clock.now()
        with self.db.session() as session:
            request = session.get(Request, request_id)
            if request is None or request.status != RequestStatus.OPEN.value:
                return 0
            matches = directory.match_experts(
                session, request=request, now=now, limit=self.settings.fanout_limit,
                exclude_person_ids=exclude_person_ids,
            )
            new_offers = requests_service.plan_offers(session, request=request, matches=matches, now=now)
            offer_ids = [o.id for o in new_offers]
            experts = [o.expert for o in new_offers]
            has_any_offer = bool(requests_service.offers_of(session, request_id=request.id))
            closest = [] if has_any_offer else directory.closest_skills(session, [s.name for s in request.skills])
        self.refresh_profiles(experts, parallel=True)  # timezones first, concurrently
        sent = sum(1 for posted in self.work.map(self.send_offer, offer_ids) if posted.ok)
        self.post_experts_channel(request_id)
        self.refresh_status(request_id, matched=has_any_offer, closest=closest)
        if not has_any_offer:
            self.tell_admins_no_match(request_id, closest)
        return sent

    def send_offer(self, offer_id: int) -> Posted:
        """DM one expert their offer; record ts or the error on the offer row."""
        with self.db.session() as session:
            offer = session.get(Offer, offer_id)
            if offer is None or offer.ts is not None:
                return Posted(ok=False, error="already_sent")
            request, expert = offer.request, offer.expert
        tz = self.refresh_profiles([expert]).get(expert.id) or self.settings.timezone
        state = request_offer.OfferState(viewer_user_id=expert.slack_user_id, response=offer.response)
        text, blocks = request_offer.render(request, state, tz)
        posted = self.notifier.post(expert.slack_user_id, text, blocks)
        with self.db.session() as session:
            if posted.ok and posted.ts:
                requests_service.record_offer_sent(session, offer_id=offer_id, channel_id=posted.channel or expert.slack_user_id,
                                                   ts=posted.ts, now=clock.now())
            else:
                requests_service.record_offer_failed(session, offer_id=offer_id, error=posted.error or "unknown", now=clock.now())
            current = session.get(Request, request.id)
            moved = current is not None and (current.status, current.claimed_by_id) != (request.status, request.claimed_by_id)
        if posted.ok and moved:
            # Claimed or cancelled while this DM was in flight: show the truth now.
            self.refresh_offer(offer_id)
        return posted

    # ------------------------------------------------------------ refresh

    def refresh_offer(self, offer_id: int) -> Posted:
        with self.db.session() as session:
            offer = session.get(Offer, offer_id)
            if offer is None or not offer.ts or not offer.channel_id:
                return Posted(ok=False, error="not_sent")
            request, expert = offer.request, offer.expert
            session.refresh(request)
        tz = expert.tz or self.settings.timezone
        state = request_offer.OfferState(viewer_user_id=expert.slack_user_id, response=offer.response)
        text, blocks = request_offer.render(request, state, tz)
        return self.notifier.update(offer.channel_id, offer.ts, text, blocks)

    def refresh_for(self, request_id: int, person_id: int) -> None:
        """Re-render one person's DM for a request (after a click that changed nothing)."""
        with self.db.session() as session:
            offer_id = session.scalar(
                select(Offer.id).where(Offer.request_id == request_id, Offer.expert_id == person_id)
            )
        if offer_id is not None:
            self.refresh_offer(offer_id)

    def refresh_all(self, request_id: int) -> None:
        """Re-render every DM, the status message and the experts-channel post of a request."""
        with self.db.session() as session:
            offer_ids = list(session.scalars(
                select(Offer.id).where(Offer.request_id == request_id, Offer.ts.is_not(None))
            ))
        self.work.map(self.refresh_offer, offer_ids)
        self.post_experts_channel(request_id)
        self.refresh_status(request_id)

    def refresh_status(self, request_id: int, *, matched: bool | None = None, closest: list[str] | None = None) -> Posted:
        """Post (first time) or update the status message in the deal channel."""
        with self.db.session() as session:
            request = session.get(Request, request_id)
            if request is None:
                return Posted(ok=False, error="not_found")
            offers = requests_service.offers_of(session, request_id=request_id)
        progress = deal_status.Progress(
            notified=sum(1 for o in offers if o.sent_at is not None),
            pending=sum(1 for o in offers if o.sent_at is None and o.failed_at is None and o.rank > 0),
            declined=sum(1 for o in offers if o.response == Response.DECLINE.value),
            closest_skills=closest or [],
            matched=bool(offers) if matched is None else matched,
        )
        tz = request.requester.tz or self.settings.timezone
        text, blocks = deal_status.render(request, progress, tz)
        if request.status_ts and request.status_channel:
            return self.notifier.update(request.status_channel, request.status_ts, text, blocks)
        posted = self.notifier.post(request.channel_id, text, blocks)
        if not posted.ok:
            # The bot cannot post in the deal channel (private, archived, removed): keep the
            # AE informed in the app's DM, and say how to fix it.
            hint = (f"I could not post in <#{request.channel_id}> ({posted.error}). "
                    "Invite me with `/invite @presales` to get updates there; until then they come here.")
            self.notifier.post(request.requester.slack_user_id, hint)
            posted = self.notifier.post(request.requester.slack_user_id, text, blocks)
        with self.db.session() as session:
            requests_service.record_status_message(session, request_id=request_id, channel=posted.channel,
                                                   ts=posted.ts, error=None if posted.ok else posted.error)
        return posted

    def post_experts_channel(self, request_id: int) -> Posted | None:
        channel = self.settings.experts_channel
        if not channel:
            return None
        with self.db.session() as session:
            request = session.get(Request, request_id)
            if request is None:
                return None
        text, blocks = request_offer.render_channel_post(request, self.settings.timezone)
        if request.experts_post_ts and request.experts_post_channel:
            return self.notifier.update(request.experts_post_channel, request.experts_post_ts, text, blocks)
        if request.status != RequestStatus.OPEN.value:
            return None
        posted = self.notifier.post(channel, text, blocks)
        if posted.ok and posted.ts:
            with self.db.session() as session:
                requests_service.record_experts_post(session, request_id=request_id, channel=posted.channel or channel,
                                                     ts=posted.ts)
        return posted

    def tell_admins_no_match(self, request_id: int, closest: list[str]) -> None:
        with self.db.session() as session:
            request = session.get(Request, request_id)
        skills = ", ".join(escape_clip(s.name, 40) for s in request.skills)
        hint = ", ".join(escape_clip(s, 40) for s in closest) or "none"
        text = (f"⚠️ No expert is available for request #{request.id} from {mention(request.requester.slack_user_id)} "
                f"(skills: {skills}). Skills that have experts: {hint}. "
                "Add one with `/presales expert add @someone skill`.")
        for admin in sorted(self.settings.admins):
            self.notifier.post(admin, *text_reply(text))

    # ------------------------------------------------------------ after a click

    def after_claim(self, request_id: int) -> None:
        self.refresh_all(request_id)
        with self.db.session() as session:
            request = session.get(Request, request_id)
        if request and request.status == RequestStatus.CLAIMED.value and request.status_ts:
            self.notifier.post(request.status_channel, deal_status.claim_thread_text(request), thread_ts=request.status_ts)

    def after_release(self, request_id: int, expert_user_id: str, expert_person_id: int) -> None:
        with self.db.session() as session:
            request = session.get(Request, request_id)
        if request and request.status_ts:
            self.notifier.post(request.status_channel, deal_status.release_thread_text(request, expert_user_id),
                               thread_ts=request.status_ts)
        self.refresh_all(request_id)
        self.broadcast(request_id, exclude_person_ids=(expert_person_id,))
