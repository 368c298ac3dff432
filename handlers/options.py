"""External select options: skills from the directory as the AE types."""

from __future__ import annotations

from slack_bolt import App

from bot.services import skills
from bot.slack.blocks.request_modal import skill_option
from bot.slack.ids import Action
from handlers.context import deps_of

MAX_OPTIONS = 100  # Slack's limit per options response


def register(app: App) -> None:
    app.options(Action.SKILL_SELECT.value)(skill_options)


def skill_options(ack, payload, context):
    query = str(payload.get("value") or "")[:60]
    with deps_of(context).db.session() as session:
        names = skills.known_skills(session, query=query, limit=MAX_OPTIONS, with_experts_only=True)
    ack(options=[skill_option(name).to_dict() for name in names])
