"""Messages: chat.postMessage, chat.update, chat.postEphemeral, chat.delete, and a message
posted to a response_url. Text, blocks and attachments are checked (Block Kit through
``blockkit``) before anything is stored; a message Slack would refuse is a violation of the
app's unless the test set ``fake.expect_invalid``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.slack import blockkit
from tests.fakes.slack.call import Call, SlackError, error_metadata, is_missing, json_value, without_token
from tests.fakes.slack.workspace import APP_ID, BOT_ID, BOT_USER_ID, MAX_RESPONSE_URL_USES, TEAM_ID, Workspace


def _json_argument(call: Call, name: str, error: str) -> Any:
    try:
        return json_value(call.params[name])
    except ValueError:
        raise SlackError(error, violation=f"{name} is not valid JSON", content=True) from None


def _check_message_content(call: Call) -> tuple[list[Any] | None, list[Any] | None]:
    """Validate text/blocks/attachments; returns parsed (blocks, attachments)."""
    params = call.params
    blocks: list[Any] | None = None
    attachments: list[Any] | None = None
    if not is_missing(params.get("blocks")):
        blocks = _json_argument(call, "blocks", "invalid_blocks_format")
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format", violation="blocks must be a JSON array", content=True)
        problems = blockkit.check_blocks(blocks, max_blocks=blockkit.MAX_MESSAGE_BLOCKS)
        if problems:
            raise SlackError("invalid_blocks", violation="; ".join(problems), content=True,
                             response_metadata=error_metadata(problems))
    if not is_missing(params.get("attachments")):
        attachments = _json_argument(call, "attachments", "invalid_attachments")
    text = params.get("text")
    if is_missing(text) and not blocks and not attachments:
        raise SlackError("no_text", violation="a message needs text or blocks", content=True)
    if isinstance(text, str) and len(text) > blockkit.MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long", violation=f"text exceeds {blockkit.MAX_MESSAGE_TEXT} characters", content=True)
    return blocks, attachments


def _message_object(stored: dict[str, Any]) -> dict[str, Any]:
    message = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": stored["ts"],
        "text": stored["text"],
        "blocks": stored["blocks"],
    }
    for key in ("attachments", "thread_ts", "metadata"):
        if stored.get(key) is not None:
            message[key] = stored[key]
    return message


def chat_post_message(ws: Workspace, call: Call) -> dict[str, Any]:
    params = call.params
    channel = ws.resolve_post_channel(params.get("channel"))
    blocks, attachments = _check_message_content(call)
    ts = ws.next_ts()
    stored = {
        "channel": channel,
        "ts": ts,
        "text": params.get("text") or "",
        "blocks": blocks or [],
        "attachments": attachments,
        "thread_ts": params.get("thread_ts") or None,
        "metadata": json_value(params["metadata"]) if params.get("metadata") else None,
        "params": without_token(params),
        "edits": 0,
    }
    ws.posts[(channel, ts)] = stored
    return {"channel": channel, "ts": ts, "message": _message_object(stored)}


def chat_update(ws: Workspace, call: Call) -> dict[str, Any]:
    params = call.params
    key = (params.get("channel"), params.get("ts"))
    old = ws.posts.get(key)  # type: ignore[arg-type]
    if old is None:
        raise SlackError("message_not_found")
    blocks, attachments = _check_message_content(call)
    stored = dict(old)
    # Slack keeps fields the update omits; an empty blocks array removes blocks.
    if "text" in params:
        stored["text"] = params.get("text") or ""
    if "blocks" in params:
        stored["blocks"] = blocks or []
    if "attachments" in params:
        stored["attachments"] = attachments
    stored["params"] = without_token(params)
    stored["edits"] = old["edits"] + 1
    ws.posts[key] = stored  # type: ignore[index]
    return {"channel": stored["channel"], "ts": stored["ts"], "text": stored["text"],
            "message": _message_object(stored)}


def chat_post_ephemeral(ws: Workspace, call: Call) -> dict[str, Any]:
    params = call.params
    channel = ws.resolve_post_channel(params.get("channel"))
    user = ws.users.get(params.get("user", ""))
    if user is not None and user.deleted:
        raise SlackError("user_not_in_channel")
    blocks, attachments = _check_message_content(call)
    message_ts = ws.next_ts()
    ws.ephemeral_posts.append(
        {
            "channel": channel,
            "user": params.get("user"),
            "message_ts": message_ts,
            "text": params.get("text") or "",
            "blocks": blocks or [],
            "attachments": attachments,
            "thread_ts": params.get("thread_ts") or None,
        }
    )
    return {"message_ts": message_ts}


def chat_delete(ws: Workspace, call: Call) -> dict[str, Any]:
    key = (call.params.get("channel"), call.params.get("ts"))
    stored = ws.posts.pop(key, None)  # type: ignore[arg-type]
    if stored is None:
        raise SlackError("message_not_found")
    ws.deleted.append(stored)
    return {"channel": stored["channel"], "ts": stored["ts"]}


def post_to_response_url(ws: Workspace, call: Call, token: str, body: bytes) -> dict[str, Any]:
    """A POST to a response_url (JSON, or form-encoded ``payload=<json>``): at most 5 uses; the
    message is checked like chat.postMessage's. Its payload becomes the call's arguments."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        # Slack also accepts form-encoded ``payload=<json>``.
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        try:
            payload = json.loads(form.get("payload", "null"))
        except ValueError:
            payload = None
    if not isinstance(payload, dict):
        raise SlackError("invalid_payload", status=400)
    call.params = payload
    call.json_body = payload
    uses = ws.response_url_uses.get(token, 0) + 1
    ws.response_url_uses[token] = uses
    if uses > MAX_RESPONSE_URL_USES:
        raise SlackError("used_url", status=404)
    if "blocks" in payload:
        problems = blockkit.check_blocks(payload["blocks"])
        if problems:
            raise SlackError("invalid_blocks", status=400, violation="; ".join(problems), content=True)
    text = payload.get("text")
    if isinstance(text, str) and len(text) > blockkit.MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long", status=400, violation=f"text exceeds {blockkit.MAX_MESSAGE_TEXT} characters",
                         content=True)
    return {"ok": True}
