"""What Slack holds for the fake's one workspace, and Slack's rules about it.

People (as users.info shows them), channels and DMs, the messages posted (and deleted),
ephemerals, views and Homes, trigger_ids, response_urls and file uploads. The rules: who can be
DMed and where a message may be posted (:meth:`Workspace.resolve_post_channel`), a trigger_id is
used once, within 3 s (:meth:`Workspace.consume_trigger`).

The Web API methods (``methods.py``) change it while the fake's lock is held; tests read it
through ``FakeSlack`` (the read-outs at the end take the lock themselves).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from tests.fakes.slack.call import SlackError, is_missing

TEAM_ID = "T0001"
TEAM_NAME = "Acme Sales"
TEAM_DOMAIN = "acme-sales"
BOT_USER_ID = "UBOT"
BOT_ID = "B0001"
APP_ID = "A0001"

MAX_RESPONSE_URL_USES = 5
TRIGGER_TTL_SECONDS = 3.0

# Long names for common zone abbreviations, as Slack's tz_label shows them.
TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


@dataclass
class User:
    id: str
    tz: str | None
    email: str | None
    name: str
    real_name: str
    display_name: str
    team_id: str
    deleted: bool
    is_bot: bool
    status_text: str = ""
    status_emoji: str = ""
    status_expiration: int = 0  # epoch seconds when Slack clears the status; 0: never
    dnd: dict[str, Any] | None = None  # what dnd.info answers for them (None: DND off)


@dataclass
class Channel:
    id: str
    member: bool
    archived: bool
    private: bool
    name: str


def dm_channel_id(user_id: str) -> str:
    """The DM channel id the fake uses for a user: ``"D" + user_id[1:]``."""
    return "D" + user_id[1:]


def ts_key(ts: str) -> tuple[int, int]:
    whole, _, frac = ts.partition(".")
    return int(whole), int(frac or 0)


def user_object(user: User) -> dict[str, Any]:
    """A user as users.info answers it."""
    obj: dict[str, Any] = {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "is_admin": False,
        "is_owner": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "profile": {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "team": user.team_id,
            "status_text": user.status_text,
            "status_emoji": user.status_emoji,
            "status_expiration": user.status_expiration,
            **({"email": user.email} if user.email else {}),
        },
    }
    if user.tz is not None:
        now = datetime.now(ZoneInfo(user.tz))
        abbreviation = now.tzname() or user.tz
        offset = now.utcoffset()
        obj.update(
            tz=user.tz,
            tz_label=TZ_LABELS.get(abbreviation, abbreviation),
            tz_offset=int(offset.total_seconds()) if offset is not None else 0,
        )
    return obj


class Workspace:
    """The state behind the fake's answers; ``reset()`` forgets it (ids never repeat)."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock  # the fake's: held while a method runs
        self.base_url = ""  # where the fake serves (set when it starts): upload URLs point there
        self.seq = itertools.count(1)  # survives reset() so ids never repeat within a process
        self.clock: Callable[[], float] = time.time  # Slack's clock: message ts are taken from it
        self.reset()

    def reset(self) -> None:
        with self.lock:
            # Rules tests may tighten.
            self.strict_users = False  # unknown user ids -> channel_not_found / user_not_found
            self.strict_channels = False  # unknown C/G channel ids -> channel_not_found
            self.trigger_ttl: float | None = TRIGGER_TTL_SECONDS  # None disables expiry
            # State.
            self._last_ts = 0  # the latest message ts handed out (microseconds): ts only increase
            self.users: dict[str, User] = {}
            self.channels: dict[str, Channel] = {}
            self.dm_users: dict[str, str] = {}  # DM channel id -> user id
            self.mpims: dict[tuple[str, ...], str] = {}
            self.open_conversations: set[str] = set()
            self.posts: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message shown now
            self.deleted: list[dict[str, Any]] = []
            self.ephemeral_posts: list[dict[str, Any]] = []
            self.views_by_id: dict[str, dict[str, Any]] = {}  # latest version of every view
            self.opened: list[dict[str, Any]] = []  # views.open, as opened
            self.pushed: list[dict[str, Any]] = []  # views.push, as pushed
            self.homes: dict[str, dict[str, Any]] = {}  # user id -> latest home view
            self.home_owner: dict[str, str] = {}  # home view id -> user id
            self.triggers: dict[str, list[Any]] = {}  # trigger id -> [issued_at, used]
            self.response_url_uses: dict[str, int] = {}  # token -> uses
            self.files: dict[str, dict[str, Any]] = {}  # file id -> upload

    # ---------------------------------------------------------------- ids

    def next_ts(self) -> str:
        """A message ts by the workspace's clock (``clock``: real time unless a test sets its own),
        unique and increasing within this fake."""
        with self.lock:
            micros = max(int(self.clock() * 1_000_000), self._last_ts + 1)
            self._last_ts = micros
        next(self.seq)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        """``V00000012``, ``F00000013``, ``G00000014``: view, file, group DM ids."""
        return f"{prefix}{next(self.seq):08d}"

    @staticmethod
    def new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    # ---------------------------------------------------------------- Slack's rules

    def check_dm_user(self, user_id: str) -> None:
        """Slack's answers to chat.postMessage into a user's DM."""
        user = self.users.get(user_id)
        if user is None:
            if self.strict_users:
                raise SlackError("channel_not_found")
            return
        if user.deleted:
            raise SlackError("channel_not_found")
        if user.is_bot:
            raise SlackError("cannot_dm_bot")

    def dm_for(self, user_id: str) -> str:
        channel = dm_channel_id(user_id)
        self.dm_users[channel] = user_id
        return channel

    def resolve_post_channel(self, channel: str | None) -> str:
        """Map the ``channel`` argument to where the message lands, or raise like Slack."""
        if is_missing(channel):
            raise SlackError("channel_not_found")
        assert channel is not None
        known = self.channels.get(channel)
        if known is not None:
            if known.archived:
                raise SlackError("is_archived")
            if not known.member and known.private:
                raise SlackError("channel_not_found")
            return channel  # a public non-member channel works with chat:write.public
        if channel[0] in ("U", "W"):
            self.check_dm_user(channel)
            return self.dm_for(channel)
        if channel[0] == "D":
            user_id = self.dm_users.get(channel)
            if user_id is not None:
                self.check_dm_user(user_id)
            return channel
        if channel[0] in ("C", "G") and not self.strict_channels:
            return channel
        raise SlackError("channel_not_found")

    def consume_trigger(self, trigger_id: str) -> None:
        """Slack's trigger rules: use once, within 3 seconds of the interaction."""
        record = self.triggers.get(trigger_id)
        if record is None:
            return  # not issued by this fake (e.g. a hand-written payload): accept
        issued_at, used = record
        if used:
            raise SlackError("exchanged_trigger_id", violation=f"trigger_id {trigger_id} used twice")
        record[1] = True
        age = time.monotonic() - issued_at
        if self.trigger_ttl is not None and age > self.trigger_ttl:
            raise SlackError(
                "expired_trigger_id",
                violation=f"trigger_id used {age:.2f}s after the interaction (Slack allows {self.trigger_ttl}s)",
            )

    # ---------------------------------------------------------------- set-up by tests

    def add_user(
        self,
        user_id: str,
        *,
        tz: str | None = "America/New_York",
        email: str | None = None,
        name: str | None = None,
        team_id: str = TEAM_ID,
        deleted: bool = False,
        is_bot: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
        dnd: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Register a user (for users.info / lookupByEmail / DM rules / dnd.info); returns its object."""
        if tz is not None:
            ZoneInfo(tz)  # raise now on a typo rather than inside the server thread
        name = name or user_id.lower()
        user = User(
            id=user_id,
            tz=tz,
            email=email,
            name=name,
            real_name=real_name or name.replace(".", " ").title(),
            display_name=display_name if display_name is not None else name,
            team_id=team_id,
            deleted=deleted,
            is_bot=is_bot,
            status_text=status_text,
            status_emoji=status_emoji,
            status_expiration=status_expiration,
            dnd=dnd,
        )
        with self.lock:
            self.users[user_id] = user
            return user_object(user)

    def set_status(self, user_id: str, text: str = "", emoji: str = "", expiration: int = 0) -> dict[str, Any]:
        """The user sets (or clears) their Slack status; returns their users.info object, as a
        user_change event carries it."""
        with self.lock:
            user = self.users[user_id]
            user.status_text, user.status_emoji, user.status_expiration = text, emoji, expiration
            return user_object(user)

    def set_dnd(self, user_id: str, dnd: dict[str, Any] | None) -> None:
        """What dnd.info answers for the user from now on (None: DND off)."""
        with self.lock:
            self.users[user_id].dnd = dnd

    def add_channel(
        self,
        channel_id: str,
        *,
        member: bool = True,
        archived: bool = False,
        private: bool = False,
        name: str | None = None,
    ) -> None:
        """Register a channel so posting to it follows Slack's membership rules."""
        with self.lock:
            self.channels[channel_id] = Channel(channel_id, member, archived, private, name or channel_id.lower())

    def issue_trigger_id(self) -> str:
        """A trigger_id the fake will accept once, within ``trigger_ttl`` seconds."""
        n = next(self.seq)
        trigger = f"{13345224609 + n}.738474920.{secrets.token_hex(11)[:21]}"
        with self.lock:
            self.triggers[trigger] = [time.monotonic(), False]
        return trigger

    # ---------------------------------------------------------------- read-outs for tests

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The users.info object of a registered user (None when unknown)."""
        with self.lock:
            user = self.users.get(user_id)
            return user_object(user) if user is not None else None

    @property
    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(channel, ts): message}`` for messages currently visible (not deleted)."""
        with self.lock:
            return dict(self.posts)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Latest version of a message; a user id as ``channel`` means their DM."""
        if channel[:1] in ("U", "W"):
            channel = dm_channel_id(channel)
        with self.lock:
            return self.posts.get((channel, ts))

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first."""
        with self.lock:
            found = [m for (ch, _), m in self.posts.items() if ch == channel]
        return sorted(found, key=lambda m: ts_key(m["ts"]))

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the bot's DM with ``user_id``, oldest first."""
        return self.channel_messages(dm_channel_id(user_id))

    @property
    def deleted_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.deleted)

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Ephemeral messages shown to ``user_id``, in order."""
        with self.lock:
            return [e for e in self.ephemeral_posts if e["user"] == user_id]

    @property
    def views_published(self) -> dict[str, dict[str, Any]]:
        """``{user_id: latest home view}``."""
        with self.lock:
            return dict(self.homes)

    @property
    def opened_views(self) -> list[dict[str, Any]]:
        """Views as opened by views.open, in order (see ``view()`` for later updates)."""
        with self.lock:
            return list(self.opened)

    @property
    def pushed_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.pushed)

    def view(self, view_id: str) -> dict[str, Any] | None:
        """Latest version of any view the fake holds (modal or home)."""
        with self.lock:
            return self.views_by_id.get(view_id)

    def views_with_callback(self, callback_id: str) -> list[dict[str, Any]]:
        """Latest versions of views with this callback_id, oldest first."""
        with self.lock:
            return [v for v in self.views_by_id.values() if v.get("callback_id") == callback_id]

    @property
    def uploads(self) -> dict[str, dict[str, Any]]:
        """``{file_id: {"filename", "length", "data", "completed", ...}}``."""
        with self.lock:
            return {k: dict(v) for k, v in self.files.items()}
