"""The permissions matrix: every `/presales` subcommand, every button and every modal submission
that acts on something, for every kind of person -> allowed (with its visible effect) or a clear
refusal that shows the refused person nothing of the request.

RELIABILITY cases covered:
- 11: button values and private_metadata carry an opaque id only; a tampered id (another
  workspace's request, an unknown id, SQL metacharacters) is "not found / not allowed" and shows
  no data of any request (``test_tampered_ids_show_nothing``);
- 12: a claim (and decline, release, snooze, follow-up) from someone the request was not offered to,
  with a valid signature, is refused;
- 13: a payload whose team_id is another workspace (with the very same user ids as the admin, the
  AE and the expert of this one) can neither read nor change this workspace's requests, people
  or directory;
- 17: manager and admin commands (expert add/remove, manager add/remove, digest, someone else's
  stats) enforce the role: a non-manager gets "Only managers/admins" and no data.

One parametrized test runs the whole table: each row builds a small world (an AE's demo request
with a brief for "Zanzibar Quantum Holdings", offered to the kubernetes expert E1 and not to the
security expert E2; claimed by E1, or reminded an hour before the meeting, when the row needs it),
lets one person do one thing over signed HTTP, and checks the outcome:

- allowed: the row's effect is visible (state changed, modal opened, answer given);
- refused: the expected refusal text reached the person, nothing changed, and nothing they saw
  (ephemeral answers, DMs, opened/pushed modals, the HTTP answer) names the account, the
  description or the brief;
- another workspace: additionally, this workspace's state is byte-for-byte what it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import pytest
from sqlalchemy import select

from bot import clock
from bot.flows import lifecycle
from bot.services import briefs
from bot.services import people
from bot.services.people import DEFAULT_CAPACITY
from bot.services.skills import existing_skills
from bot.services import requests as requests_service
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import request_modal
from bot.slack.ids import Action, Block, Field, View
from models import Brief, BriefEdit, DueNotice, ExpertSkill, FollowUp, Offer, Person, Request, RequestStatus, Skill
from tests.fakes import signing
from tests.fakes.signing import Reply
from tests.harness import ADMIN, AE, TEAM, Harness

OTHER_TEAM = "T0OTHER"
MANAGER = "U0MGR"
E1 = "U0EXP1"  # kubernetes: offered the request
E2 = "U0EXP2"  # security only: never offered it
STRANGER = "U0STRANGER"
NEWBIE = "U0NEWBIE"  # the person managers add to the directory / make a manager

ACCOUNT = "Zanzibar Quantum Holdings"
DESCRIPTION = "Walk them through the confidential ledger migration"
PROBLEM = "Their nightly settlement batch overruns by four hours; they hope it finishes before the open."
NEW_PROBLEM = "Edited: the settlement batch now overruns by six hours and the regulator noticed it."
DATA = (ACCOUNT, DESCRIPTION, PROBLEM, "Zanzibar", "ledger migration", "settlement batch")

ROLES: dict[str, tuple[str, str]] = {
    "admin": (ADMIN, TEAM),
    "manager": (MANAGER, TEAM),
    "expert_offered": (E1, TEAM),
    "expert_not_offered": (E2, TEAM),
    "ae": (AE, TEAM),
    "stranger": (STRANGER, TEAM),
    "other_ws_admin": (ADMIN, OTHER_TEAM),  # same user ids, another workspace
    "other_ws_ae": (AE, OTHER_TEAM),
    "other_ws_expert": (E1, OTHER_TEAM),
}
HERE = ("admin", "manager", "expert_offered", "expert_not_offered", "ae", "stranger")
OTHER = ("other_ws_admin", "other_ws_ae", "other_ws_expert")
OK = "ok"

NOT_FOUND = "does not exist"
OWNER_OR_MANAGER = "Only the requester or a manager"
NOT_OFFERED = "not offered to you"
ONLY_MANAGERS = "Only managers"
ONLY_ADMINS = "Only admins"
ONLY_EXPERTS = "Only experts in the directory"


# ---------------------------------------------------------------------------- the world


@dataclass
class World:
    request_id: int
    meeting_at: datetime
    notice_id: int | None = None


def build_world(h: Harness, state: str) -> World:
    """state: "open" (offered to E1), "claimed" (by E1), "reminded" (claimed, the 24h reminders sent)."""
    for user in (AE, STRANGER, MANAGER, ADMIN):
        h.person(user)
    h.expert(E1, "kubernetes:expert")
    h.expert(E2, "security:expert")
    with h.db.session() as session:
        people.set_manager(session, team_id=TEAM, actor_user_id=ADMIN, user_id=MANAGER, admins=frozenset({ADMIN}),
                              grant=True, now=clock.now())
    request = _create_request(h)
    assert request.account == ACCOUNT and request.status == RequestStatus.OPEN
    assert h.offer(request.id, E1) is not None and h.offer(request.id, E2) is None
    world = World(request.id, request.meeting_at)
    if state in ("claimed", "reminded"):
        h.click(E1, Action.CLAIM, request.id)
        assert h.last_request().status == RequestStatus.CLAIMED
    if state == "reminded":
        h.at(request.meeting_at - timedelta(hours=24))
        h.tick()
        notice = next(n for n in h.notices(request.id)
                      if n.kind == "reminder" and n.recipient.slack_user_id == E1 and n.state == "sent")
        world.notice_id = notice.id
    h.drain()
    return world


def _create_request(h: Harness) -> Request:
    """The AE's demo request with its brief, stored and broadcast by the same services and flow the
    request modal's submission uses (handlers/views.py), without the HTTP round trips: the matrix
    has hundreds of rows and each needs a fresh world."""
    now = clock.now()
    values = h.request_values(account=ACCOUNT, description=DESCRIPTION, brief={"problem": PROBLEM})
    with h.db.session() as session:
        draft = requests_service.validate(request_modal.read(values), now=now, max_lead=h.settings.max_lead,
                                          known_skills=existing_skills(session, ["kubernetes"]))
        clean = briefs.validate(brief_ui.read(values), meeting_at=draft.meeting_at, tz=None, now=now)
        created = requests_service.create(session, team_id=TEAM, requester_user_id=AE, channel_id="C0DEAL",
                                          draft=draft, source_key=None, policy=h.deps.policy, now=now, brief=clean)
    lifecycle.after_create(h.deps, created.request.id)
    h.drain()
    return h.last_request()


def state_of(h: Harness, team: str) -> dict:
    """Everything about ``team`` that a permission could protect (people with any role or skill,
    requests, offers, briefs, notices, follow-ups). Plain column reads, no ORM objects: the matrix
    takes this snapshot about a thousand times."""
    with h.db.read() as s:
        skills: dict[int, list] = {}
        for person_id, name, level in s.execute(
                select(ExpertSkill.person_id, Skill.name, ExpertSkill.level).join(Skill, Skill.id == ExpertSkill.skill_id)
                .join(Person, Person.id == ExpertSkill.person_id).where(Person.team_id == team)):
            skills.setdefault(person_id, []).append((name, level))
        people = {}
        for pid, user, *row in s.execute(select(Person.id, Person.slack_user_id, Person.is_manager, Person.is_expert,
                                                Person.away_until, Person.max_concurrent).where(Person.team_id == team)):
            row = (*row, tuple(sorted(skills.get(pid, ()))))
            if row != (False, False, None, DEFAULT_CAPACITY, ()):  # first sight creates a bare row
                people[user] = tuple(row)
        requests = [tuple(r) for r in s.execute(
            select(Request.id, Request.status, Request.meeting_at, Request.needed_by, Request.claimed_by_id,
                   Request.cancelled_at).where(Request.team_id == team).order_by(Request.id))]
        ids = [r[0] for r in requests] or [-1]
        offers = [tuple(o) for o in s.execute(
            select(Offer.id, Offer.expert_id, Offer.response, Offer.responded_at, Offer.claimed_at, Offer.decline_reason)
            .where(Offer.request_id.in_(ids)).order_by(Offer.id))]
        briefs = [tuple(b) for b in s.execute(
            select(Brief.id, Brief.problem, Brief.show, Brief.decision, Brief.updated_at)
            .where(Brief.request_id.in_(ids)).order_by(Brief.id))]
        edits = list(s.scalars(select(BriefEdit.id).join(Brief, Brief.id == BriefEdit.brief_id)
                               .where(Brief.request_id.in_(ids)).order_by(BriefEdit.id)))
        notices = [tuple(n) for n in s.execute(
            select(DueNotice.id, DueNotice.kind, DueNotice.slot, DueNotice.state, DueNotice.due_at)
            .where(DueNotice.request_id.in_(ids)).order_by(DueNotice.id))]
        followups = [tuple(f) for f in s.execute(
            select(FollowUp.id, FollowUp.person_id, FollowUp.role).where(FollowUp.request_id.in_(ids))
            .order_by(FollowUp.id))]
    return dict(people=people, requests=requests, offers=offers, briefs=briefs, edits=edits, notices=notices,
                followups=followups)


# ---------------------------------------------------------------------------- one interaction


@dataclass
class Ctx:
    h: Harness
    world: World
    role: str
    user: str
    team: str
    mark: int = 0
    reply: Reply | None = None

    @property
    def rid(self) -> int:
        return self.world.request_id

    @property
    def new_calls(self):
        return self.h.slack.calls[self.mark:]

    def seen(self) -> str:
        """Everything this person was shown in answer: response_url answers, ephemerals and DMs to
        them, modals opened or pushed, and the HTTP answer itself."""
        parts = [self.h.said(self.reply), self.reply.body]
        dm = "D" + self.user[1:]
        for call in self.new_calls:
            to_them = (
                (call.method == "chat.postEphemeral" and call.params.get("user") == self.user)
                or (call.method == "chat.postMessage" and call.params.get("channel") in (self.user, dm))
                or call.method in ("views.open", "views.push")
            )
            if to_them:
                parts.append(json.dumps({k: v for k, v in call.params.items() if k != "token"}, ensure_ascii=False))
        return "\n".join(parts)

    def opened(self, callback_id: str) -> bool:
        for call in self.new_calls:
            if call.method == "views.open" and call.outcome == "ok":
                view = call.params.get("view")
                view = json.loads(view) if isinstance(view, str) else view
                if view.get("callback_id") == callback_id:
                    return True
        return False

    def person(self, user_id: str) -> Person | None:
        with self.h.db.read() as s:
            return people.get_person(s, team_id=self.team, user_id=user_id)

    def request(self) -> Request:
        with self.h.db.read() as s:
            return s.get(Request, self.rid)

    def dms(self) -> list[str]:
        dm = "D" + self.user[1:]
        return [str(c.params.get("text", "")) for c in self.new_calls
                if c.method == "chat.postMessage" and c.params.get("channel") in (self.user, dm)]

    # ---- doing it, as Slack would send it for this person and workspace

    def command(self, text: str) -> Reply:
        return self.h.driver.command(self.user, text, team_id=self.team)

    def click(self, action: str, value: str | None) -> Reply:
        return self.h.driver.action(self.user, action, value, block_id=Block.OFFER_ACTIONS, team_id=self.team)

    def submit(self, callback_id: str, values: dict, *, metadata: str | None = None) -> Reply:
        return self.h.driver.submit_view(self.user, callback_id, values, private_metadata=metadata, team_id=self.team)


def meta(request_id: int) -> str:
    return json.dumps({"r": request_id})


def brief_values(ctx: Ctx) -> dict:
    values = ctx.h.brief_values(meeting_at=ctx.world.meeting_at, problem=NEW_PROBLEM)
    return {str(k): v for k, v in values.items()}


OUTCOME_VALUES = {
    str(Field.OUTCOME_DECIDED): {"value": {"type": "radio_buttons", "selected_option": {
        "value": "yes", "text": {"type": "plain_text", "text": "Yes"}}}},
    str(Field.OUTCOME_NEXT): {"value": signing.plain_text_input("Contract review")},
    str(Field.OUTCOME_NEW_DATE): {"value": {"type": "datepicker", "selected_date": None}},
}
HOURS_VALUES = {str(Field.HOURS_PREP): {"value": {"type": "number_input", "value": "2"}},
                str(Field.HOURS_MEETING): {"value": {"type": "number_input", "value": "1"}}}
SKILLS_VALUES = {str(Field.EXPERT_SKILLS): {"value": signing.plain_text_input("kubernetes:expert, terraform:learning")},
                 str(Field.CAPACITY): {"value": {"type": "number_input", "value": "4"}}}
DECLINE_VALUES = {str(Field.REASON): {"value": signing.plain_text_input("On holiday")}}


def set_away_everywhere(ctx: Ctx) -> None:
    """For `back`: the person is away in their own workspace and (same id) in this one."""
    with ctx.h.db.session() as s:
        for team in {ctx.team, TEAM}:
            people.set_away(s, team_id=team, user_id=ctx.user, until=clock.now() + timedelta(days=5),
                               now=clock.now())


# ---------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    name: str
    world: str
    do: Callable[[Ctx], Reply]
    done: Callable[[Ctx], bool]  # the allowed effect is visible
    expect: dict[str, str]  # role -> OK or the refusal text they must read
    leaks: tuple[str, ...] = ()  # more text a refused / other-workspace person must not see
    prepare: Callable[[Ctx], None] | None = None


def roles(ok: tuple[str, ...] = (), *, refused: str = "", other: str = NOT_FOUND, **special: str) -> dict[str, str]:
    """Expectations for every role: ``ok`` roles allowed, other roles of this workspace get
    ``refused``, other-workspace roles ``other``; ``special`` overrides single roles."""
    out = {role: (OK if role in ok else refused) for role in HERE}
    out.update({role: (OK if role in ok else other) for role in OTHER})
    out.update(special)
    assert set(out) == set(ROLES) and all(out.values()), out
    return out


ALL = tuple(ROLES)
MANAGERS = ("admin", "manager")
OWNERS = ("admin", "manager", "ae")
EXPERTS = ("expert_offered", "expert_not_offered")


def stats_of(target_mention: bool) -> Callable[[Ctx], bool]:
    def done(ctx: Ctx) -> bool:
        seen = ctx.seen()
        if target_mention:
            return f"<@{E1}>: notified {1 if ctx.team == TEAM else 0} " in seen
        manages = ctx.role in ("admin", "manager", "other_ws_admin")
        return "Response figures" in seen and ("*Team*:" in seen) == manages
    return done


def digest_sent(ctx: Ctx) -> bool:
    return "on its way to your DM" in ctx.h.said(ctx.reply) and any(t.startswith("Pre-sales digest") for t in ctx.dms())


CASES: list[Case] = [
    # ------------------------------------------------------------ /presales subcommands
    Case("cmd_help", "open", lambda c: c.command("help"),
         lambda c: "/presales expert add" in c.h.said(c.reply), roles(ALL)),
    Case("cmd_list", "open", lambda c: c.command("list"),
         lambda c: (ACCOUNT in c.seen()) if c.team == TEAM else "No open requests" in c.seen(), roles(ALL)),
    Case("cmd_cancel", "open", lambda c: c.command(f"cancel {c.rid}"),
         lambda c: c.request().status == RequestStatus.CANCELLED, roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("cmd_reschedule", "open", lambda c: c.command(f"reschedule {c.rid} Friday 4pm"),
         lambda c: c.request().meeting_at != c.world.meeting_at, roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("cmd_brief", "open", lambda c: c.command(f"brief {c.rid}"),
         lambda c: c.opened(View.BRIEF), roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("cmd_expert_add", "open", lambda c: c.command(f"expert add <@{NEWBIE}|newbie> kubernetes:expert"),
         lambda c: bool((p := c.person(NEWBIE)) and p.is_expert),
         # PRESALES_ADMINS holds user ids: the same id is an admin in its own workspace (only there).
         roles((*MANAGERS, "other_ws_admin"), refused=ONLY_MANAGERS, other=ONLY_MANAGERS)),
    Case("cmd_expert_remove", "open", lambda c: c.command(f"expert remove <@{E2}|e2>"),
         lambda c: bool((p := c.person(E2)) and not p.is_expert),
         roles(MANAGERS, refused=ONLY_MANAGERS, other=ONLY_MANAGERS, other_ws_admin="not in the expert directory")),
    Case("cmd_manager_add", "open", lambda c: c.command(f"manager add <@{NEWBIE}|newbie>"),
         lambda c: bool((p := c.person(NEWBIE)) and p.is_manager),
         roles(("admin", "other_ws_admin"), refused=ONLY_ADMINS, other=ONLY_ADMINS)),
    Case("cmd_manager_remove", "open", lambda c: c.command(f"manager remove <@{MANAGER}|mgr>"),
         lambda c: bool((p := c.person(MANAGER)) and not p.is_manager),
         roles(("admin", "other_ws_admin"), refused=ONLY_ADMINS, other=ONLY_ADMINS)),
    Case("cmd_directory", "open", lambda c: c.command("directory"),
         lambda c: (f"<@{E1}>" in c.seen()) if c.team == TEAM else "No experts" in c.seen(), roles(ALL),
         leaks=("kubernetes (expert)", "security (expert)")),
    Case("cmd_skills", "open", lambda c: c.command("skills"),
         lambda c: c.opened(View.SKILLS), roles(EXPERTS, refused=ONLY_EXPERTS, other=ONLY_EXPERTS)),
    Case("cmd_away", "open", lambda c: c.command("away until Dec 3"),
         lambda c: bool((p := c.person(c.user)) and p.away_until is not None), roles(ALL)),
    Case("cmd_back", "open", lambda c: c.command("back"),
         lambda c: bool((p := c.person(c.user)) and p.away_until is None), roles(ALL), prepare=set_away_everywhere),
    Case("cmd_stats_own", "claimed", lambda c: c.command("stats"), stats_of(False), roles(ALL),
         leaks=("notified 1 ", "1 requests, 1 claimed")),
    Case("cmd_stats_someone", "claimed", lambda c: c.command(f"stats <@{E1}|e1>"), stats_of(True),
         # E1 asking for their own figures is allowed; in another workspace "E1" has none.
         roles((*MANAGERS, "expert_offered", "other_ws_admin", "other_ws_expert"), refused=ONLY_MANAGERS,
               other=ONLY_MANAGERS), leaks=("notified 1 ",)),
    Case("cmd_digest", "open", lambda c: c.command("digest this"), digest_sent,
         roles((*MANAGERS, "other_ws_admin"), refused=ONLY_MANAGERS, other=ONLY_MANAGERS), leaks=("1 requests",)),
    # ------------------------------------------------------------ buttons
    Case("offer_claim", "open", lambda c: c.click(Action.CLAIM, str(c.rid)),
         lambda c: c.request().status == RequestStatus.CLAIMED, roles(("expert_offered",), refused=NOT_OFFERED)),
    Case("offer_decline", "open", lambda c: c.click(Action.DECLINE, str(c.rid)),  # a response at the click
         lambda c: c.opened(View.DECLINE) and c.h.offer(c.rid, E1).response == "decline",
         roles(("expert_offered",), refused=NOT_OFFERED)),
    Case("offer_release", "claimed", lambda c: c.click(Action.RELEASE, str(c.rid)),
         lambda c: c.request().status == RequestStatus.OPEN,
         roles(("expert_offered",), refused="Only the expert who claimed")),
    Case("request_cancel", "open", lambda c: c.click(Action.CANCEL, str(c.rid)),
         lambda c: c.request().status == RequestStatus.CANCELLED, roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("brief_add", "open", lambda c: c.click(Action.ADD_BRIEF, str(c.rid)),
         lambda c: c.opened(View.BRIEF), roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("brief_view", "open", lambda c: c.click(Action.VIEW_BRIEF, str(c.rid)),
         lambda c: c.opened(View.BRIEF_VIEW), roles((*OWNERS, "expert_offered"), refused="for the people working on it")),
    *[Case(f"reminder_snooze_{m}", "reminded", lambda c, a=action: c.click(a, str(c.world.notice_id)),
           lambda c: c.h.notices(c.rid) and any(n.id == c.world.notice_id and n.state == "snoozed"
                                                for n in c.h.notices(c.rid)),
           roles(("expert_offered",), refused="someone else's"))
      for m, action in ((30, Action.SNOOZE_30), (60, Action.SNOOZE_60))],
    Case("followup_outcome", "claimed", lambda c: c.click(Action.FOLLOWUP_OUTCOME, str(c.rid)),
         lambda c: c.opened(View.OUTCOME), roles(("ae",), refused="Only the AE who asked")),
    Case("followup_hours", "claimed", lambda c: c.click(Action.FOLLOWUP_HOURS, str(c.rid)),
         lambda c: c.opened(View.HOURS), roles(("expert_offered",), refused="only the expert who took it")),
    Case("home_send_digest", "open", lambda c: c.click(Action.SEND_DIGEST, None), digest_sent,
         roles((*MANAGERS, "other_ws_admin"), refused=ONLY_MANAGERS, other=ONLY_MANAGERS)),
    Case("home_new_request", "open", lambda c: c.click(Action.OPEN_REQUEST, None),
         lambda c: c.opened(View.REQUEST), roles(ALL)),
    Case("home_edit_skills", "open", lambda c: c.click(Action.EDIT_SKILLS, None),
         lambda c: c.opened(View.SKILLS), roles(EXPERTS, refused=ONLY_EXPERTS, other=ONLY_EXPERTS)),
    # ------------------------------------------------------------ modal submissions
    Case("submit_brief", "open", lambda c: c.submit(View.BRIEF, brief_values(c), metadata=meta(c.rid)),
         lambda c: any(b[1] == NEW_PROBLEM for b in state_of(c.h, TEAM)["briefs"]),
         roles(OWNERS, refused=OWNER_OR_MANAGER)),
    Case("submit_decline", "open", lambda c: c.submit(View.DECLINE, DECLINE_VALUES, metadata=meta(c.rid)),
         lambda c: c.h.offer(c.rid, E1).response == "decline", roles(("expert_offered",), refused=NOT_OFFERED)),
    Case("submit_outcome", "claimed", lambda c: c.submit(View.OUTCOME, OUTCOME_VALUES, metadata=meta(c.rid)),
         lambda c: [f[2] for f in state_of(c.h, TEAM)["followups"]] == ["ae"],
         roles(("ae",), refused="Only the AE who asked")),
    Case("submit_hours", "claimed", lambda c: c.submit(View.HOURS, HOURS_VALUES, metadata=meta(c.rid)),
         lambda c: [f[2] for f in state_of(c.h, TEAM)["followups"]] == ["expert"],
         roles(("expert_offered",), refused="Only the expert who took")),
    Case("submit_skills", "open", lambda c: c.submit(View.SKILLS, SKILLS_VALUES),
         lambda c: bool((p := c.person(c.user)) and "terraform" in {es.skill.name for es in p.skills}),
         roles(EXPERTS, refused=ONLY_EXPERTS, other=ONLY_EXPERTS)),
]


TRACEBACK = re.compile(r"Traceback|File \"")


@pytest.mark.db_agnostic
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_permission_matrix(matrix_h, db_url, case: Case):
    """RELIABILITY 11, 12, 13, 17: one line of the matrix, every role (see the module docstring).

    A refusal must change nothing (checked), so the refused roles share one world; after a role
    that was allowed (or a case that prepares the world per role) the next gets a fresh one."""
    h = matrix_h
    refused = [role for role in ROLES if case.expect[role] != OK]
    allowed = [role for role in ROLES if case.expect[role] == OK]
    world, dirty = None, False
    for role in refused + allowed:
        if dirty:
            fresh_world(h, db_url)
        if world is None or dirty:
            world = build_world(h, case.world)
        dirty = role in allowed or case.prepare is not None
        try:
            check_row(h, world, case, role)
        except AssertionError as exc:
            raise AssertionError(f"[{case.name} by {role}] {exc}") from None


def fresh_world(h: Harness, db_url: str) -> None:
    """What the fixtures do between tests: background work finished and clean, tables emptied,
    the fake Slack's contract checked and reset, the clock back at the start."""
    from tests.conftest import NOW, empty_database

    h.drain()
    failures = list(h.deps.work.failures)
    h.deps.work.failures.clear()
    assert not failures, f"background work raised: {failures}"
    assert not h.slack.violations, "calls that break Slack's contract:\n" + "\n".join(h.slack.violations)
    empty_database(db_url)
    h.slack.reset()
    clock.set_now(NOW)


