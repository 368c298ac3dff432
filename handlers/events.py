"""Events API listeners: the App Home, and what Slack tells about people's availability."""

from __future__ import annotations

from slack_bolt import App

from bot.flows import people
from bot.flows.homes import publish_home
from handlers.context import deps_of


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.event("user_change")(user_changed)
    app.event("dnd_updated_user")(dnd_updated)


def user_changed(event, context):
    """A profile or status changed (out of office, back): stored off the request path. A retried
    delivery stores the same values again: harmless."""
    user = event.get("user")
    if isinstance(user, dict):
        d = deps_of(context)
        d.work.submit(people.user_changed, d, user)


def dnd_updated(event, context):
    user_id, status = event.get("user"), event.get("dnd_status")
    if isinstance(user_id, str) and isinstance(status, dict):
        d = deps_of(context)
        d.work.submit(people.dnd_changed, d, user_id, status)


def home_opened(event, body, context):
    """Publish the person's Home off the request path (Bolt acks events for us). A retried
    delivery publishes the same view again: harmless."""
    if event.get("tab") not in (None, "home"):
        return  # the Messages tab
    d = deps_of(context)
    team_id = body.get("team_id") or context.team_id
    d.work.submit(publish_home, d, team_id, event.get("user"), opened=True)
