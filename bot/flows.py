"""Use cases that span the database and Slack: what happens after a handler acked, and
what the scheduler does with a due notice.

A flow runs on the background executor (never on Bolt's listener pool), opens short
database transactions through the services, and speaks to Slack only through
``bot/slack/notify.py`` between those transactions — never inside one. Handlers and
the scheduler call flows the same way.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time as _time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot import clock, metrics
from bot.config import Settings
from bot.db import Database
from bot.services import briefs, digest, directory, due, heartbeat, home
from bot.services import requests as requests_service
from bot.slack.blocks import brief as brief_ui
from bot.slack import chart
from bot.slack.blocks import deal_status, notices, request_offer
from bot.slack.blocks import digest as digest_ui
from bot.slack.blocks import home as home_ui
from bot.slack.blocks.replies import text_reply
from bot.slack.notify import Notifier, Posted
from bot.slack.blocks.common import as_dicts
from bot.slack.text import escape_clip, format_when, mention
from bot.work import Work
from models import DueNotice, NoticeKind, NoticeState, Offer, Person, Request, RequestStatus, Response

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(days=1)
PROFILE_RETRY = timedelta(minutes=10)
HOME_WATCH = timedelta(days=7)


# Managers served at once by a weekly digest run: bounded so a 300-manager Monday neither
# floods Slack (files.* are Tier 2-3) nor starves the reminders sharing this process.
DIGEST_CONCURRENCY = 4


@dataclass(frozen=True)
class Edition:
    """A digest ready to send: (text, blocks) messages and the chart PNG (None: nothing to plot)."""

    messages: list[tuple[str, list[dict]]]
    png: bytes | None


class _Editions:
    """Digest editions of one run, built once per (workspace, week, timezone) even when several
    threads ask for the same one at once."""

    def __init__(self, build: Callable[[str, digest.Week], Edition]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str, str], tuple[threading.Lock, list[Edition]]] = {}

    def get(self, team_id: str, week: digest.Week) -> Edition:
        key = (team_id, week.label, week.tz)
        with self._lock:
            slot = self._slots.setdefault(key, (threading.Lock(), []))
        lock, built = slot
        with lock:
            if not built:
                built.append(self._build(team_id, week))
            return built[0]


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


@dataclass
class Flows:
    settings: Settings
    db: Database
    notifier: Notifier
    work: Work

    def __post_init__(self) -> None:
        self.policy = due.Policy.from_settings(self.settings)
        self.scheduler_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._others_warned: set[str] = set()

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
                if profile is None:  # Slack said no (or nothing): try again in 10 minutes, not every time
                    directory.update_profile(session, person_id=person.id, tz=None, name=None, email=None,
                                             now=now - PROFILE_MAX_AGE + PROFILE_RETRY)
                    continue
                directory.update_profile(session, person_id=person.id, tz=profile.tz, name=profile.name,
                                         email=profile.email, now=now)
                if profile.tz:
                    zones[person.id] = profile.tz
        return zones

    def timezone_of(self, team_id: str, user_id: str) -> str:
        """A person's IANA timezone: cached in the database, else users.info, else the default."""
        with self.db.read() as session:
            person = directory.get_person(session, team_id=team_id, user_id=user_id)
        if person is None:  # the first time we see them: the only write here
            with self.db.session() as session:
                person = directory.ensure_person(session, team_id=team_id, user_id=user_id, now=clock.now())
        return self.refresh_profiles([person]).get(person.id) or self.settings.timezone

    def cached_timezone(self, team_id: str, user_id: str) -> str:
        """For the ack path and before views.open: the stored timezone, no Slack call. A stale
        one is refreshed in the background for next time."""
        with self.db.read() as session:
            person = directory.get_person(session, team_id=team_id, user_id=user_id, with_skills=False)
        if person is None or directory.people_needing_profile([person], now=clock.now(), max_age=PROFILE_MAX_AGE):
            self.work.submit(self.timezone_of, team_id, user_id)
        return (person.tz if person is not None else None) or self.settings.timezone

    def _tz(self, person: Person | None) -> str:
        return (person.tz if person is not None else None) or self.settings.timezone

    # ------------------------------------------------------------ creation and brief

    def after_create(self, request_id: int) -> None:
        """A new request: broadcast it, or (held for its brief) show it waiting and ask for the brief."""
        with self.db.read() as session:
            request = session.get(Request, request_id)
            if request is None:
                return
            has_brief = briefs.get(session, request_id=request_id) is not None
        self.refresh_profiles([request.requester])
        self.refresh_status(request_id)  # the deal channel sees it at once, before the fan-out
        if request.status == RequestStatus.OPEN.value:
            self.broadcast(request_id)
        if request.needs_brief and not has_brief:
            with self.db.read() as session:
                nudge = session.scalar(select(DueNotice.id).where(
                    DueNotice.request_id == request_id, DueNotice.kind == NoticeKind.BRIEF_NUDGE.value,
                    DueNotice.slot == "created"))
            if nudge is not None:
                self.deliver_now(nudge)

    def nudge_brief(self, request_id: int, *, first: bool = False) -> Posted:
        with self.db.read() as session:
            request = session.get(Request, request_id)
        tz = self._tz(request.requester)
        text, blocks = notices.brief_nudge(
            request, due=briefs.due_at(request, due_before=self.policy.brief_due_before),
            held=request.status == RequestStatus.HELD.value, tz=tz, first=first,
        )
        return self.notifier.post(request.requester.slack_user_id, text, blocks)

    def after_brief(self, request_id: int, *, released: bool, first: bool) -> None:
        """A brief was saved: a held request goes out now; the claimed expert gets the brief."""
        if released:
            self.broadcast(request_id)
        else:
            self.refresh_all(request_id)
        self.refresh_homes(request_id)
        with self.db.read() as session:
            request = session.get(Request, request_id)
            brief = briefs.get(session, request_id=request_id)
        if first and brief is not None and request.status == RequestStatus.CLAIMED.value and request.claimed_by:
            text = f"📋 The brief for request #{request.id} is ready.\n{brief_ui.summary(brief)}"
            blocks = as_dicts(brief_ui.summary_blocks(request, brief))
            self.notifier.post(request.claimed_by.slack_user_id, text, blocks)

    # ------------------------------------------------------------ broadcast

    def broadcast(self, request_id: int, *, exclude_person_ids: tuple[int, ...] = (), widen: bool = False) -> int:
        """Match experts and DM every one who has not had this request yet (and any DM a crash
        left unsent); post or update the status message. Safe to run again, also concurrently:
        each DM is taken under a send lease first. ``widen`` asks every available expert with a
        related skill, beyond the fan-out limit."""
        now = clock.now()
        with self.db.session() as session:
            request = session.get(Request, request_id)
            if request is None or request.status != RequestStatus.OPEN.value:
                return 0
            skill_ids = directory.related_skill_ids(session, [s.id for s in request.skills]) if widen else None
            matches = [] if request.synthetic else directory.match_experts(
                session, request=request, now=now, limit=None if widen else self.settings.fanout_limit,
                exclude_person_ids=exclude_person_ids, skill_ids=skill_ids,
            )
            first = request.ladder_from is None
            requests_service.plan_offers(session, request=request, matches=matches, now=now)
            if first:
                due.sync(session, request=request, policy=self.policy, now=now)
            offers = requests_service.offers_of(session, request_id=request.id)
            mine = requests_service.start_sending(session, offer_ids=[o.id for o in offers], now=now)
            closest = [] if offers else directory.closest_skills(session, [s.name for s in request.skills])
        if not offers and not first and request.status_ts:
            return 0  # nothing new (a re-run of a finished broadcast)
        sent = self._post_offers(request_id, mine)
        self.post_experts_channel(request_id)
        self.refresh_status(request_id, matched=bool(offers), closest=closest)
        if not offers:
            self.tell_admins_no_match(request_id, closest)
        return sent

    def _post_offers(self, request_id: int, offer_ids: list[int]) -> int:
        """Post the DMs this process holds a send lease for: the request and brief are loaded
        and the blocks built once per expert; one short write per DM records its ts."""
        if not offer_ids:
            return 0
        with self.db.read() as session:
            request = session.get(Request, request_id)
            brief = briefs.get(session, request_id=request_id)
            offers = list(session.scalars(select(Offer).where(Offer.id.in_(offer_ids))))
        rendered = (request.status, request.claimed_by_id)

        def post(offer: Offer) -> Posted:
            state = request_offer.OfferState(viewer_user_id=offer.expert.slack_user_id, response=offer.response,
                                             brief=brief)
            text, blocks = request_offer.render(request, state, self._tz(offer.expert))
            posted = self.notifier.post(offer.expert.slack_user_id, text, blocks)
            try:
                with self.db.session() as session:
                    if posted.ok and posted.ts:
                        requests_service.record_offer_sent(session, offer_id=offer.id,
                                                           channel_id=posted.channel or offer.expert.slack_user_id,
                                                           ts=posted.ts, now=clock.now())
                    elif not requests_service.record_offer_failed(session, offer_id=offer.id, now=clock.now(),
                                                                  error=posted.error or "unknown",
                                                                  transient=posted.transient):
                        metrics.offers_failed.labels(code=posted.error or "unknown").inc()  # for good
            except OperationalError:
                # RELIABILITY 38: the database went away mid-broadcast. The row keeps no ts (never
                # "sent" without one) and its send lease; once that runs out the scheduler's resend
                # sweep posts it again: the documented at-least-once window, one duplicate at most.
                log.warning("could not record the DM of offer %s (database unavailable); it will be posted again",
                            offer.id)
            return posted

        results = self.work.map(post, offers)
        metrics.offers_sent.inc(sum(1 for result in results if result.ok))
        with self.db.read() as session:
            current = session.get(Request, request_id)
        if current is not None and (current.status, current.claimed_by_id) != rendered:
            # Claimed or cancelled while these DMs were in flight: show the truth now.
            self.work.map(self.refresh_offer, [o.id for o, r in zip(offers, results) if r.ok])
        stale = directory.people_needing_profile([o.expert for o in offers], now=clock.now(), max_age=PROFILE_MAX_AGE)
        if stale:  # timezones for reminders and Homes, learnt after the DMs went out, not before
            self.work.submit(self.refresh_profiles, stale)
        return sum(1 for r in results if r.ok)

    def _offer_view(self, offer: Offer) -> tuple[str, list[dict]]:
        with self.db.read() as session:
            request = session.get(Request, offer.request_id)
            brief = briefs.get(session, request_id=offer.request_id)
        state = request_offer.OfferState(viewer_user_id=offer.expert.slack_user_id, response=offer.response,
                                         brief=brief)
        return request_offer.render(request, state, self._tz(offer.expert))

    # ------------------------------------------------------------ refresh

    def refresh_offer(self, offer_id: int, *, urgent: bool = False) -> Posted:
        """Re-render one DM from what the database says now (``urgent``: its reader just clicked)."""
        with self.db.read() as session:
            offer = session.get(Offer, offer_id)
            if offer is None or not offer.ts or not offer.channel_id:
                return Posted(ok=False, error="not_sent")
        text, blocks = self._offer_view(offer)
        return self.notifier.update(offer.channel_id, offer.ts, text, blocks, urgent=urgent)

    def refresh_for(self, request_id: int, person_id: int) -> None:
        """Re-render one person's DM for a request (after a click that changed nothing)."""
        with self.db.read() as session:
            offer_id = session.scalar(
                select(Offer.id).where(Offer.request_id == request_id, Offer.expert_id == person_id)
            )
        if offer_id is not None:
            self.refresh_offer(offer_id, urgent=True)

    def refresh_all(self, request_id: int, *, first_person_id: int | None = None) -> None:
        """Re-render every DM, the status message and the experts-channel post of a request.

        The DM of the person who acted (``first_person_id``; by default whoever holds the claim)
        is updated at once; with chat.update paced (PRESALES_SLACK_PACE) the others go on its
        lane at Tier 3 (RELIABILITY 55): a claim on a 100-expert request neither delays the
        claimer nor runs into 429s, and every DM shows the newest state in the end."""
        with self.db.read() as session:
            request = session.get(Request, request_id)
            brief = briefs.get(session, request_id=request_id)
            offers = list(session.scalars(
                select(Offer).where(Offer.request_id == request_id, Offer.ts.is_not(None))
            ))
        if request is None:
            return

        def update(offer: Offer) -> Posted:  # the request and brief loaded once for every DM
            state = request_offer.OfferState(viewer_user_id=offer.expert.slack_user_id, response=offer.response,
                                             brief=brief)
            text, blocks = request_offer.render(request, state, self._tz(offer.expert))
            return self.notifier.update(offer.channel_id, offer.ts, text, blocks, urgent=offer.expert_id == first)

        first = first_person_id if first_person_id is not None else request.claimed_by_id
        for offer in offers:  # theirs before any other is queued
            if offer.expert_id == first:
                update(offer)
        others = [offer for offer in offers if offer.expert_id != first]
        if self.notifier.pacer.paces("chat.update"):
            # rendered when its turn comes, from the database then: a queued update can never put
            # back a state that changed meanwhile (a Claim button on a request claimed since)
            for offer in others:
                self.work.paced("chat.update", (offer.channel_id, offer.ts),
                                lambda offer_id=offer.id: self.refresh_offer(offer_id))
        else:  # nothing to wait for (PRESALES_SLACK_PACE=off): the send pool updates them side by side
            self.work.map(update, others)
        self.post_experts_channel(request_id)
        self.refresh_status(request_id)

    def _status_view(self, request_id: int, matched: bool | None, closest: list[str] | None):
        with self.db.read() as session:
            request = session.get(Request, request_id)
            if request is None:
                return None, "", []
            offers = requests_service.offers_of(session, request_id=request_id)
            brief = briefs.get(session, request_id=request_id)
        progress = deal_status.Progress(
            notified=sum(1 for o in offers if o.sent_at is not None),
            pending=sum(1 for o in offers if o.sent_at is None and o.failed_at is None and o.rank > 0),
            declined=sum(1 for o in offers if o.response == Response.DECLINE.value),
            closest_skills=closest or [],
            matched=bool(offers) or request.status != RequestStatus.OPEN.value if matched is None else matched,
            brief=brief,
            brief_due=briefs.due_at(request, due_before=self.policy.brief_due_before) if request.needs_brief else None,
        )
        text, blocks = deal_status.render(request, progress, self._tz(request.requester))
        return request, text, blocks

    def refresh_status(self, request_id: int, *, matched: bool | None = None, closest: list[str] | None = None) -> Posted:
        """Post (first time) or update the status message in the deal channel."""
        request, text, blocks = self._status_view(request_id, matched, closest)
        if request is None:
            return Posted(ok=False, error="not_found")
        if request.status_ts and not requests_service.is_placeholder(request.status_ts):
            return self.notifier.update(request.status_channel, request.status_ts, text, blocks, urgent=True)
        with self.db.session() as session:
            if not requests_service.reserve_post(session, request_id=request_id, column="status_ts", now=clock.now()):
                return Posted(ok=False, error="being_posted")  # the poster re-renders after posting
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
        if posted.ok and posted.ts:  # others skipped their update while this was posted: catch up
            _, now_text, now_blocks = self._status_view(request_id, matched, closest)
            if (now_text, now_blocks) != (text, blocks):
                self.notifier.update(posted.channel, posted.ts, now_text, now_blocks)
        return posted

    def post_experts_channel(self, request_id: int) -> Posted | None:
        channel = self.settings.experts_channel
        if not channel:
            return None
        with self.db.read() as session:
            request = session.get(Request, request_id)
            if request is None:
                return None
            brief = briefs.get(session, request_id=request_id)
        text, blocks = request_offer.render_channel_post(request, self.settings.timezone, brief)
        if request.experts_post_ts and not requests_service.is_placeholder(request.experts_post_ts):
            return self.notifier.update(request.experts_post_channel, request.experts_post_ts, text, blocks,
                                        urgent=True)
        if request.status != RequestStatus.OPEN.value:
            return None
        with self.db.session() as session:
            if not requests_service.reserve_post(session, request_id=request_id, column="experts_post_ts",
                                                 now=clock.now()):
                return None
        posted = self.notifier.post(channel, text, blocks)
        with self.db.session() as session:
            requests_service.record_experts_post(session, request_id=request_id, channel=posted.channel or channel,
                                                 ts=posted.ts if posted.ok else None)
        if posted.ok and posted.ts:  # anything that changed while it was being posted
            with self.db.read() as session:
                current = session.get(Request, request_id)
            now_text, now_blocks = request_offer.render_channel_post(current, self.settings.timezone, brief)
            if (now_text, now_blocks) != (text, blocks):
                self.notifier.update(posted.channel or channel, posted.ts, now_text, now_blocks)
        return posted

    def tell_admins_no_match(self, request_id: int, closest: list[str]) -> None:
        with self.db.read() as session:
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
        self.refresh_homes(request_id)
        with self.db.read() as session:
            request = session.get(Request, request_id)
        if request and request.status == RequestStatus.CLAIMED.value and request.status_ts:
            self.notifier.post(request.status_channel, deal_status.claim_thread_text(request), thread_ts=request.status_ts)

    def after_release(self, request_id: int, expert_user_id: str, expert_person_id: int) -> None:
        with self.db.read() as session:
            request = session.get(Request, request_id)
            waiting = [o for o in requests_service.offers_of(session, request_id=request_id)
                       if o.ts and o.expert_id != expert_person_id and o.response != Response.DECLINE.value]
        if request and request.status_ts:
            self.notifier.post(request.status_channel, deal_status.release_thread_text(request, expert_user_id),
                               thread_ts=request.status_ts)
        self.refresh_all(request_id, first_person_id=expert_person_id)  # the releaser's DM first
        # chat.update notifies nobody: tell the others in their DM thread that it is open again
        self.work.map(lambda o: self.notifier.post(o.channel_id, notices.reopened(request, expert_user_id),
                                                   thread_ts=o.ts, reply_broadcast=True), waiting)
        self.broadcast(request_id, exclude_person_ids=(expert_person_id,))
        self.refresh_homes(request_id)

    def after_cancel(self, request_id: int) -> None:
        self.refresh_all(request_id)
        with self.db.read() as session:
            request = session.get(Request, request_id)
            offer = session.scalar(select(Offer).where(Offer.request_id == request_id,
                                                       Offer.expert_id == request.claimed_by_id))
        if offer is not None and offer.ts:  # the expert who had taken it hears it, not just sees it
            self.notifier.post(offer.channel_id, notices.cancelled(request), thread_ts=offer.ts, reply_broadcast=True)
        self.refresh_homes(request_id)

    def after_reschedule(self, request_id: int) -> None:
        self.refresh_all(request_id)
        self.refresh_homes(request_id)
        with self.db.read() as session:
            request = session.get(Request, request_id)
        if request and request.status == RequestStatus.CLAIMED.value and request.claimed_by:
            tz = self._tz(request.claimed_by)
            self.notifier.post(request.claimed_by.slack_user_id,
                               f"🗓 Request #{request.id} ({escape_clip(request.account, 100)}) moved to "
                               f"{format_when(request.when, tz)}. Reminders moved with it.")

    # ------------------------------------------------------------ App Home

    def publish_home(self, team_id: str, user_id: str, *, opened: bool = False) -> Posted:
        """Render and publish one person's Home (their roles decide the sections)."""
        now = clock.now()
        with self.db.session() if opened else self.db.read() as session:
            person = directory.get_person(session, team_id=team_id, user_id=user_id)
            if opened:
                person = person or directory.ensure_person(session, team_id=team_id, user_id=user_id, now=now)
                home.seen(session, person=person, now=now)
        if person is None:
            return Posted(ok=False, error="unknown_person")
        tz = self.refresh_profiles([person]).get(person.id) or self.settings.timezone
        with self.db.read() as session:
            person = session.get(Person, person.id)
            data = home.load(session, person=person, admins=self.settings.admins, now=now)
        headline = None
        if data.roles.can_manage:
            headline = digest_ui.headline(self.digest_data(team_id, digest.week_of(clock.to_local(now, tz).date(), tz)))
        return self.notifier.publish_home(user_id, home_ui.view(data, tz, headline=headline), urgent=opened)

    def refresh_homes(self, request_id: int) -> None:
        """After a request changed: the Homes that show it, of people who looked at their Home
        this week, queued off the request path on the views.publish lane (paced to Tier 4,
        RELIABILITY 56). A refresh already queued for someone is not repeated: the Home is
        rendered when its turn comes, with everything that changed by then."""
        with self.db.read() as session:
            people = home.watchers(session, request_id=request_id, since=clock.now() - HOME_WATCH)
        for person in people:
            key = (person.team_id, person.slack_user_id)
            self.work.paced("views.publish", key, lambda key=key: self.publish_home(*key))

    # ------------------------------------------------------------ the weekly digest

    def digest_data(self, team_id: str, week: digest.Week) -> digest.DigestData:
        with self.db.read() as session:
            return digest.compute(session, team_id=team_id, week=week, due_before=self.policy.brief_due_before,
                                  now=clock.now())

    def digest_edition(self, team_id: str, week: digest.Week) -> "Edition":
        """One digest as it is sent: its messages and its chart (the same for every manager of
        a workspace who reads the same week in the same timezone)."""
        data = self.digest_data(team_id, week)
        try:
            png = chart.expert_chart(digest_ui.chart_rows(data), title=f"Experts, {week.label}")
        except Exception:  # the figures are the digest; the picture of them must not hold them back
            log.exception("digest chart for %s (%s) failed; the digest goes without it", team_id, week.label)
            png = None
        return Edition(messages=digest_ui.messages(data), png=png)

    def send_digest(self, person: Person, week: digest.Week, *, edition: "Edition | None" = None) -> Posted:
        """The digest as DMs to ``person`` (split if long), then the chart as an image."""
        edition = edition or self.digest_edition(person.team_id, week)
        first: Posted | None = None
        for text, blocks in edition.messages:
            posted = self.notifier.post(person.slack_user_id, text, blocks)
            if not posted.ok:
                return posted
            first = first or posted
        if edition.png is not None and first is not None and first.channel:
            self.notifier.upload(first.channel, edition.png, filename=f"presales-digest-{week.label}.png",
                                 title=f"Response rate and time to respond, {week.label}")
        return first or Posted(ok=False, error="nothing_to_send")

    def send_weekly_digests(self) -> int:
        """Every manager whose digest time has come (cron in their own timezone) and who has
        not had this week's digest gets it: once per (manager, week), across processes.

        Managers are served DIGEST_CONCURRENCY at a time; each (workspace, week, timezone) is
        computed and charted once per run and shared (RELIABILITY 57: 300 managers in minutes,
        not one SQL digest and one matplotlib chart each). Each row is reserved just before its
        own send, so a long run never holds rows another scheduler could take over."""
        now = clock.now()
        with self.db.read() as session:
            readers = digest.managers(session, admins=self.settings.admins)
        if not readers:
            return 0
        zones = self.refresh_profiles(readers, parallel=True)
        due_now = [(person, week) for person in readers
                   if (week := digest.due_week(self.settings.digest_cron, tz=zones.get(person.id) or self.settings.timezone,
                                               now=now)) is not None]
        if not due_now:
            return 0
        editions = _Editions(self.digest_edition)

        def one(item: tuple[Person, digest.Week]) -> bool:
            person, week = item
            try:
                with self.db.session() as session:
                    row = digest.reserve(session, manager_id=person.id, week=week, now=now)
                if row is None:
                    return False
                posted = self.send_digest(person, week, edition=editions.get(person.team_id, week))
                with self.db.session() as session:
                    digest.mark(session, digest_id=row.id, sent=posted.ok, now=clock.now(), channel=posted.channel,
                                ts=posted.ts, error=posted.error)
                return posted.ok
            except Exception:  # one manager's failure (left 'sending': retried after the lease) stops no one else
                log.exception("digest for %s (%s) failed", person.slack_user_id, week.label)
                return False

        with ThreadPoolExecutor(max_workers=DIGEST_CONCURRENCY, thread_name_prefix="digest") as pool:
            contexts = [contextvars.copy_context() for _ in due_now]  # one each: a context runs in one thread at a time
            return sum(pool.map(lambda ctx, item: ctx.run(one, item), contexts, due_now))

    # ------------------------------------------------------------ the scheduler

    def heartbeat(self) -> list[str]:
        """Say this scheduler is alive; warn (once each) about other schedulers running too."""
        window = max(3 * self.settings.scheduler_interval, timedelta(minutes=2))
        with self.db.session() as session:
            others = heartbeat.beat(session, me=self.scheduler_id, host=socket.gethostname(), pid=os.getpid(),
                                    now=clock.now(), window=window)
        for other in others:
            if other.id not in self._others_warned:
                self._others_warned.add(other.id)
                log.warning("another scheduler is running (%s, pid %s, since %s): safe — every notice is leased — "
                            "but usually a mistake: run one `presales-bot scheduler` (Procfile clock:) and start web "
                            "processes with --no-scheduler", other.host, other.pid, other.started_at.isoformat())
        return [o.id for o in others]

    def sweep_due(self, *, batch: int = 100, budget_s: float = 25.0) -> Sweep:
        """Lease due notices and deliver them, batch after batch, within ``budget_s``.
        Call from the scheduler thread or a command, never from a work-pool thread."""
        sweep = Sweep()
        token = uuid.uuid4().hex
        started = _time.monotonic()
        while _time.monotonic() - started < budget_s:
            with self.db.session() as session:
                ids = due.take_due(session, now=clock.now(), limit=batch, lease=self.policy.lease, token=token)
            if not ids:
                break
            sweep.taken += len(ids)
            for kind, outcome in self.work.map(lambda notice_id: self.deliver(notice_id, token), ids, pool="work"):
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
        sweep.resent = self.resend_offers()
        return sweep

    def resend_offers(self) -> int:
        """Post again the expert DMs Slack refused with a rate limit, a 5xx or a network error
        once their back-off has passed (and any a dead process left half-sent), for requests
        still open: an expert is never silently left out of a broadcast (RELIABILITY 36)."""
        with self.db.session() as session:
            grouped = requests_service.take_resends(session, now=clock.now())
        return sum(self._post_offers(request_id, offer_ids) for request_id, offer_ids in grouped.items())

    def deliver_now(self, notice_id: int) -> tuple[str, str]:
        """Lease one notice at once and deliver it (e.g. the brief nudge at creation): the same
        exactly-once path as a tick."""
        token = uuid.uuid4().hex
        with self.db.session() as session:
            if not due.take_one(session, notice_id=notice_id, now=clock.now(), lease=self.policy.lease, token=token):
                return "?", "gone"
        return self.deliver(notice_id, token)

    def deliver(self, notice_id: int, token: str) -> tuple[str, str]:
        """Send one leased notice if it is still true and still useful. Returns (kind, outcome)."""
        try:
            kind, outcome = self._deliver(notice_id, token)
            metrics.notices.labels(kind=kind, outcome=outcome).inc()
            if kind in (NoticeKind.REPING.value, NoticeKind.WIDEN.value, NoticeKind.ESCALATE.value) \
                    and outcome in ("sent", "late"):
                metrics.escalations.labels(step=kind).inc()
            return kind, outcome
        except Exception as exc:  # one bad notice must not stop the tick: back off and retry it
            log.exception("delivering notice %s failed", notice_id)
            with self.db.session() as session:
                due.give_back(session, notice_id=notice_id, token=token, error=type(exc).__name__, now=clock.now())
            return "?", "retry"

    def _deliver(self, notice_id: int, token: str) -> tuple[str, str]:
        now = clock.now()
        with self.db.session() as session:
            notice = session.get(DueNotice, notice_id)
            if notice is None or notice.state != NoticeState.LEASED.value or notice.lease_token != token:
                return "?", "gone"
            kind = NoticeKind(notice.kind)
            deadline = due.grace_until(notice)
            if deadline is not None and now > deadline:
                due.finish(session, notice_id=notice_id, token=token, state=NoticeState.SKIPPED, now=now,
                           error=f"too late: {notice.due_at:%Y-%m-%d %H:%M} UTC, useful until {deadline:%Y-%m-%d %H:%M}")
                log.warning("skipped %s notice %s for request %s: overdue past its grace", kind.value, notice.id,
                            notice.request_id)
                return kind.value, "skipped"
        with self.db.session() as session:  # renew right before the send; lost it? another tick has it
            if not due.still_ours(session, notice_id=notice_id, token=token, now=clock.now(), lease=self.policy.lease):
                return kind.value, "gone"
        handler = getattr(self, f"_send_{kind.value}")
        result: Posted | str = handler(notice)
        late = now - notice.due_at > self.policy.late_after
        with self.db.session() as session:
            if isinstance(result, str):  # a reason not to send: no longer true
                partly = bool(due.reached(session, notice_id=notice_id))  # some recipients have it already
                due.finish(session, notice_id=notice_id, token=token, now=clock.now(),
                           state=NoticeState.SENT if partly else NoticeState.SKIPPED,
                           error=f"partly sent, then: {result}" if partly else result)
                return kind.value, "sent" if partly else "skipped"
            if result.ok:
                due.finish(session, notice_id=notice_id, token=token, state=NoticeState.SENT, now=clock.now(),
                           channel=result.channel, ts=result.ts, late=late)
                if late:
                    log.info("sent %s notice %s late (due %s)", kind.value, notice.id, notice.due_at.isoformat())
                return kind.value, "late" if late else "sent"
            due.give_back(session, notice_id=notice_id, token=token, error=result.error or "slack_error",
                          now=clock.now())
            return kind.value, "retry"

    # One method per notice kind: re-check the request at send time, then send.

    def _current(self, notice: DueNotice) -> tuple[Request, object]:
        with self.db.read() as session:
            request = session.get(Request, notice.request_id)
            brief = briefs.get(session, request_id=notice.request_id)
        return request, brief

    def _send_broadcast_check(self, notice: DueNotice) -> Posted | str:
        request, _ = self._current(notice)
        if request.status != RequestStatus.OPEN.value:
            return f"request is {request.status}"
        self.broadcast(request.id)
        return Posted(ok=True)

    def _send_brief_nudge(self, notice: DueNotice) -> Posted | str:
        request, brief = self._current(notice)
        if brief is not None or request.status not in requests_service.LIVE:
            return "brief exists" if brief is not None else f"request is {request.status}"
        return self.nudge_brief(request.id, first=notice.slot == "created")

    def _send_brief_overdue(self, notice: DueNotice) -> Posted | str:
        request, brief = self._current(notice)
        if brief is not None or request.status not in requests_service.LIVE:
            return "brief exists" if brief is not None else f"request is {request.status}"
        text, blocks = notices.brief_overdue(request, due=briefs.due_at(request, due_before=self.policy.brief_due_before),
                                             tz=self._tz(notice.recipient))
        return self.notifier.post(notice.recipient.slack_user_id, text, blocks)

    def _send_reping(self, notice: DueNotice) -> Posted | str:
        request, _ = self._current(notice)
        if request.status != RequestStatus.OPEN.value:
            return f"request is {request.status}"
        with self.db.read() as session:
            waiting = [o for o in requests_service.offers_of(session, request_id=request.id)
                       if o.ts and o.responded_at is None]
        if not waiting:
            return "nobody left to re-ping"
        return self._post_each(notice, {
            f"o{o.id}": (lambda o=o: self.notifier.post(o.channel_id, notices.reping(request, tz=self._tz(o.expert)),
                                                        thread_ts=o.ts, reply_broadcast=True))
            for o in waiting})

    def _post_each(self, notice: DueNotice, sends: dict[str, Callable[[], Posted]]) -> Posted:
        """One notice, several messages (a re-ping to every waiting expert, an escalation to every
        manager). Each recipient Slack took is recorded on the notice the moment it is, so an
        attempt after a failure (429 / 5xx past the client's retries) or after a lost lease (a
        send slower than the lease, another scheduler took over) reaches only the others —
        nobody silently missed, nobody pinged twice."""

        def one(item: tuple[str, Callable[[], Posted]]) -> Posted:
            key, send = item
            # Renew the lease before each message and re-read who has it: a long fan-out (rate
            # limits, a busy pool) must not let another scheduler take the notice and repeat it.
            with self.db.session() as session:
                reached = due.renew_for_recipient(session, notice_id=notice.id, token=notice.lease_token,
                                                  now=clock.now(), lease=self.policy.lease)
            if reached is None:
                return Posted(ok=False, error="lease_lost", transient=True)
            if key in reached:
                return Posted(ok=True)
            posted = send()
            if posted.ok:
                with self.db.session() as session:
                    due.add_reached(session, notice_id=notice.id, key=key)
            return posted

        results = self.work.map(one, list(sends.items()))
        waiting = [result for result in results if not result.ok and result.transient]
        if waiting:  # the tick gives the notice back; the next attempt skips who has it
            return Posted(ok=False, error=waiting[0].error, transient=True)
        failed = [result for result in results if not result.ok]
        reached_any = len(failed) < len(results)
        return Posted(ok=reached_any or not sends, error=failed[0].error if failed and not reached_any else None)

    def _send_widen(self, notice: DueNotice) -> Posted | str:
        request, _ = self._current(notice)
        if request.status != RequestStatus.OPEN.value:
            return f"request is {request.status}"
        self.broadcast(request.id, widen=True)
        with self.db.read() as session:
            request = session.get(Request, request.id)
        if request.experts_post_ts and request.experts_post_channel:
            return self.notifier.post(request.experts_post_channel, notices.widen(request),
                                      thread_ts=request.experts_post_ts, reply_broadcast=True)
        return Posted(ok=True)

    def _send_escalate(self, notice: DueNotice) -> Posted | str:
        request, _ = self._current(notice)
        if request.status != RequestStatus.OPEN.value:
            return f"request is {request.status}"
        with self.db.read() as session:
            offers = requests_service.offers_of(session, request_id=request.id)
            managers = list(session.scalars(select(Person).where(
                Person.id.in_(due.manager_ids(session, team_id=request.team_id, admins=self.settings.admins)))))
        notified = sum(1 for o in offers if o.sent_at)
        declined = sum(1 for o in offers if o.response == Response.DECLINE.value)

        def send(person: Person) -> Posted:
            text, blocks = notices.escalate(request, notified=notified, declined=declined, tz=self._tz(person))
            return self.notifier.post(person.slack_user_id, text, blocks)

        return self._post_each(notice, {f"p{p.id}": (lambda p=p: send(p)) for p in {p.id: p for p in
                                                                                 [*managers, request.requester]}.values()})

    def _send_reminder(self, notice: DueNotice) -> Posted | str:
        request, brief = self._current(notice)
        if request.status != RequestStatus.CLAIMED.value:
            return f"request is {request.status}"
        if notice.recipient_id not in (request.claimed_by_id, request.requester_id):
            return "recipient no longer on this request"
        with self.db.session() as session:
            if due.superseded(session, notice=notice, now=clock.now()):
                return "superseded by a later reminder due now (catch-up sends one)"
        if "@" in notice.slot:  # "1h@<meeting>": the configured offset
            offset = notice.slot.split("@")[0]
        else:  # a snoozed reminder: what is left, in whole minutes
            left = max(request.meeting_at - clock.now(), timedelta(minutes=1))
            offset = due.label(timedelta(minutes=round(left.total_seconds() / 60)))
        text, blocks = notices.reminder(request, brief, notice_id=notice.id, offset=offset,
                                        for_expert=notice.recipient_id == request.claimed_by_id,
                                        tz=self._tz(notice.recipient))
        return self.notifier.post(notice.recipient.slack_user_id, text, blocks)

    def _send_followup(self, notice: DueNotice) -> Posted | str:
        request, brief = self._current(notice)
        if request.status != RequestStatus.CLAIMED.value:
            return f"request is {request.status}"
        with self.db.read() as session:
            if due.followup_answered(session, request_id=request.id, person_id=notice.recipient_id):
                return "already answered"
        if notice.recipient_id == request.requester_id:
            text, blocks = notices.followup_ae(request, brief)
        elif notice.recipient_id == request.claimed_by_id:
            text, blocks = notices.followup_expert(request)
        else:
            return "recipient no longer on this request"
        return self.notifier.post(notice.recipient.slack_user_id, text, blocks)

    def _send_expire(self, notice: DueNotice) -> Posted | str:
        with self.db.session() as session:
            changed = requests_service.expire(session, request_id=notice.request_id, policy=self.policy,
                                              now=clock.now())
            request = session.get(Request, notice.request_id)
        if not changed and request.status != RequestStatus.UNFILLED.value:
            return f"request is {request.status}"
        # Changed now, or by an earlier attempt whose message did not go out: (re)render and tell.
        self.refresh_all(request.id)
        self.refresh_homes(request.id)
        return self.notifier.post(request.requester.slack_user_id,
                                  notices.unfilled(request, tz=self._tz(request.requester)))