def check_row(h: Harness, world: World, case: Case, role: str) -> None:
    user, team = ROLES[role]
    ctx = Ctx(h, world, role, user, team)
    if case.prepare:
        case.prepare(ctx)
    here_before = state_of(h, TEAM)
    everything_before = (here_before, state_of(h, OTHER_TEAM))
    ctx.mark = len(h.slack.calls)
    ctx.reply = case.do(ctx)
    h.drain()
    seen = ctx.seen()
    expected = case.expect[role]

    assert ctx.reply.status == 200, ctx.reply.body
    assert not TRACEBACK.search(seen), seen
    if team != TEAM:  # another workspace never reads or changes this one
        assert state_of(h, TEAM) == here_before
        for text in (*DATA, *case.leaks):
            assert text not in seen, f"{role} was shown {text!r}:\n{seen}"
    if expected == OK:
        assert case.done(ctx), f"{case.name} by {role} should have worked; they saw:\n{seen}"
        return
    assert expected in seen, f"{case.name} by {role}: expected a refusal saying {expected!r}; they saw:\n{seen}"
    assert not case.done(ctx)
    assert (state_of(h, TEAM), state_of(h, OTHER_TEAM)) == everything_before, "a refused action changed something"
    for text in (*DATA, *case.leaks):
        assert text not in seen, f"the refusal shown to {role} contains {text!r}:\n{seen}"


