"""Events API listeners: the App Home."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.homes import publish_home
from handlers.context import deps_of


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)


def home_opened(event, body, context):
    """Publish the person's Home off the request path (Bolt acks events for us). A retried
    delivery publishes the same view again: harmless."""
    if event.get("tab") not in (None, "home"):
        return  # the Messages tab
    d = deps_of(context)
    team_id = body.get("team_id") or context.team_id
    d.work.submit(publish_home, d, team_id, event.get("user"), opened=True)
