"""Bolt listeners: thin Slack glue. Ack first, parse, call a service or a flow, reply."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    from handlers import actions, commands, events, options, views

    commands.register(app)
    actions.register(app)
    views.register(app)
    options.register(app)
    events.register(app)