# ---------------------------------------------------------------------------- tampered ids


def _other_workspace_request(h: Harness) -> tuple[int, int]:
    """A request of another workspace in the same database (team T0OTHER) and a reminder notice of
    it: (request id, notice id)."""
    now = clock.now()
    with h.db.session() as s:
        requester = people.ensure_person(s, team_id=OTHER_TEAM, user_id=E1, now=now)  # same id as our E1
        request = Request(team_id=OTHER_TEAM, requester_id=requester.id, channel_id="C0THEIRS", kind="demo",
                          account="Their Secret Prospect", description="Their confidential pipeline notes",
                          urgency="normal", status=RequestStatus.CLAIMED.value, claimed_by_id=requester.id,
                          meeting_at=now + timedelta(days=2), duration_min=60, created_at=now, updated_at=now)
        s.add(request)
        s.flush()
        notice = DueNotice(kind="reminder", request_id=request.id, recipient_id=requester.id, slot="1h@x",
                           due_at=now, state="sent", attempts=1, late=False, created_at=now, updated_at=now)
        s.add(notice)
        s.flush()
        return request.id, notice.id


BUTTON_VALUES = ["THEIRS", "999999", "0", "-1", "1 OR 1=1", "1; DROP TABLE requests; --", "0x1", "1e3", "\u0661",
                 " 1", "9" * 12, "", "<!channel>"]
