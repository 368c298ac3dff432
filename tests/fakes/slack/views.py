"""Modals and Homes: views.open, views.push, views.update, views.publish. A modal needs a
fresh trigger_id (used once, within 3 s); every view is checked against Block Kit
(``blockkit.check_view``) before it is kept; updates may be guarded by the view's hash.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.slack import blockkit
from tests.fakes.slack.call import Call, SlackError, error_metadata, is_missing, json_value
from tests.fakes.slack.workspace import APP_ID, BOT_ID, TEAM_ID, Workspace


def _view_argument(call: Call, expected_type: str | None) -> dict[str, Any]:
    raw = call.params.get("view")
    try:
        view = json_value(raw)
    except (ValueError, TypeError):
        view = raw
    problems = blockkit.check_view(view, expected_type=expected_type)
    if problems:
        raise SlackError("invalid_arguments", violation="; ".join(problems), content=True,
                         response_metadata=error_metadata(problems))
    return copy.deepcopy(view)


def _store_view(ws: Workspace, view: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the view object Slack answers with, and keep it."""
    view_id = existing["id"] if existing else ws.new_id("V")
    stored: dict[str, Any] = {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": view.get("type"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": ws.new_hash(),
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": existing.get("previous_view_id") if existing else None,
        "root_view_id": existing["root_view_id"] if existing else view_id,
        "app_id": APP_ID,
        "external_id": view.get("external_id", existing.get("external_id", "") if existing else ""),
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }
    for key, value in view.items():  # echo anything else the app sent (submit_disabled...)
        stored.setdefault(key, value)
    ws.views_by_id[view_id] = stored
    return stored


def views_open(ws: Workspace, call: Call) -> dict[str, Any]:
    ws.consume_trigger(str(call.params.get("trigger_id")))
    stored = _store_view(ws, _view_argument(call, "modal"))
    ws.opened.append(stored)
    return {"view": stored}


def views_push(ws: Workspace, call: Call) -> dict[str, Any]:
    ws.consume_trigger(str(call.params.get("trigger_id")))
    stored = _store_view(ws, _view_argument(call, "modal"))
    ws.pushed.append(stored)
    return {"view": stored}


def _view_to_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    existing: dict[str, Any] | None = None
    if not is_missing(params.get("view_id")):
        existing = ws.views_by_id.get(params["view_id"])
    elif not is_missing(params.get("external_id")):
        existing = next((v for v in ws.views_by_id.values() if v.get("external_id") == params["external_id"]), None)
    if existing is None:
        raise SlackError("not_found")
    if not is_missing(params.get("hash")) and params["hash"] != existing["hash"]:
        raise SlackError("hash_conflict")
    return existing


def views_update(ws: Workspace, call: Call) -> dict[str, Any]:
    existing = _view_to_update(ws, call.params)
    stored = _store_view(ws, _view_argument(call, existing["type"]), existing)
    owner = ws.home_owner.get(stored["id"])
    if owner is not None:
        ws.homes[owner] = stored
    return {"view": stored}


def views_publish(ws: Workspace, call: Call) -> dict[str, Any]:
    params = call.params
    user_id = str(params.get("user_id"))
    user = ws.users.get(user_id)
    if (user is None and ws.strict_users) or (user is not None and user.deleted):
        raise SlackError("user_not_found")
    existing = ws.homes.get(user_id)
    if existing is not None and not is_missing(params.get("hash")) and params["hash"] != existing["hash"]:
        raise SlackError("hash_conflict")
    stored = _store_view(ws, _view_argument(call, "home"), existing)
    ws.homes[user_id] = stored
    ws.home_owner[stored["id"]] = user_id
    return {"view": stored}
