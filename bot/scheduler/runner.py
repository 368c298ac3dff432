"""APScheduler 3 set-up: an in-memory job store (jobs are code, work is rows), UTC,
coalesce, one instance per job. Web workers never call this (see bot/web.py)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.deps import Deps
from bot.scheduler.jobs import JOBS

log = logging.getLogger(__name__)


def build_scheduler(deps: Deps, *, blocking: bool) -> BaseScheduler:
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    start = datetime.now(timezone.utc)  # first tick at once: catch up after downtime
    for job in JOBS.values():
        scheduler.add_job(job.run, job.trigger(deps), args=[deps], id=job.name, name=job.name, replace_existing=True,
                          next_run_time=start)
    return scheduler


def run_forever(deps: Deps) -> None:
    """The `presales-bot scheduler` process (Procfile `clock:`): run until SIGTERM/SIGINT,
    then let the tick in flight finish."""
    scheduler = build_scheduler(deps, blocking=False)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("scheduler: signal %s, stopping after the current tick", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.start()
    log.info("scheduler: started (every %ss)", int(deps.settings.scheduler_interval.total_seconds()))
    stop.wait()
    scheduler.shutdown(wait=True)
    deps.close()
    log.info("scheduler: stopped")
