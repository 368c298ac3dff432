"""One request the fake received (:class:`Call`), the error a Web API method answers with
(:class:`SlackError`), and how arguments arrive (form fields carry JSON as strings)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass
class Call:
    """One request the fake received (recorded whatever the outcome)."""

    method: str  # Web API method, or "response_url" / "upload"
    params: dict[str, Any]  # query + form + JSON body merged (form JSON fields stay strings)
    json_body: dict[str, Any] | None  # the parsed body when it was JSON
    headers: dict[str, str]  # lower-cased header names
    token: str | None  # from "Authorization: Bearer" or the token argument
    at: float  # time.monotonic() when the request arrived
    outcome: str = "ok"  # "ok", "error:<code>", or an HTTP status such as "429", "500", "404"
    status: int = 200  # HTTP status answered
    path: str = ""  # request path, e.g. "/api/chat.postMessage"
    response: Any = None  # parsed JSON the fake answered (None for non-JSON bodies)


class SlackError(Exception):
    """Raised by a method to answer ``{"ok": false, "error": code, **extra}`` (HTTP ``status``:
    200 for the Web API, 400 / 404 from a response_url).

    ``violation``: what the app did wrong, recorded in ``fake.violations`` (prefixed with the
    method); ``content=True`` marks a Block Kit / message-content problem, which
    ``fake.expect_invalid`` answers without recording."""

    def __init__(self, error: str, *, status: int = 200, violation: str | None = None, content: bool = False,
                 **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.violation = violation
        self.content = content
        self.extra = extra


def error_metadata(problems: list[str]) -> dict[str, Any]:
    """Slack's ``response_metadata`` listing what is wrong with a call."""
    return {"messages": [f"[ERROR] {p}" for p in problems]}


def json_value(value: Any) -> Any:
    """Form fields carry JSON as strings; JSON bodies carry native values."""
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def is_missing(value: Any) -> bool:
    return value is None or value == ""


def without_token(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "token"}


def truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")
