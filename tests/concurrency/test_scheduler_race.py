"""Exactly-once delivery of due notices: two schedulers, a scheduler killed between lease
and send, and the one documented window (Slack accepted, row not yet marked).

On PostgreSQL (TEST_DATABASE_URL) the concurrent takers use FOR UPDATE SKIP LOCKED; on
SQLite the same conditional UPDATE runs under BEGIN IMMEDIATE. RELIABILITY 39, 48.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from bot import clock
from bot.app import build_deps
from bot.flows import notices
from bot.scheduler import jobs
from bot.services import briefs, claims
from bot.services import skills
from bot.services import leases
from bot.services import requests as requests_service
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import request_modal
from models import DueNotice, NoticeKind, NoticeState, Person
from tests.harness import AE, TEAM

ROOT = Path(__file__).resolve().parents[2]


def claimed_requests(h, n: int, *, meeting_in: timedelta) -> list[int]:
    """``n`` requests claimed by U0EXP1, each with a reminder due now (inserted directly)."""
    h.person(AE)
    h.expert("U0EXP1", capacity=50)
    ids = []
    # Stored and claimed by the services the modal and the Claim button use, without the HTTP
    # round trips and DMs (the race is in the sweep, not here).
    with h.db.session() as session:
        known = skills.existing_skills(session, ["kubernetes"])
        for i in range(n):
            values = h.request_values(account=f"Acme {i}", meeting_at=clock.now() + meeting_in)
            draft = requests_service.validate(request_modal.read(values), now=clock.now(),
                                              max_lead=h.settings.max_lead, known_skills=known)
            brief = briefs.validate(brief_ui.read(values), meeting_at=draft.meeting_at, tz=None, now=clock.now())
            created = requests_service.create(session, team_id=TEAM, requester_user_id=AE, channel_id="C0DEAL",
                                              draft=draft, source_key=None, policy=h.deps.policy, now=clock.now(),
                                              brief=brief)
            claims.claim(session, request_id=created.request.id, team_id=TEAM, expert_user_id="U0EXP1",
                         policy=h.deps.policy, now=clock.now())
            ids.append(created.request.id)
    with h.db.session() as session:
        expert = session.scalar(select(Person).where(Person.slack_user_id == "U0EXP1"))
        for request_id in ids:
            session.add(DueNotice(kind=NoticeKind.REMINDER.value, request_id=request_id, recipient_id=expert.id,
                                  slot="race", due_at=clock.now() - timedelta(minutes=1), state="pending", attempts=0,
                                  late=False, created_at=clock.now(), updated_at=clock.now()))
    return ids


def race_reminders(h) -> Counter:
    """How many reminder DMs each request got (by the request id in the text)."""
    counts: Counter = Counter()
    for message in h.slack.dm_messages("U0EXP1"):
        if "starts in" in message["text"]:
            number = message["text"].split("request #")[1].split(")")[0]
            counts[int(number)] += 1
    return counts


def test_two_schedulers_at_once_send_each_notice_once(h):
    """RELIABILITY 48: a second scheduler (own engine and pools, as a second process) is harmless."""
    ids = claimed_requests(h, 30, meeting_in=timedelta(hours=30))
    other = build_deps(h.settings)
    barrier = threading.Barrier(2)
    results = []

    def run(deps):
        barrier.wait()
        results.append(notices.sweep_due(deps, batch=7))

    threads = [threading.Thread(target=run, args=(d,)) for d in (h.deps, other)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    other.close()
    h.drain()
    assert sum(r.taken for r in results) == 30
    assert race_reminders(h) == Counter({i: 1 for i in ids})
    with h.db.session() as session:
        states = Counter(session.scalars(select(DueNotice.state).where(DueNotice.slot == "race")))
    assert states == Counter({"sent": 30})


def test_a_scheduler_killed_after_leasing_sends_after_the_lease_expires(h):
    """RELIABILITY 39: leased, never sent (the process died) -> sent once after the lease."""
    ids = claimed_requests(h, 3, meeting_in=timedelta(hours=30))
    with h.db.session() as session:
        dead = leases.take_due(session, now=clock.now(), limit=10, lease=h.deps.policy.lease, token="dead")
    assert len(dead) >= 3
    assert h.tick()["taken"] == 0  # still leased by the "dead" scheduler
    assert race_reminders(h) == Counter()
    h.at(clock.now() + h.deps.policy.lease + timedelta(seconds=1))
    h.tick()
    assert race_reminders(h) == Counter({i: 1 for i in ids})
    h.at(clock.now() + timedelta(minutes=10))
    h.tick()
    assert race_reminders(h) == Counter({i: 1 for i in ids})


def test_the_crash_window_is_bounded_to_one_duplicate(h):
    """The documented window: Slack accepted the message, the process died before marking the
    row sent. After the lease the notice is sent again once, then marked; never a third time."""
    ids = claimed_requests(h, 1, meeting_in=timedelta(hours=30))
    with h.db.session() as session:
        (notice_id,) = [n for n in leases.take_due(session, now=clock.now(), limit=10, lease=h.deps.policy.lease,
                                                token="crashed") if session.get(DueNotice, n).slot == "race"]
        notice = session.get(DueNotice, notice_id)
    notices.send_reminder(h.deps, notice)  # Slack accepted ... and the process "died" here
    for minutes in (3, 6, 9, 12):
        h.at(clock.now() + timedelta(minutes=minutes))
        h.tick()
    assert race_reminders(h) == Counter({ids[0]: 2})
    with h.db.session() as session:
        assert session.get(DueNotice, notice_id).state == NoticeState.SENT


def test_two_scheduler_processes_on_the_real_database(h, tmp_path):
    """Two `presales-bot run-job sweep_due_work` processes at once against the suite's database
    (PostgreSQL in CI) and the fake Slack: every notice once."""
    real_now = datetime.now(timezone.utc)
    h.at(real_now)
    ids = claimed_requests(h, 20, meeting_in=timedelta(hours=30))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESALES_", "SLACK_", "DATABASE_"))}
    env.update(DATABASE_URL=h.settings.database_url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="x",
               SLACK_API_URL=h.slack.api_url, PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "run-job", "sweep_due_work"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=90) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert race_reminders(h) == Counter({i: 1 for i in ids})


def test_a_second_scheduler_is_noticed_and_reported_once(h, caplog):
    """RELIABILITY 48: two schedulers are safe, but the second one is reported (once)."""
    import logging

    other = build_deps(h.settings)
    try:
        with caplog.at_level(logging.WARNING):
            h.tick()
            jobs.heartbeat(other)
            h.tick()
            h.tick()
        warnings = [r for r in caplog.records if "another scheduler is running" in r.getMessage()]
        assert len(warnings) == 2  # each process reports the other, once
    finally:
        other.close()
