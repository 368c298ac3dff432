"""The only reader of time.

``now()`` is an aware UTC datetime. Tests pin or move it with :func:`freeze` /
:func:`advance` instead of sleeping. A person's timezone is applied only when
rendering (:func:`to_local`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    """Pin the clock (``None`` releases it)."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    with _lock:
        _frozen = moment.astimezone(UTC) if moment is not None else None


def advance(delta: timedelta) -> datetime:
    """Move a pinned clock forward."""
    global _frozen
    with _lock:
        if _frozen is None:
            raise RuntimeError("advance() needs a frozen clock")
        _frozen = _frozen + delta
        return _frozen


@contextmanager
def freeze(moment: datetime) -> Iterator[None]:
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)


@lru_cache(maxsize=512)
def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """ZoneInfo for an IANA name; unknown or empty names fall back (never raise)."""
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def to_local(moment: datetime, tz_name: str | None, fallback: str = "UTC") -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the database only holds UTC")
    return moment.astimezone(zone(tz_name, fallback))


def local_midnight(day: date, tz_name: str | None) -> datetime:
    """The UTC instant of 00:00 on ``day`` in ``tz_name``."""
    return datetime.combine(day, time(0), zone(tz_name)).astimezone(UTC)


def from_slack_ts(ts: object) -> datetime | None:
    """Slack's own time of a message or a click ("1700000000.123456", a ``ts`` or ``action_ts``) as
    an aware UTC datetime; None if it is not one."""
    try:
        seconds = float(str(ts))
    except (TypeError, ValueError):
        return None
    if not 0 < seconds < 32503680000:  # before the year 3000
        return None
    return datetime.fromtimestamp(seconds, UTC)


def slack_time(ts: object, *, now: datetime, skew: timedelta = timedelta(minutes=5)) -> datetime:
    """Slack's time for an event we are handling now: trusted within ``skew`` of our clock
    (a replayed or skewed value falls back to ``now``; signatures are valid for 5 minutes)."""
    moment = from_slack_ts(ts)
    if moment is None or not now - skew <= moment <= now + timedelta(seconds=60):
        return now
    return min(moment, now)


def _crontab(cron: str, tz: str | None):
    # APScheduler owns the crontab semantics the scheduler runs by; imported on first use.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(cron, timezone=zone(tz))


def check_cron(cron: str) -> None:
    """Raise ValueError if ``cron`` is not a crontab line (minute hour day month weekday)."""
    _crontab(cron, "UTC")


def last_cron_fire(cron: str, *, tz: str | None, now: datetime, within: timedelta = timedelta(days=8)) -> datetime | None:
    """The latest moment ``cron`` (crontab syntax, read in ``tz``) fired at or before ``now``,
    looking back at most ``within``; in UTC."""
    trigger = _crontab(cron, tz)
    moment = trigger.get_next_fire_time(None, now - within)
    last = None
    while moment is not None and moment <= now:
        last = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return None if last is None else last.astimezone(UTC)
