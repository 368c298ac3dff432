"""The only module that calls chat.*, views.* and users.* for the app's own messages.

Every call returns a result instead of raising: one expert we cannot reach (deactivated,
429 storm after retries, 5xx) never stops the others, and the error code is recorded.
Retries (rate limits with Retry-After, server errors, connection errors) live in the
client (bot/slack/client.py). Log lines carry Slack error codes, never tokens.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.models.views import View

from bot import metrics
from bot.slack.pace import Pacer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    ok: bool
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    transient: bool = False  # worth trying again later (rate limited, 5xx, network, paused)


@dataclass(frozen=True)
class Profile:
    tz: str | None
    name: str | None
    email: str | None
    deleted: bool = False
    status_text: str | None = None
    status_emoji: str | None = None
    status_expiration: datetime | None = None  # when Slack clears the status (None: never)


def profile_of(user: dict) -> Profile:
    """A users.info ``user`` (or the ``user`` of a user_change / user_status_changed event)."""
    profile = user.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
    expiration = profile.get("status_expiration")
    expires = (datetime.fromtimestamp(int(expiration), timezone.utc)
               if isinstance(expiration, (int, float)) and not isinstance(expiration, bool) and expiration > 0 else None)
    return Profile(tz=user.get("tz"), name=name, email=profile.get("email"), deleted=bool(user.get("deleted")),
                   status_text=(profile.get("status_text") or None), status_emoji=(profile.get("status_emoji") or None),
                   status_expiration=expires)


def dnd_until(info: dict, *, now: datetime) -> datetime | None:
    """Until when Do Not Disturb is on, from dnd.info or a dnd_updated_user event's dnd_status:
    a snooze, or the scheduled DND window we are in (None: off now)."""
    def moment(key: str) -> datetime | None:
        value = info.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return None
        return datetime.fromtimestamp(value, timezone.utc)

    snooze = moment("snooze_endtime")
    if info.get("snooze_enabled") and snooze and snooze > now:
        return snooze
    start, end = moment("next_dnd_start_ts"), moment("next_dnd_end_ts")
    if info.get("dnd_enabled") and start and end and start <= now < end:
        return end
    return None


def _error_code(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = None
        try:
            code = response.get("error") if response is not None else None
        except Exception:  # a non-JSON body (5xx from a proxy)
            code = None
        status = getattr(response, "status_code", None)
        if code and " " in str(code) and status:  # slack_sdk's note about a non-JSON body, not a code
            code = None
        return str(code or (f"http_{status}" if status else "slack_error"))
    if isinstance(exc, SlackRequestError):
        return "request_error"
    return type(exc).__name__.lower()[:64]


TRANSIENT_CODES = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def _transient(exc: Exception, code: str) -> bool:
    """Would the same call succeed later? Rate limits and server errors that outlasted the
    client's retry handlers, and network errors, yes; a Slack answer about the call itself
    (user_not_found, invalid_blocks ...) or a request the SDK refused to build, no."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", None) or 0
        return status == 429 or status >= 500 or code in TRANSIENT_CODES
    return not isinstance(exc, SlackRequestError)


# The token no longer works (revoked, app uninstalled, account deactivated): every call would fail.
AUTH_DEAD = frozenset({"invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed",
                       "app_uninstalled", "team_disabled"})
AUTH_PAUSE_SECONDS = 300


