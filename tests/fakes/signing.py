"""A driver that plays Slack's side of the conversation: signed HTTP requests to the app.

``SlackDriver`` sends slash commands, interactivity payloads (block_actions,
view_submission, view_closed, block_suggestion) and Events API callbacks to the app's
``/slack/events`` endpoint over real HTTP, signed exactly as Slack signs them
(``X-Slack-Signature = "v0=" + HMAC-SHA256(secret, "v0:{ts}:{raw body}")``).  It only
uses the standard library (urllib), never raises on non-2xx statuses, and returns a
:class:`Reply` with the status, body and the time the app took to answer (Slack gives
an app 3 seconds to ack).

When given the ``FakeSlack`` the app talks to, the driver makes payloads consistent
with it: response_urls and trigger_ids are issued by the fake (so their use limits and
expiry are enforced), and actions/submissions carry the message or view the fake holds
(blocks, private_metadata, hash, button values) as Slack would.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlencode

if TYPE_CHECKING:  # only for type hints; the driver works without a fake
    from tests.fakes.slack import FakeSlack

__all__ = [
    "Reply",
    "SlackDriver",
    "compute_signature",
    "datepicker",
    "datetimepicker",
    "multi_static_select",
    "plain_text_input",
    "static_select",
    "timepicker",
    "users_select",
]

DEFAULT_TEAM_ID = "T0001"
DEFAULT_TEAM_DOMAIN = "acme-sales"
DEFAULT_APP_ID = "A0001"
DEFAULT_BOT_USER_ID = "UBOT"
DEFAULT_BOT_ID = "B0001"
DEFAULT_CHANNEL_ID = "C0DEAL"
VERIFICATION_TOKEN = "verification-token"  # Slack's deprecated per-app token, sent in payloads

_counter = itertools.count(1)


def compute_signature(signing_secret: str, body: bytes, timestamp: int | str) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _now_ts() -> str:
    """A Slack-style timestamp string ("1700000000.123456") for now."""
    return f"{time.time():.6f}"


def _new_trigger_id() -> str:
    return f"{13345224609 + next(_counter)}.738474920.{secrets.token_hex(11)[:21]}"


# ---- state.values helpers (the shapes Slack puts in view_submission payloads) -------


def plain_text_input(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": _option(value, text) if value is not None else None}


def multi_static_select(values: list[str]) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [_option(v) for v in values]}


def users_select(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def datepicker(date: str | None) -> dict[str, Any]:
    """``date`` as Slack sends it: "YYYY-MM-DD"."""
    return {"type": "datepicker", "selected_date": date}


def timepicker(hhmm: str | None, timezone: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "timepicker", "selected_time": hhmm}
    if timezone:
        value["timezone"] = timezone
    return value


def datetimepicker(epoch_seconds: int | None) -> dict[str, Any]:
    return {"type": "datetimepicker", "selected_date_time": epoch_seconds}


# ---- transport ------------------------------------------------------------------------


@dataclass
class Reply:
    """What the app answered."""

    status: int
    headers: dict[str, str]  # lower-cased names
    body: str
    json: Any  # parsed body when it is JSON, else None
    elapsed: float  # seconds from sending to the full answer
    sent: Any = None  # the payload/envelope/form the driver sent (for debugging)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report 3xx answers as they are instead of following them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _send(url: str, method: str, body: bytes | None, headers: Mapping[str, str], timeout: float, sent: Any) -> Reply:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            raw = response.read()
            response_headers = {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:  # non-2xx: return it, do not raise
        status = exc.code
        raw = exc.read() if exc.fp is not None else b""
        response_headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    elapsed = time.monotonic() - started
    text = raw.decode("utf-8", "replace")
    parsed: Any = None
    if "json" in response_headers.get("content-type", "") or text[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return Reply(status, response_headers, text, parsed, elapsed, sent)


# ---- the driver -----------------------------------------------------------------------


class SlackDriver:
    """Sends Slack-signed requests to ``base_url + path`` (default ``/slack/events``)."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        team_id: str = DEFAULT_TEAM_ID,
        fake: "FakeSlack | None" = None,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        api_app_id: str = DEFAULT_APP_ID,
        path: str = "/slack/events",
        verification_token: str = VERIFICATION_TOKEN,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.path = path
        self.verification_token = verification_token
        self.fake = fake
        self.clock = time.time  # Slack's clock for action_ts / event_ts (signatures always use real time)

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    # ------------------------------------------------------------ signing & transport

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def sign(self, body: bytes, ts: int | None = None) -> dict[str, str]:
        """The two signature headers for ``body`` (``ts`` defaults to now)."""
        timestamp = int(time.time()) if ts is None else ts
        return {
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": compute_signature(self.signing_secret, body, timestamp),
        }

    def raw(self, body: bytes, headers: Mapping[str, str], *, path: str | None = None, timeout: float = 10) -> Reply:
        """POST ``body`` with exactly ``headers`` (nothing signed for you)."""
        return _send(self.base_url + (path or self.path), "POST", body, headers, timeout, body)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10) -> Reply:
        """GET ``base_url + path`` (e.g. ``/healthz``)."""
        return _send(self.base_url + path, "GET", None, headers or {}, timeout, None)

    def post_signed(
        self,
        body: bytes,
        content_type: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float = 10,
        sent: Any = None,
    ) -> Reply:
        """POST a body signed now, as Slack does."""
        headers = {"Content-Type": content_type, **self.sign(body), **(extra_headers or {})}
        return _send(self.url, "POST", body, headers, timeout, sent)

    def post_form(self, fields: Mapping[str, Any], *, timeout: float = 10) -> Reply:
        body = urlencode(fields).encode()
        return self.post_signed(body, "application/x-www-form-urlencoded", timeout=timeout, sent=dict(fields))

    def post_payload(self, payload: Mapping[str, Any], *, timeout: float = 10) -> Reply:
        """Interactivity requests: form field ``payload`` holding JSON."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post_signed(body, "application/x-www-form-urlencoded", timeout=timeout, sent=payload)

    # ------------------------------------------------------------ shared pieces

    def new_trigger_id(self) -> str:
        """A trigger_id; issued by the fake (3 s, single use) when the driver has one."""
        return self.fake.issue_trigger_id() if self.fake is not None else _new_trigger_id()

    def new_response_url(self) -> str:
        if self.fake is not None:
            return self.fake.response_url()
        return f"https://hooks.slack.com/actions/{self.team_id}/{next(_counter)}/{secrets.token_hex(12)}"

    def _team(self, team_id: str | None) -> dict[str, Any]:
        return {"id": team_id or self.team_id, "domain": self.team_domain}

    def _user(self, user_id: str, team_id: str | None) -> dict[str, Any]:
        known = self.fake.user(user_id) if self.fake is not None else None
        name = known["name"] if known else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": team_id or self.team_id}

    @staticmethod
    def _channel_name(channel_id: str) -> str:
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    def _bot_ids(self) -> tuple[str, str]:
        if self.fake is not None:
            return self.fake.BOT_USER_ID, self.fake.BOT_ID
        return DEFAULT_BOT_USER_ID, DEFAULT_BOT_ID

    def _find_message(self, channel_id: str | None, ts: str) -> dict[str, Any] | None:
        if self.fake is None:
            return None
        if channel_id is not None:
            return self.fake.message(channel_id, ts)
        return next((m for (_, t), m in self.fake.messages.items() if t == ts), None)

    def _fake_view(self, view_id: str | None, callback_id: str | None) -> dict[str, Any] | None:
        """The view the fake holds: by id, else the latest with that callback_id."""
        if self.fake is None:
            return None
        if view_id is not None:
            return self.fake.view(view_id)
        if callback_id is not None:
            matches = self.fake.views_with_callback(callback_id)
            return matches[-1] if matches else None
        return None

    def _view_payload(
        self,
        base: Mapping[str, Any] | None,
        *,
        view_id: str | None,
        callback_id: str | None,
        private_metadata: str | None,
        values: Mapping[str, Any] | None,
        hash: str | None,  # noqa: A002 - Slack's name
        team_id: str | None,
    ) -> dict[str, Any]:
        """A ``view`` object as Slack embeds it in interactivity payloads."""
        base = dict(base or {})
        vid = view_id or base.get("id") or f"V{next(_counter):08d}"
        _, bot_id = self._bot_ids()
        return {
            "id": vid,
            "team_id": team_id or self.team_id,
            "type": base.get("type", "modal"),
            "blocks": base.get("blocks", []),
            "private_metadata": private_metadata if private_metadata is not None else base.get("private_metadata", ""),
            "callback_id": callback_id if callback_id is not None else base.get("callback_id", ""),
            "state": {"values": dict(values or {})},
            "hash": hash or base.get("hash") or f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": base.get("title", {"type": "plain_text", "text": "Modal", "emoji": True}),
            "clear_on_close": base.get("clear_on_close", False),
            "notify_on_close": base.get("notify_on_close", False),
            "close": base.get("close"),
            "submit": base.get("submit"),
            "previous_view_id": base.get("previous_view_id"),
            "root_view_id": base.get("root_view_id", vid),
            "app_id": self.api_app_id,
            "external_id": base.get("external_id", ""),
            "app_installed_team_id": team_id or self.team_id,
            "bot_id": bot_id,
        }

    @staticmethod
    def _find_element(blocks: list[Any], action_id: str) -> tuple[str | None, dict[str, Any] | None]:
        """(block_id, element) of the interactive element with ``action_id``."""
        for block in blocks or []:
            if not isinstance(block, dict):
                continue
            candidates = list(block.get("elements") or [])
            for key in ("accessory", "element"):
                if isinstance(block.get(key), dict):
                    candidates.append(block[key])
            for element in candidates:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return block.get("block_id"), element
        return None, None

    # ------------------------------------------------------------ slash commands

    def command(
        self,
        user_id: str,
        text: str = "",
        *,
        channel_id: str = DEFAULT_CHANNEL_ID,
        command: str = "/presales",
        trigger_id: str | None = None,
        channel_name: str | None = None,
        response_url: str | None = None,
        team_id: str | None = None,
        timeout: float = 10,
    ) -> Reply:
        """A slash command, form-encoded as Slack sends it."""
        user = self._user(user_id, team_id)
        fields = {
            "token": self.verification_token,
            "team_id": team_id or self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.new_response_url(),
            "trigger_id": trigger_id or self.new_trigger_id(),
        }
        return self.post_form(fields, timeout=timeout)

    # ------------------------------------------------------------ interactivity

    def action(self, user_id: str, action_id: str, value: str | None = None, *, timeout: float = 10,
               **kwargs: Any) -> Reply:
        """A ``block_actions`` payload: a button click (or a static_select choice); see
        :meth:`action_payload` for the keyword arguments (``view``, ``message_ts``, ...)."""
        return self.post_payload(self.action_payload(user_id, action_id, value, **kwargs), timeout=timeout)

    def action_payload(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view: Mapping[str, Any] | str | None = None,
        container: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        selected_option: Mapping[str, Any] | str | None = None,
        team_id: str | None = None,
        ephemeral: bool = False,
        state_values: Mapping[str, Any] | None = None,
        action_extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build (without sending) the payload :meth:`action` sends."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "team": self._team(team_id),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        blocks: list[Any] = []
        if view is not None:
            base = self._fake_view(view, None) if isinstance(view, str) else dict(view)
            view_id = view if isinstance(view, str) else None
            view_obj = self._view_payload(
                base,
                view_id=view_id,
                callback_id=None,
                private_metadata=None,
                values=state_values,
                hash=None,
                team_id=team_id,
            )
            blocks = view_obj["blocks"]
            payload["container"] = dict(container or {"type": "view", "view_id": view_obj["id"]})
            payload["view"] = view_obj
        else:
            ts = message_ts or _now_ts()
            stored = self._find_message(channel_id, ts) if message_ts else None
            channel = channel_id or (stored["channel"] if stored else DEFAULT_CHANNEL_ID)
            payload["container"] = dict(
                container
                or {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral}
            )
            payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
            if not ephemeral:  # Slack omits the message for ephemeral messages
                bot_user, bot_id = self._bot_ids()
                message: dict[str, Any] = {
                    "type": "message",
                    "user": bot_user,
                    "bot_id": bot_id,
                    "app_id": self.api_app_id,
                    "team": team_id or self.team_id,
                    "ts": ts,
                    "text": stored["text"] if stored else "",
                    "blocks": stored["blocks"] if stored else [],
                }
                if stored and stored.get("thread_ts"):
                    message["thread_ts"] = stored["thread_ts"]
                payload["message"] = message
                blocks = message["blocks"]
            payload["state"] = {"values": dict(state_values or {})}
            payload["response_url"] = self.new_response_url()

        rendered_block_id, element = self._find_element(blocks, action_id)
        element = element or {}
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or rendered_block_id or "b",
            "action_ts": self._now_ts(),
        }
        if selected_option is not None or element.get("type") in ("static_select", "external_select"):
            option = selected_option if selected_option is not None else value
            action["type"] = element.get("type", "static_select")
            action["selected_option"] = (
                dict(option) if isinstance(option, Mapping) else _option(str(option)) if option is not None else None
            )
            if "placeholder" in element:
                action["placeholder"] = element["placeholder"]
        else:
            action["type"] = element.get("type", "button")
            action["text"] = element.get("text", {"type": "plain_text", "text": action_id, "emoji": True})
            resolved = value if value is not None else element.get("value")
            if resolved is not None:
                action["value"] = resolved
            if "style" in element:
                action["style"] = element["style"]
        action.update(action_extra or {})
        payload["actions"] = [action]
        return payload

    def submit_view(self, user_id: str, callback_id: str, values: Mapping[str, Any], *, timeout: float = 10,
                    **kwargs: Any) -> Reply:
        """A ``view_submission``; ``values`` is Slack's ``state.values`` shape. See
        :meth:`submit_view_payload` for the keyword arguments."""
        return self.post_payload(self.submit_view_payload(user_id, callback_id, values, **kwargs), timeout=timeout)

    def submit_view_payload(
        self,
        user_id: str,
        callback_id: str,
        values: Mapping[str, Any],
        *,
        private_metadata: str | None = None,
        view_id: str | None = None,
        team_id: str | None = None,
        hash: str | None = None,  # noqa: A002
        response_urls: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Build (without sending) the payload :meth:`submit_view` sends."""
        view = self._view_payload(
            self._fake_view(view_id, callback_id),
            view_id=view_id,
            callback_id=callback_id,
            private_metadata=private_metadata,
            values=values,
            hash=hash,
            team_id=team_id,
        )
        return {
            "type": "view_submission",
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self.new_trigger_id(),
            "view": view,
            "response_urls": list(response_urls or []),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def close_view(
        self,
        user_id: str,
        callback_id: str,
        *,
        private_metadata: str | None = None,
        view_id: str | None = None,
        team_id: str | None = None,
        is_cleared: bool = False,
        timeout: float = 10,
    ) -> Reply:
        """A ``view_closed`` payload (sent when the modal has notify_on_close)."""
        view = self._view_payload(
            self._fake_view(view_id, callback_id),
            view_id=view_id,
            callback_id=callback_id,
            private_metadata=private_metadata,
            values=None,
            hash=None,
            team_id=team_id,
        )
        payload = {
            "type": "view_closed",
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": view,
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.post_payload(payload, timeout=timeout)

    def block_suggestion(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "b",
        view_id: str | None = None,
        callback_id: str | None = None,
        channel_id: str = DEFAULT_CHANNEL_ID,
        team_id: str | None = None,
        timeout: float = 10,
    ) -> Reply:
        """An options request (``block_suggestion``) for an external_select.

        In a view when ``view_id`` or ``callback_id`` is given, else in a message.
        """
        payload: dict[str, Any] = {
            "type": "block_suggestion",
            "user": self._user(user_id, team_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": self._team(team_id),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view_id is not None or callback_id is not None:
            view = self._view_payload(
                self._fake_view(view_id, callback_id),
                view_id=view_id,
                callback_id=callback_id,
                private_metadata=None,
                values=None,
                hash=None,
                team_id=team_id,
            )
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": _now_ts(),
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
        return self.post_payload(payload, timeout=timeout)

    # ------------------------------------------------------------ Events API

    def event_envelope(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """The ``event_callback`` envelope :meth:`event` sends (``event_ts`` added if absent)."""
        inner = dict(event)
        inner.setdefault("event_ts", self._now_ts())
        bot_user, _ = self._bot_ids()
        team = team_id or self.team_id
        return {
            "token": self.verification_token,
            "team_id": team,
            "api_app_id": self.api_app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):04d}{secrets.token_hex(3).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team,
                    "user_id": bot_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(16)}",
            # Deprecated by Slack but still required by its published wrapper schema.
            "authed_users": [bot_user],
        }

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        team_id: str | None = None,
        timeout: float = 10,
    ) -> Reply:
        """An Events API callback; ``retry_num``/``retry_reason`` mimic Slack's redelivery."""
        envelope = self.event_envelope(event, event_id=event_id, team_id=team_id)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope).encode()
        return self.post_signed(body, "application/json", extra_headers=headers, timeout=timeout, sent=envelope)

    def url_verification(self, challenge: str = "challenge-token", *, timeout: float = 10) -> Reply:
        """The handshake Slack sends when the Request URL is configured."""
        payload = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        body = json.dumps(payload).encode()
        return self.post_signed(body, "application/json", timeout=timeout, sent=payload)