METADATA = ['{"r": THEIRS}', '{"r": "THEIRS"}', '{"r": 999999}', '{"r": -1}', '{"r": "1 OR 1=1"}', '{"r": 1.0}',
            '{"r": true}', '{"r": [1]}', '{"r": null}', '{}', '[1]', "not json", "", '{"r": "١"}']
BUTTONS = {"claim": (E1, Action.CLAIM), "decline": (E1, Action.DECLINE), "release": (E1, Action.RELEASE),
           "cancel": (AE, Action.CANCEL), "brief_add": (AE, Action.ADD_BRIEF), "brief_view": (AE, Action.VIEW_BRIEF),
           "snooze": (E1, Action.SNOOZE_30), "outcome": (AE, Action.FOLLOWUP_OUTCOME),
           "hours": (E1, Action.FOLLOWUP_HOURS)}
MODALS = {"brief": (AE, View.BRIEF), "decline": (E1, View.DECLINE), "outcome": (AE, View.OUTCOME),
          "hours": (E1, View.HOURS)}
THEIR_DATA = ("Their Secret Prospect", "Their confidential pipeline")


def _check_refused(h: Harness, ctx: Ctx, before, what: str) -> None:
    h.drain()
    seen = ctx.seen()
    assert ctx.reply.status == 200, (what, ctx.reply.body)
    assert not TRACEBACK.search(seen), seen
    assert re.search(r"does not exist|not allowed|not offered", seen), (what, seen)
    for text in (*THEIR_DATA, *DATA):
        assert text not in seen, f"{what} showed {text!r}:\n{seen}"
    assert not any(call.method in ("views.open", "views.push") and call.outcome == "ok"
                   and "Not sent" not in json.dumps(call.params) for call in ctx.new_calls), what
    assert (state_of(h, TEAM), state_of(h, OTHER_TEAM)) == before, f"{what} changed something"