class Notifier:
    def __init__(self, client: WebClient, *, pacer: Pacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or Pacer({})  # per-method rate tiers (bot/slack/pace.py)
        self._paused_until = 0.0  # monotonic; set when Slack says the token is dead

    @property
    def paused(self) -> bool:
        # RELIABILITY 45: no retry storm against a dead token; queued notices wait for their lease
        return time.monotonic() < self._paused_until

    def _failed(self, what: str, exc: Exception) -> str:
        """Log and count a failed call; pause every call when the token is dead. The error code."""
        code = _error_code(exc)
        log.warning("slack %s failed: %s", what, code, extra={"slack_method": what, "slack_error": code})
        metrics.slack_errors.labels(method=what, code=code).inc()
        if code in AUTH_DEAD:
            self._paused_until = time.monotonic() + AUTH_PAUSE_SECONDS
            log.critical("Slack refused the bot token (%s): Slack calls paused for %d s. Reinstall the app or "
                         "set a new SLACK_BOT_TOKEN.", code, AUTH_PAUSE_SECONDS)
        return code

    def _call(self, what: str, fn, *, urgent: bool = False, **kwargs) -> Posted:
        """One Web API call: paced to its method's tier (``urgent``: someone is waiting for it,
        never queued behind a fan-out), errors logged, counted and turned into a Posted."""
        if self.paused:
            return Posted(ok=False, error="auth_paused", transient=True)
        waited = self.pacer.take(what, urgent=urgent)
        if waited:
            metrics.slack_paced.labels(method=what).inc(waited)
        try:
            response = fn(**kwargs)
        except Exception as exc:  # SlackApiError, connection errors after retries, timeouts
            code = self._failed(what, exc)
            return Posted(ok=False, error=code, transient=_transient(exc, code))
        data = response.data if hasattr(response, "data") else response
        if not isinstance(data, dict):
            return Posted(ok=True)
        return Posted(ok=True, channel=data.get("channel"), ts=data.get("ts") or data.get("message_ts"))

    # ---- messages

    def post(self, channel: str, text: str, blocks: list[dict] | None = None, *, thread_ts: str | None = None,
             reply_broadcast: bool = False, urgent: bool = False) -> Posted:
        """chat.postMessage; ``channel`` may be a user id (posts in the app's DM with them)."""
        kwargs = {"channel": channel, "text": text, "unfurl_links": False, "unfurl_media": False}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
            if reply_broadcast:
                kwargs["reply_broadcast"] = True
        return self._call("chat.postMessage", self.client.chat_postMessage, urgent=urgent, **kwargs)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None, *,
               urgent: bool = False) -> Posted:
        kwargs = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        return self._call("chat.update", self.client.chat_update, urgent=urgent, **kwargs)

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict] | None = None) -> Posted:
        kwargs = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        result = self._call("chat.postEphemeral", self.client.chat_postEphemeral, **kwargs)
        if not result.ok and result.error in ("channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"):
            # The person still hears from us: in the app's DM.
            return self.post(user, text, blocks, urgent=True)
        return result

    def tell(self, user: str, text: str, *, channel: str | None = None, blocks: list[dict] | None = None) -> Posted:
        """Tell one person something only they should see: ephemeral in ``channel``, else a DM."""
        if channel and not channel.startswith("D"):
            return self.ephemeral(channel, user, text, blocks)
        return self.post(user, text, blocks, urgent=True)

    def answer(self, respond, user: str, text: str, blocks: list[dict] | None = None, *,
               channel: str | None = None) -> None:
        """Answer the person who typed or clicked: ephemeral through ``respond`` (response_url);
        if that fails (used 5 times, expired), an ephemeral message or a DM, so they always hear back."""
        blocks = blocks or None
        if respond is not None:
            try:
                kwargs = {"text": text, "response_type": "ephemeral", "replace_original": False}
                if blocks:
                    kwargs["blocks"] = blocks
                result = respond(**kwargs)
                if 200 <= getattr(result, "status_code", 200) < 300:
                    return
                log.warning("response_url answered %s; falling back", getattr(result, "status_code", "?"))
            except Exception as exc:  # expired, used up or unreachable: fall through
                log.warning("response_url failed: %s", type(exc).__name__)
        self.tell(user, text, channel=channel, blocks=blocks)

    def upload(self, channel: str, content: bytes, *, filename: str, title: str) -> Posted:
        """A file (the digest's chart) into a channel or DM, with files_upload_v2."""
        return self._call("files_upload_v2", self.client.files_upload_v2, channel=channel, content=content,
                          filename=filename, title=title)

    # ---- views

    def open_view(self, trigger_id: str, view: View | dict) -> Posted:
        return self._call("views.open", self.client.views_open, trigger_id=trigger_id, view=view)

    def update_view(self, view_id: str, view: View | dict, *, hash_: str | None = None) -> Posted:
        """views.update of an open modal (``hash_``: refused if the view changed meanwhile)."""
        kwargs = {"view_id": view_id, "view": view}
        if hash_:
            kwargs["hash"] = hash_
        return self._call("views.update", self.client.views_update, urgent=True, **kwargs)

    def publish_home(self, user_id: str, view: View, *, urgent: bool = False) -> Posted:
        """``urgent``: the person just opened their Home; refreshes after a change are paced."""
        return self._call("views.publish", self.client.views_publish, urgent=urgent, user_id=user_id, view=view)

    # ---- people

    def profile(self, user_id: str) -> Profile | None:
        if self.paused:
            return None
        try:
            data = self.client.users_info(user=user_id).data
        except Exception as exc:
            self._failed("users.info", exc)
            return None
        user = data.get("user") or {} if isinstance(data, dict) else {}
        return profile_of(user)

    def dnd(self, user_id: str, *, now: datetime) -> tuple[bool, datetime | None]:
        """(known, until): whether Slack answered dnd.info, and until when DND is on (None: off)."""
        if self.paused:
            return False, None
        try:
            data = self.client.dnd_info(user=user_id).data
        except Exception as exc:
            self._failed("dnd.info", exc)
            return False, None
        return True, dnd_until(data if isinstance(data, dict) else {}, now=now)

    def lookup_email(self, email: str) -> str | None:
        try:
            data = self.client.users_lookupByEmail(email=email).data
        except SlackApiError as exc:
            if _error_code(exc) != "users_not_found":
                raise
            return None
        user = data.get("user") if isinstance(data, dict) else None
        return user.get("id") if isinstance(user, dict) else None

    def team_id(self) -> str:
        data = self.client.auth_test().data
        return str(data["team_id"])
