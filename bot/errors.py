"""Domain errors people can read.

Services raise these; the one error handler (bot/app.py) turns them into an
ephemeral message or inline modal errors. Their text is written for the user.
``explain()`` turns any exception into what a person reads.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)


def quote(text: str | None, limit: int = 40) -> str:
    """User text inside an error message: clipped, and with &, <, > escaped (Slack mrkdwn),
    so an error can never ping `<!here>` or fake a mention."""
    value = (text or "").strip()
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PresalesError(Exception):
    """Base class: ``str(exc)`` is safe to show to the user."""


class InvalidInput(PresalesError):
    """Bad input; ``fields`` maps a modal block_id (or a CLI/command field) to a message."""

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(message or "; ".join(self.fields.values()) or "That input is not valid.")


class NotFound(PresalesError):
    pass


class NotAllowed(PresalesError):
    pass


class Conflict(PresalesError):
    """The thing moved on (already claimed, cancelled, ...)."""


def explain(error: Exception) -> tuple[str, str | None]:
    """(what the person reads, a reference id for unknown errors — logged with it)."""
    if isinstance(error, PresalesError):
        return str(error), None
    if isinstance(error, (OperationalError, PoolTimeout)):
        log.warning("database error: %s", type(error).__name__)
        return "The database is not answering right now. Nothing was saved; please try again in a minute.", None
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error ref=%s type=%s", ref, type(error).__name__, exc_info=error)
    return f"Something went wrong on our side (ref `{ref}`). Nothing was lost; please try again.", ref
