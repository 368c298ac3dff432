"""The request as the deal channel sees it: the status message (posted once, then updated in
place) and, when PRESALES_EXPERTS_CHANNEL is set, the post in the experts channel."""

from __future__ import annotations

import threading

from bot import clock
from bot.deps import Deps
from bot.services import briefs, covers, due, history, offers, posts
from bot.services import requests as requests_service
from bot.slack.blocks import deal_status, request_offer
from bot.slack.blocks.replies import text_reply
from bot.slack.notify import Posted
from bot.slack.text import escape_clip, mention
from models import Request, RequestStatus, Response


def _view(deps: Deps, request_id: int, matched: bool | None,
          closest: list[str] | None) -> tuple[Request | None, str, list[dict]]:
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        if request is None:
            return None, "", []
        sent = offers.offers_of(session, request_id=request_id)
        brief = briefs.get(session, request_id=request_id)
        # only an open request can be waiting for its first expert or have escalated to nobody
        is_open = request.status == RequestStatus.OPEN.value
        no_manager = is_open and history.has_event(session, request_id=request_id, kind=history.NO_MANAGER)
        deferred = due.next_deferred(session, request_id=request_id) \
            if is_open and not any(o.sent_at for o in sent) else None
    progress = deal_status.Progress(
        notified=sum(1 for o in sent if o.sent_at is not None),
        pending=sum(1 for o in sent if o.sent_at is None and o.failed_at is None and o.rank > 0),
        declined=sum(1 for o in sent if o.response == Response.DECLINE.value),
        closest_skills=closest or [],
        matched=bool(sent) or request.status != RequestStatus.OPEN.value if matched is None else matched,
        brief=brief,
        brief_due=briefs.due_at(request, due_before=deps.policy.brief_due_before) if request.needs_brief else None,
        no_manager=no_manager,
        next_start=deferred.due_at if deferred else None,
        next_start_tz=deps.tz(deferred.recipient) if deferred else None,
    )
    text, blocks = deal_status.render(request, progress, deps.tz(request.requester))
    return request, text, blocks


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(request_id: int) -> threading.Lock:
    with _locks_guard:
        if len(_locks) > 10_000:  # requests long finished: forget their locks
            _locks.clear()
        return _locks.setdefault(request_id, threading.Lock())


def refresh_status(deps: Deps, request_id: int, *, matched: bool | None = None,
                   closest: list[str] | None = None) -> Posted:
    """Post (first time) or update the status message in the deal channel. Updates of one request
    go one at a time in a process, each rendered from the database when its turn comes, so two
    flows finishing together cannot leave the older picture on top."""
    with _lock(request_id):
        request, text, blocks = _view(deps, request_id, matched, closest)
        if request is None:
            return Posted(ok=False, error="not_found")
        if request.status_ts and not posts.is_placeholder(request.status_ts):
            return deps.notifier.update(request.status_channel, request.status_ts, text, blocks, urgent=True)
    with deps.db.session() as session:
        if not posts.reserve_post(session, request_id=request_id, column="status_ts", now=clock.now()):
            return Posted(ok=False, error="being_posted")  # the poster re-renders after posting
    posted = deps.notifier.post(request.channel_id, text, blocks)
    if not posted.ok:
        # The bot cannot post in the deal channel (private, archived, removed): keep the
        # AE informed in the app's DM, and say how to fix it.
        hint = (f"I could not post in <#{request.channel_id}> ({posted.error}). "
                "Invite me with `/invite @presales` to get updates there; until then they come here.")
        deps.notifier.post(request.requester.slack_user_id, hint)
        posted = deps.notifier.post(request.requester.slack_user_id, text, blocks)
    with deps.db.session() as session:
        posts.record_status_message(session, request_id=request_id, channel=posted.channel,
                                               ts=posted.ts, error=None if posted.ok else posted.error)
    if posted.ok and posted.ts:  # others skipped their update while this was posted: catch up
        _, now_text, now_blocks = _view(deps, request_id, matched, closest)
        if (now_text, now_blocks) != (text, blocks):
            deps.notifier.update(posted.channel, posted.ts, now_text, now_blocks)
    return posted


def post_in_thread(deps: Deps, request: Request, text: str) -> Posted | None:
    """A reply under the status message (claimed, released ...), if it was posted."""
    if not request.status_ts:
        return None
    return deps.notifier.post(request.status_channel, text, thread_ts=request.status_ts)


def post_experts_channel(deps: Deps, request_id: int) -> Posted | None:
    channel = deps.settings.experts_channel
    if not channel:
        return None
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
        if request is None:
            return None
        brief = briefs.get(session, request_id=request_id)
        cover = covers.open_cover(session, request_id=request_id)
    text, blocks = request_offer.render_channel_post(request, deps.settings.timezone, brief, cover)
    if request.experts_post_ts and not posts.is_placeholder(request.experts_post_ts):
        return deps.notifier.update(request.experts_post_channel, request.experts_post_ts, text, blocks,
                                    urgent=True)
    if request.status != RequestStatus.OPEN.value:
        return None
    with deps.db.session() as session:
        if not posts.reserve_post(session, request_id=request_id, column="experts_post_ts",
                                             now=clock.now()):
            return None
    posted = deps.notifier.post(channel, text, blocks)
    with deps.db.session() as session:
        posts.record_experts_post(session, request_id=request_id, channel=posted.channel or channel,
                                             ts=posted.ts if posted.ok else None)
    if posted.ok and posted.ts:  # anything that changed while it was being posted
        with deps.db.read() as session:
            current = requests_service.find(session, request_id=request_id)
        now_text, now_blocks = request_offer.render_channel_post(current, deps.settings.timezone, brief, cover)
        if (now_text, now_blocks) != (text, blocks):
            deps.notifier.update(posted.channel or channel, posted.ts, now_text, now_blocks)
    return posted


def tell_admins_no_match(deps: Deps, request_id: int, closest: list[str]) -> None:
    with deps.db.read() as session:
        request = requests_service.find(session, request_id=request_id)
    skills = ", ".join(escape_clip(s.name, 40) for s in request.skills)
    hint = ", ".join(escape_clip(s, 40) for s in closest) or "none"
    text = (f"⚠️ No expert is available for request #{request.id} from {mention(request.requester.slack_user_id)} "
            f"(skills: {skills}). Skills that have experts: {hint}. "
            "Add one with `/presales expert add @someone skill`.")
    for admin in sorted(deps.settings.admins):
        deps.notifier.post(admin, *text_reply(text))
