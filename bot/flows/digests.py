"""The managers' weekly digest: computed once per (workspace, week, timezone), sent as DMs with
a chart, on schedule once per (manager, week) across processes, or on request."""

from __future__ import annotations

import contextvars
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from bot import clock
from bot.deps import Deps
from bot.flows.people import refresh_profiles
from bot.services import digest, digest_runs
from bot.slack import chart
from bot.slack.blocks import digest as digest_ui
from bot.slack.notify import Posted
from models import Person

log = logging.getLogger(__name__)

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


TREND_WEEKS = 8  # the chart's trend of the team's figures


def digest_data(deps: Deps, team_id: str, week: digest.Week, *, trend_weeks: int = 0) -> digest.DigestData:
    with deps.db.read() as session:
        return digest.compute(session, team_id=team_id, week=week, due_before=deps.policy.brief_due_before,
                              now=clock.now(), trend_weeks=trend_weeks)


def digest_edition(deps: Deps, team_id: str, week: digest.Week) -> Edition:
    """One digest as it is sent: its messages and its chart (the same for every manager of
    a workspace who reads the same week in the same timezone)."""
    data = digest_data(deps, team_id, week, trend_weeks=TREND_WEEKS)
    try:
        png = chart.expert_chart(**digest_ui.chart_args(data))
    except Exception:  # the figures are the digest; the picture of them must not hold them back
        log.exception("digest chart for %s (%s) failed; the digest goes without it", team_id, week.label)
        png = None
    return Edition(messages=digest_ui.messages(data, now=clock.now()), png=png)


def send_digest(deps: Deps, person: Person, week: digest.Week, *, edition: Edition | None = None) -> Posted:
    """The digest as DMs to ``person`` (split if long), then the chart as an image."""
    edition = edition or digest_edition(deps, person.team_id, week)
    first: Posted | None = None
    for text, blocks in edition.messages:
        posted = deps.notifier.post(person.slack_user_id, text, blocks)
        if not posted.ok:
            return posted
        first = first or posted
    if edition.png is not None and first is not None and first.channel:
        deps.notifier.upload(first.channel, edition.png, filename=f"presales-digest-{week.label}.png",
                             title=f"Response rate and time to respond, {week.label}")
    return first or Posted(ok=False, error="nothing_to_send")


def _send_reserved(deps: Deps, person: Person, week: digest.Week, editions: _Editions, now) -> bool:
    """Reserve (manager, week), send, record: once per (manager, week) across processes."""
    try:
        with deps.db.session() as session:
            row = digest_runs.reserve(session, manager_id=person.id, week=week, now=now)
        if row is None:
            return False
        posted = send_digest(deps, person, week, edition=editions.get(person.team_id, week))
        with deps.db.session() as session:
            digest_runs.mark(session, digest_id=row.id, sent=posted.ok, now=clock.now(), channel=posted.channel,
                             ts=posted.ts, error=posted.error)
        return posted.ok
    except Exception:  # one manager's failure (left 'sending': retried after the lease) stops no one else
        log.exception("digest for %s (%s) failed", person.slack_user_id, week.label)
        return False


def send_weekly_digests(deps: Deps) -> int:
    """Every manager whose digest time has come (cron in their own timezone) and who has
    not had this week's digest gets it: once per (manager, week), across processes.

    Managers are served DIGEST_CONCURRENCY at a time; each (workspace, week, timezone) is
    computed and charted once per run and shared (RELIABILITY 57: 300 managers in minutes,
    not one SQL digest and one matplotlib chart each). Each row is reserved just before its
    own send, so a long run never holds rows another scheduler could take over."""
    now = clock.now()
    with deps.db.session() as session:
        readers = digest_runs.managers(session, admins=deps.settings.admins, now=now)
    if not readers:
        return 0
    zones = refresh_profiles(deps, readers, parallel=True)
    due_now = [(person, week) for person in readers
               if (week := digest_runs.due_week(deps.settings.digest_cron,
                                                tz=zones.get(person.id) or deps.settings.timezone, now=now))
               is not None]
    if not due_now:
        return 0
    editions = _Editions(lambda team_id, week: digest_edition(deps, team_id, week))
    with ThreadPoolExecutor(max_workers=DIGEST_CONCURRENCY, thread_name_prefix="digest") as pool:
        contexts = [contextvars.copy_context() for _ in due_now]  # one each: a context runs in one thread at a time
        return sum(pool.map(lambda ctx, item: ctx.run(_send_reserved, deps, *item, editions, now), contexts, due_now))
