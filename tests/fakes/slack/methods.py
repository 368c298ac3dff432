"""The Web API methods the fake implements, listed in :data:`METHODS`, one function each:
Slack's answers about the workspace and the token, conversations, users and file uploads here,
messages in ``messages.py``, modals and Homes in ``views.py``.

Each takes the :class:`~tests.fakes.slack.workspace.Workspace` and the :class:`Call` (its
arguments already checked against the spec) and returns the fields of Slack's ``ok: true``
answer, or raises :class:`SlackError` with the error Slack gives.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from tests.fakes.slack import messages, views
from tests.fakes.slack.call import Call, SlackError, is_missing, json_value, truthy, without_token
from tests.fakes.slack.workspace import BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, TEAM_NAME, Workspace, user_object

Method = Callable[[Workspace, Call], dict[str, Any]]


# ---------------------------------------------------------------- workspace and token


def api_test(ws: Workspace, call: Call) -> dict[str, Any]:
    args = without_token(call.params)
    if args.get("error"):
        raise SlackError(str(args["error"]), args=args)
    return {"args": args}


def auth_test(ws: Workspace, call: Call) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "presales-bot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


# ---------------------------------------------------------------- conversations


def _user_ids(users: Any) -> list[str]:
    """``users`` as a comma-separated string or a JSON list."""
    return [u.strip() for u in (users if isinstance(users, list) else str(users).split(",")) if u.strip()]


def _already_open(ws: Workspace, channel: str) -> dict[str, Any]:
    if channel in ws.dm_users or channel in ws.mpims.values() or channel in ws.open_conversations:
        return {"channel": {"id": channel}, "no_op": True, "already_open": True}
    raise SlackError("channel_not_found")


def conversations_open(ws: Workspace, call: Call) -> dict[str, Any]:
    params = call.params
    if not is_missing(params.get("channel")):
        return _already_open(ws, params["channel"])
    user_ids = _user_ids(params.get("users") or "")
    if not user_ids:
        raise SlackError("users_list_not_supplied")
    if len(user_ids) > 8:
        raise SlackError("too_many_users")
    for user_id in user_ids:
        user = ws.users.get(user_id)
        if user is None and ws.strict_users:
            raise SlackError("user_not_found")
        if user is not None and user.deleted:
            raise SlackError("user_disabled")
    if len(user_ids) == 1:
        channel_id = ws.dm_for(user_ids[0])
    else:
        channel_id = ws.mpims.setdefault(tuple(sorted(set(user_ids))), ws.new_id("G"))
    answer: dict[str, Any] = {"channel": {"id": channel_id}}
    if channel_id in ws.open_conversations:
        answer.update(no_op=True, already_open=True)
    ws.open_conversations.add(channel_id)
    if truthy(params.get("return_im")):
        answer["channel"].update(
            is_im=len(user_ids) == 1,
            is_mpim=len(user_ids) > 1,
            created=int(time.time()),
            is_open=True,
            **({"user": user_ids[0]} if len(user_ids) == 1 else {}),
        )
    return answer


# ---------------------------------------------------------------- users


def users_info(ws: Workspace, call: Call) -> dict[str, Any]:
    user = ws.users.get(str(call.params.get("user")))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user_object(user)}


def dnd_info(ws: Workspace, call: Call) -> dict[str, Any]:
    user = ws.users.get(str(call.params.get("user")))
    if user is None:
        raise SlackError("user_not_found")
    off = {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1, "snooze_enabled": False}
    return {**off, **(user.dnd or {})}


def users_lookup_by_email(ws: Workspace, call: Call) -> dict[str, Any]:
    email = str(call.params.get("email", "")).lower()
    for user in ws.users.values():
        if user.email and user.email.lower() == email:
            return {"user": user_object(user)}
    raise SlackError("users_not_found")


# ---------------------------------------------------------------- files (upload v2: URL, upload, complete)


def files_get_upload_url(ws: Workspace, call: Call) -> dict[str, Any]:
    try:
        length = int(call.params.get("length"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments") from None
    file_id = ws.new_id("F")
    ws.files[file_id] = {
        "filename": call.params.get("filename"),
        "length": length,
        "data": None,
        "uploaded": False,
        "completed": False,
    }
    return {"upload_url": f"{ws.base_url}/upload/{file_id}", "file_id": file_id}


def _complete_file(ws: Workspace, call: Call, entry: Any, channel_id: str | None) -> dict[str, Any]:
    """One entry of ``files``: marked completed; what Slack answers about it."""
    file_id = entry.get("id") if isinstance(entry, dict) else None
    upload = ws.files.get(str(file_id))
    if upload is None or not upload["uploaded"]:
        raise SlackError("file_not_found")
    title = entry.get("title") or upload["filename"]
    ws.files[str(file_id)] = {
        **upload,
        "completed": True,
        "title": title,
        "channel_id": channel_id,
        "initial_comment": call.params.get("initial_comment"),
        "thread_ts": call.params.get("thread_ts"),
    }
    return {
        "id": file_id,
        "name": upload["filename"],
        "title": title,
        "size": len(upload["data"] or b""),
        "channels": [channel_id] if channel_id else [],
    }


def files_complete_upload(ws: Workspace, call: Call) -> dict[str, Any]:
    try:
        files = json_value(call.params.get("files"))
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if not isinstance(files, list) or not files:
        raise SlackError("invalid_arguments")
    channel_id = call.params.get("channel_id") or None
    return {"files": [_complete_file(ws, call, entry, channel_id) for entry in files]}


def upload_file(ws: Workspace, file_id: str, body: bytes) -> tuple[int, str]:
    """A POST to an upload URL (step 2 of files upload v2): the file's bytes; (status, text)."""
    upload = ws.files.get(file_id)
    if upload is None:
        return 404, "Not Found"
    ws.files[file_id] = {**upload, "data": body, "uploaded": True}
    return 200, f"OK - {len(body)}"


METHODS: dict[str, Method] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "chat.postMessage": messages.chat_post_message,
    "chat.update": messages.chat_update,
    "chat.postEphemeral": messages.chat_post_ephemeral,
    "chat.delete": messages.chat_delete,
    "conversations.open": conversations_open,
    "views.open": views.views_open,
    "views.update": views.views_update,
    "views.push": views.views_push,
    "views.publish": views.views_publish,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "dnd.info": dnd_info,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
}
