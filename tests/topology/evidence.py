"""What the topology test's checks (``checks.py``) judge, read once when the scenario is over:
the database (directly, not through the proxy) and what the fake Slack received, with each
message Slack accepted sorted by what it was (an expert's DM, a reminder, a rung of the ladder).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

from tests.fakes.slack import Call

if TYPE_CHECKING:
    from tests.topology.run import Req, Scenario

UTC = timezone.utc
CLAIM = "offer_claim"
LADDER = ("reping", "widen", "escalate", "expire", "claimed")
Row = SimpleNamespace  # a row read with plain SQL: the models may gain columns while a run goes on


@dataclass
class SlackPosts:
    """The chat.postMessage calls Slack accepted, by what they were."""

    offer_dms: Counter = field(default_factory=Counter)  # (channel, request id) -> DMs with a Claim button
    reminders: Counter = field(default_factory=Counter)  # notice id (snooze button value; -1 none) -> messages
    ladder: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in LADDER})
    # ladder[kind]: (request id, channel) -> messages; "claimed" = the claim told in the status thread


@dataclass
class Database:
    people: dict[int, str]  # person id -> Slack user id
    requests: list[Row]
    offers_of: dict[int, list[Row]]  # request id -> its offers
    notices: list[Row]
    briefs: set[int]  # request ids with a brief

    @property
    def by_id(self) -> dict[int, Row]:
        return {r.id: r for r in self.requests}


@dataclass
class Evidence:
    end: datetime  # when the checks started: notices due before it should be out
    db: Database
    posts: SlackPosts
    ours: dict[int, "Req"]  # request id -> the request this run made


def read_database(sc: "Scenario") -> Database:
    people, requests, offers, notices, briefs = sc.load()
    offers_of: dict[int, list[Row]] = defaultdict(list)
    for o in offers:
        offers_of[o.request_id].append(o)
    return Database(people, requests, offers_of, notices, briefs)


def gather(sc: "Scenario") -> Evidence:
    end = datetime.now(UTC)
    return Evidence(end, read_database(sc), classify_posts(sc.fake.calls),
                    {r.request_id: r for r in sc.reqs if r.request_id})


def dm(user: str) -> str:
    """The fake's DM channel with a user."""
    return "D" + user[1:]


def actions(blocks: Any) -> dict[str, str]:
    """{action_id: value} of the buttons in a message."""
    out: dict[str, str] = {}
    for block in blocks or []:
        if isinstance(block, dict) and block.get("type") == "actions":
            for element in block.get("elements", []):
                if isinstance(element, dict) and element.get("action_id"):
                    out[element["action_id"]] = str(element.get("value"))
    return out


def attempts(sc: "Scenario", match: Callable[[Call], bool]) -> list[str]:
    """What Slack answered, in order, to the chat.postMessage calls that ``match`` (evidence for a loss)."""
    return [c.outcome for c in sc.fake.calls if c.method == "chat.postMessage" and match(c)]


def _tally_post(posts: SlackPosts, c: Call) -> None:
    channel = (c.response or {}).get("channel") or c.params.get("channel")
    text = str(c.params.get("text") or "")
    blocks = c.params.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            blocks = None
    number = re.search(r"request #(\d+)", text)
    request_id = int(number.group(1)) if number else None
    buttons = actions(blocks)
    if not c.params.get("thread_ts") and CLAIM in buttons:
        posts.offer_dms[(channel, request_id)] += 1
    elif text.startswith("⏰") and " starts in " in text:
        snooze = buttons.get("reminder_snooze_30")
        posts.reminders[int(snooze) if snooze and snooze.isdigit() else -1] += 1
    elif text.startswith("⏰ Still nobody on"):
        posts.ladder["reping"][(request_id, channel)] += 1
    elif text.startswith("⏰ Still unclaimed"):
        posts.ladder["widen"][(request_id, channel)] += 1
    elif text.startswith("🚨"):
        posts.ladder["escalate"][(request_id, channel)] += 1
    elif text.startswith("⌛ Nobody claimed"):
        posts.ladder["expire"][(request_id, channel)] += 1
    elif c.params.get("thread_ts") and " claimed your " in text:
        posts.ladder["claimed"][(request_id, channel)] += 1


def classify_posts(calls: list[Call]) -> SlackPosts:
    posts = SlackPosts()
    for c in calls:
        if c.method == "chat.postMessage" and c.outcome == "ok":
            _tally_post(posts, c)
    return posts
