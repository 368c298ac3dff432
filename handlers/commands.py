"""`/presales [subcommand]`: ack, route, answer ephemerally (or open a modal)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from slack_bolt import App

from bot import clock
from bot.config import parse_duration
from bot.deps import Deps
from bot.errors import InvalidInput
from bot.flows import digests, lifecycle
from bot.flows.people import timezone_of
from bot.services import briefs, dates, digest, directory, people, stats
from bot.services import requests as requests_service
from bot.services.fields import storable
from bot.services.prefill import Prefill, parse_prefill
from bot.services.skills import (
    format_skill_list,
    known_skills,
    normalize_skill,
    parse_skill_list,
)
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import forms, replies, request_modal
from bot.slack.payloads import (
    Caller,
    parse_request_value,
    request_metadata,
    request_modal_metadata,
)
from bot.slack.text import escape, format_when
from bot.work import within
from handlers.context import answer, deps_of

COMMAND = "/presales"
PREFILL_BUDGET_S = 1.5  # the trigger_id dies ~3 s after the click
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class Cmd:
    deps: Deps
    caller: Caller
    args: str
    trigger_id: str
    respond: Callable
    acked: float  # time.monotonic() at the ack: the trigger_id's clock

    def reply(self, reply: tuple[str, list[dict]]) -> None:
        answer(self.deps, self.respond, self.caller, reply)

    def say(self, text: str) -> None:
        self.reply(replies.text_reply(text))

    def session(self):
        return self.deps.db.session()

    @property
    def admins(self) -> frozenset[str]:
        return self.deps.settings.admins


def register(app: App) -> None:
    app.command(COMMAND)(presales)


def presales(ack, command, respond, context):
    """Ack at once; everything else runs on the reply pool (see handlers.context.after_ack)."""
    ack()
    acked = time.monotonic()
    deps = deps_of(context)
    # On the urgent pool: several subcommands open a modal with the trigger_id (3 s from the click).
    deps.after_ack(command, respond, route, deps, command, respond, acked, log_fields=context.get("log_fields"),
                   urgent=True)


def route(deps: Deps, command: dict, respond, acked: float | None = None) -> None:
    caller = Caller(team_id=command.get("team_id", ""), user_id=command.get("user_id", ""),
                    channel_id=command.get("channel_id"))
    text = storable(command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    cmd = Cmd(deps, caller, rest.strip(), command.get("trigger_id", ""), respond, acked or time.monotonic())
    handler = SUBCOMMANDS.get(word.lower())
    if handler is not None:
        handler(cmd)
    else:
        open_request_form(cmd, text)


# ------------------------------------------------------------------ requests


def open_request_form(cmd: Cmd, text: str) -> None:
    d, caller = cmd.deps, cmd.caller

    def prepare() -> tuple[Prefill | None, str | None]:
        tz = timezone_of(d, caller.team_id, caller.user_id)
        with d.db.read() as session:
            skills = known_skills(session, limit=10_000)
        return parse_prefill(text, known_skills=skills, tz=tz, now=clock.now()), tz

    # The budget counts from the ack, not from now: time spent queued under load comes out of
    # the pre-fill, never out of the 3 s Slack gives the trigger_id.
    budget = PREFILL_BUDGET_S - (time.monotonic() - cmd.acked)
    prefill, tz = within(budget, prepare, (None, None)) if budget > 0.05 else (None, None)
    if prefill is None:  # the database was too slow for the trigger_id: an empty form, now
        prefill = Prefill()
    elif text and not (prefill.kind or prefill.skills or prefill.account or prefill.when):
        cmd.reply(replies.help_reply(stats_days=d.settings.stats_period.days, unknown=text.split()[0]))
        return
    view = request_modal.build(prefill, private_metadata=request_modal_metadata(caller.channel_id), tz_label=tz,
                               brief_kinds=d.settings.brief_required_for)
    opened = d.notifier.open_view(cmd.trigger_id, view)
    if not opened.ok:
        cmd.say(f"Slack did not open the form ({opened.error}). Please run `/presales` again.")


def list_open(cmd: Cmd) -> None:
    tz = timezone_of(cmd.deps, cmd.caller.team_id, cmd.caller.user_id)
    with cmd.deps.db.read() as session:
        rows, total = requests_service.list_open(session, team_id=cmd.caller.team_id)
        reply = replies.open_requests_reply(rows, total, tz=tz)
    cmd.reply(reply)  # Slack calls never inside a transaction


def cancel(cmd: Cmd) -> None:
    if not cmd.args:
        raise InvalidInput("Which request? `/presales cancel 42` (the number is in the request's messages).")
    request_id = parse_request_value(cmd.args.lstrip("#").split()[0])
    with cmd.session() as session:
        request = requests_service.cancel(session, request_id=request_id, team_id=cmd.caller.team_id,
                                          actor_user_id=cmd.caller.user_id, policy=cmd.deps.policy, now=clock.now())
    cmd.deps.work.submit(lifecycle.after_cancel, cmd.deps, request.id)
    cmd.say(f"Request #{request.id} is cancelled; the experts who were asked are being told.")


def reschedule(cmd: Cmd) -> None:
    ident, _, when_text = cmd.args.partition(" ")
    if not ident or not when_text.strip():
        raise InvalidInput("Which request, and when? `/presales reschedule 42 Thu 3pm`")
    request_id = parse_request_value(ident.lstrip("#"))
    tz = timezone_of(cmd.deps, cmd.caller.team_id, cmd.caller.user_id)
    now = clock.now()
    parsed = dates.parse_when(when_text, tz=tz, now=now)
    with cmd.session() as session:
        request = requests_service.reschedule(session, request_id=request_id, team_id=cmd.caller.team_id,
                                              actor_user_id=cmd.caller.user_id, when=parsed.at,
                                              max_lead=cmd.deps.settings.max_lead, policy=cmd.deps.policy, now=now)
    cmd.deps.work.submit(lifecycle.after_reschedule, cmd.deps, request.id)
    cmd.say(f"Request #{request.id} moved to {format_when(parsed.at, tz)}; reminders and escalation moved with it.")


def brief(cmd: Cmd) -> None:
    if not cmd.args.strip():
        raise InvalidInput("Which request? `/presales brief 42`")
    request_id = parse_request_value(cmd.args.strip().lstrip("#").split()[0])
    with cmd.session() as session:
        request = requests_service.get(session, request_id=request_id, team_id=cmd.caller.team_id)
        briefs.check_editable(session, request=request, user_id=cmd.caller.user_id, policy=cmd.deps.policy,
                              now=clock.now())
        current = briefs.get(session, request_id=request.id)
    opened = cmd.deps.notifier.open_view(cmd.trigger_id, brief_ui.modal(request, current,
                                                                        private_metadata=request_metadata(request.id)))
    if not opened.ok:
        cmd.say(f"Slack did not open the form ({opened.error}). Please run `/presales brief {request_id}` again.")


# ------------------------------------------------------------------ directory


def _one_mention(text: str, usage: str) -> tuple[str, str]:
    match = _MENTION.search(text or "")
    if not match:
        raise InvalidInput(f"Mention the person with @ so Slack links them: `{usage}`")
    return match.group(1), (text[: match.start()] + text[match.end():]).strip()


def expert(cmd: Cmd) -> None:
    action, _, rest = cmd.args.partition(" ")
    usage = "/presales expert add @someone kubernetes:expert, security"
    if action.lower() not in ("add", "remove", "rm"):
        raise InvalidInput(f"Use `{usage}` or `/presales expert remove @someone`.")
    user_id, skills_text = _one_mention(rest, usage)
    with cmd.session() as session:
        people.require_manager(session, team_id=cmd.caller.team_id, user_id=cmd.caller.user_id, admins=cmd.admins)
        if action.lower() == "add":
            skills = parse_skill_list(skills_text)
            directory.set_expert(session, team_id=cmd.caller.team_id, user_id=user_id, skills=skills, now=clock.now())
            listed = format_skill_list((n, l.value) for n, l in skills)
            message = f"<@{user_id}> is in the expert directory with: {escape(listed)}."
        else:
            directory.remove_expert(session, team_id=cmd.caller.team_id, user_id=user_id, now=clock.now())
            message = f"<@{user_id}> is no longer in the expert directory. Their history stays in the figures."
    cmd.say(message)


def manager(cmd: Cmd) -> None:
    action, _, rest = cmd.args.partition(" ")
    if action.lower() not in ("add", "remove", "rm"):
        raise InvalidInput("Use `/presales manager add @someone` or `/presales manager remove @someone`.")
    user_id, _ = _one_mention(rest, "/presales manager add @someone")
    with cmd.session() as session:
        people.set_manager(session, team_id=cmd.caller.team_id, actor_user_id=cmd.caller.user_id, user_id=user_id,
                              admins=cmd.admins, grant=action.lower() == "add", now=clock.now())
    cmd.say(f"<@{user_id}> {'is now a manager' if action.lower() == 'add' else 'is no longer a manager'}.")


def show_directory(cmd: Cmd) -> None:
    tz = timezone_of(cmd.deps, cmd.caller.team_id, cmd.caller.user_id)
    skill = cmd.args.strip() or None
    with cmd.deps.db.read() as session:
        entries = directory.directory(session, team_id=cmd.caller.team_id, skill=skill, now=clock.now())
        reply = replies.directory_reply(entries, skill=skill and normalize_skill(skill), tz=tz)
    cmd.reply(reply)


def skills(cmd: Cmd) -> None:
    with cmd.deps.db.read() as session:
        entry = directory.own_entry(session, team_id=cmd.caller.team_id, user_id=cmd.caller.user_id,
                                    default_hours=cmd.deps.policy.hours)
    opened = cmd.deps.notifier.open_view(cmd.trigger_id, forms.own_entry_modal(entry))
    if not opened.ok:
        cmd.say(f"Slack did not open the form ({opened.error}). Please run `/presales skills` again.")


def away(cmd: Cmd) -> None:
    tz = timezone_of(cmd.deps, cmd.caller.team_id, cmd.caller.user_id)
    now = clock.now()
    parsed = dates.parse_when(cmd.args, tz=tz, now=now)
    until = parsed.at if parsed.has_time else dates.end_of_day(parsed.at, tz)
    with cmd.session() as session:
        people.set_away(session, team_id=cmd.caller.team_id, user_id=cmd.caller.user_id, until=until, now=now)
    cmd.say(f"You are away until {format_when(until, tz)}. No requests will reach you until then. "
            "`/presales back` ends it early.")


def back(cmd: Cmd) -> None:
    with cmd.session() as session:
        people.set_back(session, team_id=cmd.caller.team_id, user_id=cmd.caller.user_id, now=clock.now())
    cmd.say("Welcome back: you will get requests again.")


# ------------------------------------------------------------------ figures


def show_stats(cmd: Cmd) -> None:
    d, caller = cmd.deps, cmd.caller
    period = d.settings.stats_period
    target, rest = (None, cmd.args)
    if _MENTION.search(cmd.args):
        target, rest = _one_mention(cmd.args, "/presales stats @someone")
    if rest.strip():
        try:
            period = parse_duration(rest.strip())
        except ValueError:
            raise InvalidInput("Give a period like `7d` or `30d`: `/presales stats [@someone] [30d]`.") from None
        period = min(period, timedelta(days=366))
    until = clock.now() + timedelta(seconds=1)  # "now" included
    since = until - period
    tz = timezone_of(d, caller.team_id, caller.user_id)
    with d.db.read() as session:
        view = stats.for_viewer(session, team_id=caller.team_id, viewer_user_id=caller.user_id, target_user_id=target,
                                admins=cmd.admins, since=since, until=until)
        reply = replies.stats_reply(team=view.team, rows=view.rows, single=view.single, since=since, until=until, tz=tz)
    cmd.reply(reply)


def send_digest(cmd: Cmd) -> None:
    d, caller = cmd.deps, cmd.caller
    with cmd.session() as session:
        people.require_manager(session, team_id=caller.team_id, user_id=caller.user_id, admins=cmd.admins)
        person = people.ensure_person(session, team_id=caller.team_id, user_id=caller.user_id, now=clock.now())
    tz = timezone_of(d, caller.team_id, caller.user_id)
    week = digest.parse_week(cmd.args or "last", tz=tz, now=clock.now())
    d.work.submit(digests.send_digest, d, person, week)
    cmd.say(f"The digest for {week.label} is on its way to your DM.")


def selftest(cmd: Cmd) -> None:
    with cmd.session() as session:
        request = requests_service.create_selftest(session, team_id=cmd.caller.team_id,
                                                   admin_user_id=cmd.caller.user_id,
                                                   channel_id=cmd.caller.channel_id or cmd.caller.user_id,
                                                   policy=cmd.deps.policy, now=clock.now())
    cmd.deps.work.submit(lifecycle.after_create, cmd.deps, request.id)
    cmd.say(f"Self-test #{request.id} is on its way to your DM: claim it to see the whole path work. "
            "It is not counted in any figure.")


def show_help(cmd: Cmd) -> None:
    cmd.reply(replies.help_reply(stats_days=cmd.deps.settings.stats_period.days))


SUBCOMMANDS: dict[str, Callable[[Cmd], None]] = {
    "help": show_help,
    "list": list_open,
    "cancel": cancel,
    "reschedule": reschedule,
    "move": reschedule,
    "brief": brief,
    "expert": expert,
    "experts": expert,
    "manager": manager,
    "directory": show_directory,
    "skills": skills,
    "away": away,
    "back": back,
    "stats": show_stats,
    "digest": send_digest,
    "selftest": selftest,
}
