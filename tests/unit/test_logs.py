"""Logging set-up (bot/logs.py): what reaches the log on every scheduler tick."""

from __future__ import annotations

import logging
import threading

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.logs import configure_logging

pytestmark = pytest.mark.db_agnostic


def test_apscheduler_is_quiet_at_info_but_still_reports_a_failing_job(caplog):
    configure_logging("INFO", "json")
    caplog.set_level(logging.INFO)
    ran = threading.Semaphore(0)

    def quiet() -> None:
        ran.release()

    def failing() -> None:
        ran.release()
        raise RuntimeError("boom")

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(quiet)  # no trigger: runs once, now
    scheduler.add_job(failing)
    scheduler.start()
    try:
        assert ran.acquire(timeout=10) and ran.acquire(timeout=10)
    finally:
        scheduler.shutdown(wait=True)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("apscheduler")]
    assert not [m for level, m in lines if level < logging.WARNING], lines  # "Running job ...", "... executed"
    assert any(level >= logging.WARNING and "failing" in m for level, m in lines), lines