@pytest.mark.parametrize("surface", list(BUTTONS))
def test_tampered_button_values_show_nothing(matrix_h, surface):
    """RELIABILITY 11 and 13: a button value holding another workspace's request (or reminder) id,
    an unknown id, or SQL / unicode / mrkdwn junk, clicked by the very person who would be allowed
    with the right id: "does not exist", nothing changes, no data of any request is shown."""
    h = matrix_h
    world = build_world(h, "claimed")
    theirs, their_notice = _other_workspace_request(h)
    user, action = BUTTONS[surface]
    before = (state_of(h, TEAM), state_of(h, OTHER_TEAM))
    for raw in BUTTON_VALUES:
        value = str(their_notice if surface == "snooze" else theirs) if raw == "THEIRS" else raw
        ctx = Ctx(h, world, surface, user, TEAM, mark=len(h.slack.calls))
        ctx.reply = ctx.click(action, value)
        _check_refused(h, ctx, before, f"{surface} with {raw!r}")


@pytest.mark.parametrize("surface", list(MODALS))
def test_tampered_private_metadata_shows_nothing(matrix_h, surface):
    """RELIABILITY 11 and 13: a modal submission whose private_metadata was swapped for another
    workspace's request id, an unknown id, a wrong JSON type or junk: refused, nothing stored,
    nothing of any request shown."""
    h = matrix_h
    world = build_world(h, "claimed")
    theirs, _ = _other_workspace_request(h)
    user, callback = MODALS[surface]
    values = {"brief": None, "decline": DECLINE_VALUES, "outcome": OUTCOME_VALUES, "hours": HOURS_VALUES}[surface]
    before = (state_of(h, TEAM), state_of(h, OTHER_TEAM))
    for raw in METADATA:
        metadata = raw.replace("THEIRS", str(theirs))
        ctx = Ctx(h, world, surface, user, TEAM, mark=len(h.slack.calls))
        ctx.reply = ctx.submit(callback, values or brief_values(ctx), metadata=metadata)
        _check_refused(h, ctx, before, f"{surface} modal with metadata {raw!r}")
