"""Named jobs, registered in one place, runnable by name (`presales-bot run-job NAME`), idempotent.

Each job opens its own sessions through the flows; a rerun, an overlap with another
scheduler process, or a crash half-way is harmless: due notices are leased row by row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import Deps

log = logging.getLogger(__name__)


def sweep_due_work(deps: Deps) -> dict:
    """Lease every due notice and deliver it (reminders, nudges, escalation, follow-ups, expiry)."""
    deps.flows.heartbeat()
    sweep = deps.flows.sweep_due()
    if sweep.taken or sweep.resent:
        log.info("sweep: taken=%d sent=%d late=%d skipped=%d retried=%d resent=%d kinds=%s", sweep.taken, sweep.sent,
                 sweep.late, sweep.skipped, sweep.retried, sweep.resent, sweep.by_kind)
    return {"taken": sweep.taken, "sent": sweep.sent, "late": sweep.late, "skipped": sweep.skipped,
            "retried": sweep.retried, "resent": sweep.resent}


def send_weekly_digests(deps: Deps) -> dict:
    """Weekly digests whose time has come in each manager's timezone (PRESALES_DIGEST_CRON).
    Checked every few minutes rather than one cron trigger: managers live in different zones."""
    sent = deps.flows.send_weekly_digests()
    if sent:
        log.info("digests sent: %d", sent)
    return {"sent": sent}


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
}


def run_job(name: str, deps: Deps) -> object:
    if name not in JOBS:
        raise KeyError(name)
    return JOBS[name].run(deps)
