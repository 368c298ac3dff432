"""Events API listeners."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    # App Home arrives with the managers' digest issue; until then the Home tab's
    # "Messages" view is where the app's DMs live. Ack so Slack does not retry.
    app.event("app_home_opened")(lambda ack: ack())
