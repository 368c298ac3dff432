"""Named jobs, registered in one place, runnable by name (`presales-bot run-job NAME`), idempotent.

Jobs call flows exactly like a handler does (bot/flows/); each opens its own sessions; a rerun, an overlap with another
scheduler process, or a crash half-way is harmless: due notices are leased row by row.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from apscheduler.triggers.interval import IntervalTrigger

from bot import clock
from bot.deps import Deps
from bot.flows import digests, notices
from bot.flows import people as people_flow
from bot.services import heartbeat as heartbeats
from bot.services import people

log = logging.getLogger(__name__)


def heartbeat(deps: Deps) -> list[str]:
    """Say this scheduler is alive; warn (once each) about other schedulers running too."""
    window = max(3 * deps.settings.scheduler_interval, timedelta(minutes=2))
    with deps.db.session() as session:
        others = heartbeats.beat(session, me=deps.scheduler_id, host=socket.gethostname(), pid=os.getpid(),
                                 now=clock.now(), window=window)
    for other in others:
        if other.id not in deps.schedulers_warned:
            deps.schedulers_warned.add(other.id)
            log.warning("another scheduler is running (%s, pid %s, since %s): safe — every notice is leased — "
                        "but usually a mistake: run one `presales-bot scheduler` (Procfile clock:) and start web "
                        "processes with --no-scheduler", other.host, other.pid, other.started_at.isoformat())
    return [o.id for o in others]


def sweep_due_work(deps: Deps) -> dict:
    """Lease every due notice and deliver it (reminders, nudges, escalation, follow-ups, expiry)."""
    heartbeat(deps)
    sweep = notices.sweep_due(deps)
    if sweep.taken or sweep.resent:
        log.info("sweep: taken=%d sent=%d late=%d skipped=%d retried=%d resent=%d kinds=%s", sweep.taken, sweep.sent,
                 sweep.late, sweep.skipped, sweep.retried, sweep.resent, sweep.by_kind)
    return {"taken": sweep.taken, "sent": sweep.sent, "late": sweep.late, "skipped": sweep.skipped,
            "retried": sweep.retried, "resent": sweep.resent}


def send_weekly_digests(deps: Deps) -> dict:
    """Weekly digests whose time has come in each manager's timezone (PRESALES_DIGEST_CRON).
    Checked every few minutes rather than one cron trigger: managers live in different zones."""
    sent = digests.send_weekly_digests(deps)
    if sent:
        log.info("digests sent: %d", sent)
    return {"sent": sent}


AVAILABILITY_BATCH = 40  # users.info + dnd.info per run: well inside Tier 3 / Tier 4 every 5 minutes


def refresh_availability(deps: Deps) -> dict:
    """Read the status and Do Not Disturb of experts not heard of for PRESALES_AVAILABILITY_REFRESH
    (the backstop behind Slack's user_change and dnd_updated_user events)."""
    with deps.db.read() as session:
        stale = people.stale_availability(session, older_than=clock.now() - deps.settings.availability_refresh,
                                          limit=AVAILABILITY_BATCH)
    refreshed = people_flow.refresh_availability(deps, stale) if stale else 0
    return {"checked": len(stale), "refreshed": refreshed}


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Deps], object]
    trigger: Callable[[Deps], object]


JOBS: dict[str, Job] = {
    "sweep_due_work": Job(
        "sweep_due_work", sweep_due_work,
        lambda deps: IntervalTrigger(seconds=max(1, int(deps.settings.scheduler_interval.total_seconds()))),
    ),
    "send_weekly_digests": Job("send_weekly_digests", send_weekly_digests, lambda deps: IntervalTrigger(minutes=5)),
    "refresh_availability": Job("refresh_availability", refresh_availability,
                                lambda deps: IntervalTrigger(minutes=5)),
}


def run_job(name: str, deps: Deps) -> object:
    if name not in JOBS:
        raise KeyError(name)
    return JOBS[name].run(deps)
