"""Slack protocol edge cases from docs/reliability-plan.md that the other files do not cover."""

from __future__ import annotations

import inspect
import json
import time

import pytest
from sqlalchemy import event, func, select

from bot import clock
from bot.slack.ids import Action
from models import Skill
from tests.harness import AE


@pytest.mark.db_agnostic
@pytest.mark.parametrize("headers", [
    {},
    {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
    {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=abc"},
    {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "not-a-signature"},
])
def test_missing_or_malformed_signature_headers_are_401_without_a_trace(h, headers):
    """RELIABILITY 3."""
    body = b"team_id=T0001&user_id=U0AE&command=%2Fpresales&text=help&channel_id=C0DEAL&trigger_id=1.2.3"
    reply = h.driver.raw(body, {"Content-Type": "application/x-www-form-urlencoded", **headers})
    assert reply.status == 401
    assert "Traceback" not in reply.body and "File \"" not in reply.body


@pytest.mark.db_agnostic
@pytest.mark.parametrize("tamper", [lambda b: b.replace(b"%20", b"+"), lambda b: b + b"\xff", lambda b: b[:-1]])
def test_a_body_changed_after_signing_is_refused(h, tamper):
    """RELIABILITY 4: the raw bytes are what is verified."""
    h.person(AE)
    body = b"team_id=T0001&user_id=U0AE&command=%2Fpresales&text=list%20all&channel_id=C0DEAL&trigger_id=1.2.3"
    headers = {**h.driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    assert h.driver.raw(tamper(body), headers).status == 401
    assert h.driver.raw(body, headers).status == 200


@pytest.mark.db_agnostic
def test_signature_comparison_is_constant_time():
    """RELIABILITY 5: Bolt verifies with slack_sdk's SignatureVerifier, which compares with
    hmac.compare_digest (never ==)."""
    from slack_sdk.signature import SignatureVerifier

    source = inspect.getsource(SignatureVerifier.is_valid)
    assert "hmac.compare_digest" in source and "== signature" not in source


def test_each_user_field_is_its_own_text_object(h):
    """RELIABILITY 9: mrkdwn in one field (`*`, `_`, `~`, backticks, a leading `>`) cannot restyle
    another: every piece of user text sits alone in its own text object."""
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, account="*Acme_", description="> quoted ~strike~ `code` _it_")
    request = h.last_request()
    message = h.slack.message(h.offer(request.id, "U0EXP1").channel_id, h.offer(request.id, "U0EXP1").ts)
    texts = [f["text"] for b in message["blocks"] for f in ([b.get("text")] if b.get("text") else []) + b.get("fields", [])
             if isinstance(f, dict)]
    account = [t for t in texts if "*Acme_" in t]
    description = [t for t in texts if "~strike~" in t]
    assert account == ["*Account*\n*Acme_"]
    assert description == ["*What is needed*\n&gt; quoted ~strike~ `code` _it_"]


def test_the_skill_picker_never_offers_more_than_slack_allows(h):
    """RELIABILITY 10: 150 skills in the directory, 100 options at most per response."""
    with h.db.session() as session:
        from bot.services import directory

        directory.set_expert(session, team_id="T0001", user_id="U0MANY", now=clock.now(),
                             skills=[(f"skill-{i:03d}", directory.SkillLevel.EXPERT) for i in range(30)])
        for i in range(30, 150):
            session.add(Skill(name=f"skill-{i:03d}", created_at=clock.now()))
    with h.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Skill)) == 150
    reply = h.driver.block_suggestion(AE, Action.SKILL_SELECT, "", block_id="skills")
    assert reply.status == 200 and 0 < len(reply.json["options"]) <= 100


def test_a_slow_database_does_not_cost_the_trigger_id(h):
    """RELIABILITY 18: with 2.5 s of database latency the modal still opens (without its
    pre-fill), because views.open never waits for more than the pre-fill budget."""
    h.person(AE)
    h.expert("U0EXP1")
    slow = {"on": True}

    def crawl(conn, cursor, statement, parameters, context, executemany):
        if slow["on"] and "FROM skills" in statement:
            time.sleep(2.5)

    event.listen(h.db.engine, "before_cursor_execute", crawl)
    try:
        started = time.monotonic()
        h.driver.command(AE, "demo kubernetes for Acme Tue 3pm")
        opened = h.slack.wait_for("views.open", timeout=5)
        assert opened and opened[-1].at - h.slack.calls[0].at < 3.0
        assert time.monotonic() - started < 3.0
    finally:
        slow["on"] = False
        h.drain()
        event.remove(h.db.engine, "before_cursor_execute", crawl)


def test_an_archived_deal_channel_falls_back_to_the_ae(h):
    """RELIABILITY 26: `is_archived` -> the AE hears it in their DM, and there is no retry loop."""
    h.person(AE)
    h.expert("U0EXP1")
    h.slack.add_channel("C0OLD", archived=True)
    h.submit_request(AE, channel_id="C0OLD")
    request = h.last_request()
    refused = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0OLD"]
    assert len(refused) == 1 and refused[0].outcome == "error:is_archived"
    assert any("is_archived" in m["text"] for m in h.slack.dm_messages(AE))
    assert request.status_channel.startswith("D")


def test_a_command_queued_behind_a_claim_storm_still_opens_its_modal_in_time(h):
    """RELIABILITY 18/20 (found by `make test-topology`): under load the reply pool was busy with
    other people's Claim clicks and `/presales` opened its modal 3-6 s after the click, too late
    for the trigger_id. Commands run on a pool of their own, and the pre-fill budget counts from
    the ack: a command that starts late opens the form at once, without its pre-fill."""
    import threading

    h.person(AE)
    h.expert("U0EXP1")
    release = threading.Event()

    def stuck():  # every reply thread held (and more queued) by slow claims
        release.wait(10)

    for _ in range(h.settings.reply_threads * 2):
        h.deps.work.reply(stuck, on_error=lambda exc: None)
    try:
        started = time.monotonic()
        h.driver.command(AE, "demo kubernetes for Acme Tue 3pm")
        opened = h.slack.wait_for("views.open", timeout=5)
        assert opened, "the modal did not open while the reply pool was busy"
        assert time.monotonic() - started < 3.0
    finally:
        release.set()
        h.drain()


def test_a_command_that_starts_late_skips_its_pre_fill(h):
    from handlers import commands

    h.person(AE)
    h.expert("U0EXP1")
    command = {"team_id": "T0001", "user_id": AE, "channel_id": "C0DEAL", "trigger_id": "1.2.late",
               "text": "demo kubernetes for Acme Tue 3pm"}

    def account_prefill() -> str | None:
        view = h.slack.calls_to("views.open")[-1].params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        block = next(b for b in view["blocks"] if b.get("block_id") == "account")
        return block["element"].get("initial_value")

    commands.route(h.deps, command, lambda **kw: None, acked=time.monotonic() - 1.6)  # queued 1.6 s
    assert account_prefill() is None  # opened at once, empty, not after the pre-fill
    commands.route(h.deps, {**command, "trigger_id": "1.2.fresh"}, lambda **kw: None, acked=time.monotonic())
    assert account_prefill() == "Acme"
