"""Domain errors people can read.

Services raise these; the one error handler (bot/app.py) turns them into an
ephemeral message or inline modal errors. Their text is written for the user.
"""

from __future__ import annotations


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
