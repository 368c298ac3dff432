"""Settings: read once from the environment (and a `.env` file), frozen, typed.

Nothing else in the code base reads ``os.environ``. A bad value raises
:class:`ConfigError`, which the CLI prints as one line naming the variable.
Secrets are kept out of ``repr()`` so they never reach a log line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.clock import check_cron


DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_OOO_EMOJI = frozenset({"palm_tree", "desert_island", "beach_with_umbrella", "face_with_thermometer",
                               "no_entry", "airplane"})
DEFAULT_OOO_WORDS = ("out of office", "out of the office", "ooo", "vacation", "vacationing", "holiday", "on leave",
                     "parental leave", "pto", "sick", "day off", "off today")
# Slack's rate tiers, per process (bot/slack/pace.py paces the calls): METHOD=N/min,...
DEFAULT_PACE = "chat.postMessage=300/min,chat.update=50/min,views.publish=100/min"
DEFAULT_DATABASE_URL = "sqlite:///presales.db"

_TOKEN_HELP = {
    "SLACK_BOT_TOKEN": "create the app from manifest.yml at https://api.slack.com/apps, install it, "
    "then copy 'Bot User OAuth Token' (xoxb-...) from OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "copy 'Signing Secret' from Basic Information of the app created from manifest.yml",
    "SLACK_APP_TOKEN": "Socket Mode needs an app-level token (xapp-...): Basic Information -> App-Level Tokens, "
    "scope connections:write",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one human line."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'30m', '24h', '2d', '90s', bare seconds -> timedelta (ValueError otherwise)."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 24h or 2d")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[(unit or "s").lower()])


@dataclass(frozen=True)
class Rate:
    """One paced Slack method: calls per second, and how many may go at once (half a minute's worth)."""

    per_second: float
    burst: float


_PACE_RULE = re.compile(r"^\s*([a-zA-Z_.]+)\s*=\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*$")


def parse_pace(text: str) -> dict[str, Rate]:
    """'chat.update=50/min,views.publish=100/min' -> rates; '' or 'off' -> no pacing.
    Raises ValueError with the part that is wrong."""
    text = (text or "").strip()
    if text.lower() in ("", "off", "none"):
        return {}
    rates: dict[str, Rate] = {}
    for part in text.split(","):
        match = _PACE_RULE.match(part)
        if not match or int(match.group(2)) < 1:
            raise ValueError(f"'{part.strip()}' is not METHOD=N/min (e.g. chat.update=50/min)")
        count, unit = int(match.group(2)), match.group(3)
        per_second = count if unit.startswith("s") else count / 60
        rates[match.group(1)] = Rate(per_second=per_second, burst=max(1.0, per_second * 30))
    return rates


# The placeholders of .env.example: a copied file left unfilled counts as unset, so require()
# says what is missing instead of Slack answering invalid_auth.
_PLACEHOLDERS = frozenset({"xoxb-your-bot-token", "your-signing-secret", "xapp-..."})


def _secret(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and value not in _PLACEHOLDERS else None


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_retry_backoff: float = 0.5  # seconds: 5xx / network retries wait 0.5, 1, 2 s (+ jitter)
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    port: int = 3000
    web_workers: int | None = None  # None: 2 on PostgreSQL, 1 on SQLite (one writer process)
    web_threads: int = 16
    admins: frozenset[str] = frozenset()
    experts_channel: str | None = None
    timezone: str = "UTC"
    fanout_limit: int = 25
    send_concurrency: int = 8
    slack_pace: str = DEFAULT_PACE  # METHOD=N/min,... per process; 'off' for none (parsed by pace_rates)
    work_threads: int = 8
    reply_threads: int = 8
    listener_threads: int = 16
    max_lead: timedelta = timedelta(days=365)
    stats_period: timedelta = timedelta(days=28)
    log_level: str = "INFO"
    # briefs, reminders, escalation (the scheduler)
    brief_required_for: frozenset[str] = frozenset({"demo", "discovery", "poc"})
    brief_policy: str = "hold"
    brief_due_before: timedelta = timedelta(hours=24)
    last_minute: timedelta = timedelta(hours=48)
    scheduler_interval: timedelta = timedelta(seconds=30)
    escalate_after: timedelta = timedelta(minutes=30)
    urgent_escalate_after: timedelta = timedelta(minutes=10)
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    followup_after: timedelta = timedelta(hours=2)
    working_hours: tuple[int, int] = (9 * 60, 18 * 60)  # minutes after local midnight
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday = 1
    # a Slack status reads as out of office when its emoji is one of these or its text has one of the words
    ooo_emoji: frozenset[str] = DEFAULT_OOO_EMOJI
    ooo_words: tuple[str, ...] = DEFAULT_OOO_WORDS
    meeting_buffer: timedelta | None = timedelta(minutes=30)  # around a claimed meeting: no overlap; None: off
    availability_refresh: timedelta = timedelta(minutes=30)  # backstop re-read of status and DND
    ask_first_for: timedelta = timedelta(hours=2)  # the ask-first expert's own working time, then everyone
    lease: timedelta = timedelta(minutes=5)
    digest_cron: str = "0 9 * * MON"
    log_format: str = "json"
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR: counters shared by gunicorn workers

    @property
    def workers(self) -> int:
        """gunicorn worker processes: WEB_CONCURRENCY, else 2 on PostgreSQL and 1 on SQLite
        (processes would only queue on SQLite's single write lock; threads carry the load)."""
        if self.web_workers:
            return self.web_workers
        return 1 if self.database_url.startswith("sqlite") else 2

    @property
    def pace_rates(self) -> dict[str, Rate]:
        """PRESALES_SLACK_PACE as rates per method (validated when the settings were loaded)."""
        return parse_pace(self.slack_pace)

    def require(self, *names: str) -> None:
        """Raise a one-line ConfigError for the first missing Slack credential."""
        for name in names:
            if not getattr(self, name.lower()):
                raise ConfigError(f"{name} is not set: {_TOKEN_HELP.get(name, 'set it in the environment or .env')}")

    def redacted(self) -> dict[str, object]:
        """Settings safe to print (secrets masked)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = ("***" if value else None) if not f.repr else value
        out["database_url"] = _mask_url(self.database_url)
        return out


def _mask_url(url: str) -> str:
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _duration(env: Mapping[str, str], name: str, default: timedelta, *, allow_zero: bool = False) -> timedelta:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        raise ConfigError(f"{name}={raw!r} must be longer than zero")
    return value


def _durations(env: Mapping[str, str], name: str, default: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    values = []
    for part in raw.split(","):
        try:
            value = parse_duration(part)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: {part.strip()!r} is not a duration; use a list like 24h,1h") from None
        if value <= timedelta(0):
            raise ConfigError(f"{name}={raw!r}: every offset must be longer than zero")
        values.append(value)
    return tuple(sorted(set(values), reverse=True))


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return raw


_KINDS = ("demo", "discovery", "poc", "rfp", "question")


def _kinds(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    raw = env.get(name)
    if raw is None:
        return default
    kinds = {part.strip().lower() for part in raw.split(",") if part.strip()}
    bad = sorted(kinds - set(_KINDS))
    if bad:
        raise ConfigError(f"{name}: {bad[0]!r} is not a request type; use {', '.join(_KINDS)}")
    return frozenset(kinds)


def _hours(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    match = re.match(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$", raw)
    if not match:
        raise ConfigError(f"{name}={raw!r} must look like 09:00-18:00")
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
        raise ConfigError(f"{name}={raw!r}: the start must be before the end, within one day")
    return start, end


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(text: str) -> frozenset[int]:
    """'Mon-Fri', 'sun–thu', 'Mon,Wed Fri' -> ISO weekdays (Monday = 1); ValueError naming the
    part that is not a day or a range."""
    days: set[int] = set()
    for part in re.split(r"[,\s]+", (text or "").strip().lower()):
        if not part:
            continue
        ends = [e[:3] for e in re.split(r"[-–]", part) if e]
        if not ends or len(ends) > 2 or any(e not in _DAY_NAMES for e in ends):
            raise ValueError(f"'{part[:20]}' is not a day or a range like Mon-Fri")
        first, last = (_DAY_NAMES.index(e) + 1 for e in (ends[0], ends[-1]))
        days.update(((first - 1 + k) % 7) + 1 for k in range((last - first) % 7 + 1))
    if not days:
        raise ValueError("name at least one working day, e.g. Mon-Fri")
    return frozenset(days)


def _days(env: Mapping[str, str], name: str, default: frozenset[int]) -> frozenset[int]:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return parse_days(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def _emoji(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    names = {part.strip().strip(":").lower() for part in raw.split(",") if part.strip().strip(":")}
    bad = sorted(n for n in names if not re.match(r"^[a-z0-9_+\-']+$", n))
    if bad:
        raise ConfigError(f"{name}: {bad[0]!r} is not an emoji name like :palm_tree:")
    return frozenset(names)


def _words(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    return tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or "").strip() or default
    fields_ = raw.split()
    if len(fields_) != 5:
        raise ConfigError(f"{name}={raw!r} must be a crontab line: minute hour day month weekday, e.g. '0 9 * * MON'")
    if re.search(r"\d", fields_[4]):
        # APScheduler reads a numeric weekday 0 as Monday, cron as Sunday: names avoid the trap.
        raise ConfigError(f"{name}={raw!r}: write the weekday as a name (MON, TUE, ...), not a number")
    try:
        check_cron(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid crontab line ({exc})") from None
    return raw


def _timezone(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or "").strip() or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name}={raw!r} is not an IANA timezone such as Europe/Berlin") from None
    return raw


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _user_ids(env: Mapping[str, str], name: str) -> frozenset[str]:
    raw = env.get(name) or ""
    ids = [part.strip() for part in re.split(r"[\s,]+", raw) if part.strip()]
    bad = [i for i in ids if not _USER_ID.match(i)]
    if bad:
        raise ConfigError(f"{name}: {bad[0]!r} is not a Slack user ID like U012ABCDEF")
    return frozenset(ids)


def load_settings(env: Mapping[str, str] | None = None, env_file: str | os.PathLike | None = ".env") -> Settings:
    """Build Settings from ``env`` (default: os.environ) over the values of ``env_file``."""
    merged: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if env is None else env)

    api_url = (merged.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL).strip()
    if not re.match(r"^https?://", api_url):
        raise ConfigError(f"SLACK_API_URL={api_url!r} must be an http(s) URL such as {DEFAULT_SLACK_API_URL}")
    if not api_url.endswith("/"):
        api_url += "/"
    channel = (merged.get("PRESALES_EXPERTS_CHANNEL") or "").strip() or None
    if channel and not re.match(r"^[CG][A-Z0-9]{2,}$", channel):
        raise ConfigError(f"PRESALES_EXPERTS_CHANNEL={channel!r} must be a channel ID like C012ABCDEF")
    level = (merged.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"LOG_LEVEL={level!r} must be DEBUG, INFO, WARNING or ERROR")
    return Settings(
        slack_bot_token=_secret(merged.get("SLACK_BOT_TOKEN")),
        slack_signing_secret=_secret(merged.get("SLACK_SIGNING_SECRET")),
        slack_app_token=_secret(merged.get("SLACK_APP_TOKEN")),
        slack_api_url=api_url,
        database_url=(merged.get("DATABASE_URL") or DEFAULT_DATABASE_URL).strip(),
        port=_int(merged, "PORT", 3000),
        web_workers=_int(merged, "WEB_CONCURRENCY", 0, minimum=0) or None,
        web_threads=_int(merged, "PRESALES_WEB_THREADS", 16),
        admins=_user_ids(merged, "PRESALES_ADMINS"),
        experts_channel=channel,
        timezone=_timezone(merged, "PRESALES_TIMEZONE", "UTC"),
        fanout_limit=_int(merged, "PRESALES_FANOUT_LIMIT", 25),
        send_concurrency=_int(merged, "PRESALES_SEND_CONCURRENCY", 8),
        slack_pace=_pace(merged, "PRESALES_SLACK_PACE"),
        work_threads=_int(merged, "PRESALES_WORK_THREADS", 8),
        reply_threads=_int(merged, "PRESALES_REPLY_THREADS", 8),
        listener_threads=_int(merged, "PRESALES_LISTENER_THREADS", 16),
        max_lead=_duration(merged, "PRESALES_MAX_LEAD", timedelta(days=365)),
        stats_period=_duration(merged, "PRESALES_STATS_PERIOD", timedelta(days=28)),
        log_level=level,
        brief_required_for=_kinds(merged, "PRESALES_BRIEF_REQUIRED_FOR", frozenset({"demo", "discovery", "poc"})),
        brief_policy=_choice(merged, "PRESALES_BRIEF_POLICY", ("hold", "warn"), "hold"),
        brief_due_before=_duration(merged, "PRESALES_BRIEF_DUE_BEFORE", timedelta(hours=24)),
        last_minute=_duration(merged, "PRESALES_LAST_MINUTE", timedelta(hours=48)),
        scheduler_interval=_duration(merged, "PRESALES_SCHEDULER_INTERVAL", timedelta(seconds=30)),
        escalate_after=_duration(merged, "PRESALES_ESCALATE_AFTER", timedelta(minutes=30)),
        urgent_escalate_after=_duration(merged, "PRESALES_URGENT_ESCALATE_AFTER", timedelta(minutes=10)),
        reminder_offsets=_durations(merged, "PRESALES_REMINDER_OFFSETS", (timedelta(hours=24), timedelta(hours=1))),
        followup_after=_duration(merged, "PRESALES_FOLLOWUP_AFTER", timedelta(hours=2)),
        working_hours=_hours(merged, "PRESALES_WORKING_HOURS", (9 * 60, 18 * 60)),
        working_days=_days(merged, "PRESALES_WORKING_DAYS", frozenset({1, 2, 3, 4, 5})),
        ooo_emoji=_emoji(merged, "PRESALES_OOO_EMOJI", DEFAULT_OOO_EMOJI),
        ooo_words=_words(merged, "PRESALES_OOO_WORDS", DEFAULT_OOO_WORDS),
        meeting_buffer=None if (merged.get("PRESALES_MEETING_BUFFER") or "").strip().lower() == "off" else
        _duration(merged, "PRESALES_MEETING_BUFFER", timedelta(minutes=30), allow_zero=True),
        availability_refresh=_duration(merged, "PRESALES_AVAILABILITY_REFRESH", timedelta(minutes=30)),
        ask_first_for=_duration(merged, "PRESALES_ASK_FIRST_FOR", timedelta(hours=2)),
        lease=_duration(merged, "PRESALES_LEASE", timedelta(minutes=5)),
        digest_cron=_cron(merged, "PRESALES_DIGEST_CRON", "0 9 * * MON"),
        log_format=_choice(merged, "LOG_FORMAT", ("json", "text"), "json"),
        metrics_dir=(merged.get("PROMETHEUS_MULTIPROC_DIR") or "").strip() or None,
    )


def _pace(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return DEFAULT_PACE
    try:
        parse_pace(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}; or 'off'") from None
    return raw.strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
