"""Bad input of every kind gets a clear answer, stores nothing wrong, and never pings anyone."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.slack.ids import Action, Block, View
from models import Offer, Person, Request, RequestStatus
from tests.fakes import signing
from tests.harness import ADMIN, AE


def count(h, model) -> int:
    with h.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- signatures and replays


def test_bad_signature_is_refused_and_nothing_is_stored(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.open_form(AE)
    forged = signing.SlackDriver(h.url, "not-the-secret", team_id="T0001", fake=h.slack)
    reply = forged.submit_view(AE, View.REQUEST, h.request_values())
    assert reply.status == 401
    assert count(h, Request) == 0


@pytest.mark.parametrize("age, status", [(301, 401), (-301, 401), (299, 200)])
def test_timestamp_window_is_five_minutes_both_ways(h, age, status):
    body = b"token=x&team_id=T0001&user_id=U0AE&command=%2Fpresales&text=help&channel_id=C0DEAL&trigger_id=1.2.3"
    headers = h.driver.sign(body, ts=int(time.time()) - age)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert h.driver.raw(body, headers).status == status


def test_a_replayed_submission_creates_one_request(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.open_form(AE)
    values = h.request_values()
    first = h.driver.submit_view(AE, View.REQUEST, values)
    h.drain()
    payload = first.sent
    replay = h.driver.post_payload(payload)  # the exact same signed content, sent again
    h.drain()
    assert first.status == 200 and replay.status == 200
    assert count(h, Request) == 1
    assert len(h.slack.dm_messages("U0EXP1")) == 1


def test_a_replayed_claim_does_not_claim_or_broadcast_twice(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.submit_request(AE)
    request = h.last_request()
    first = h.click("U0EXP1", Action.CLAIM, request.id)
    updates_before = len(h.slack.calls_to("chat.update"))
    threads_before = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    replay = h.driver.post_payload(first.sent)
    h.drain()
    assert replay.status == 200
    assert "already claimed" in h.said(replay)
    threads_after = [c for c in h.slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]
    assert len(threads_after) == len(threads_before) == 1
    assert h.offer(request.id, "U0EXP1").response == "claim"
    assert len(h.slack.calls_to("chat.update")) >= updates_before


# ---------------------------------------------------------------- escaping


NASTY = "<!channel> <!here> <!everyone> <!subteam^S1> <@U123> <https://evil.example|CRM> &amp; 🎉 مرحبا *bold*"


def test_user_text_is_escaped_exactly_once_and_pings_nobody(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, account="Acme <!channel>", description=NASTY)
    sent = [json.dumps(c.params) for c in h.slack.calls if c.method in ("chat.postMessage", "chat.update")]
    assert sent
    everything = "\n".join(sent)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S1>", "<@U123>", "<https://evil.example|CRM>"):
        assert raw not in everything
    request = h.last_request()
    dm = h.dm_text("U0EXP1", request.id)
    assert "&lt;!channel&gt;" in dm and "&lt;@U123&gt;" in dm
    assert "&amp;amp;" in dm  # a typed "&amp;" is shown as typed, escaped once
    assert "🎉 مرحبا" in dm
    with h.db.session() as session:  # stored as typed, escaped only when shown
        assert session.get(Request, request.id).description == NASTY


# ---------------------------------------------------------------- tampered buttons


@pytest.mark.parametrize("value", ["999999", "1; DROP TABLE requests", "-1", "abc", "", "1" * 40])
def test_tampered_button_values_change_nothing(h, value):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    reply = h.driver.action("U0EXP1", Action.CLAIM, value, block_id=Block.OFFER_ACTIONS)
    h.drain()
    assert reply.status == 200
    assert "does not exist" in h.said(reply)
    assert h.last_request().status == RequestStatus.OPEN


def test_another_workspace_cannot_claim(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    request = h.last_request()
    reply = h.driver.action("U0EXP1", Action.CLAIM, str(request.id), block_id=Block.OFFER_ACTIONS, team_id="T0OTHER")
    h.drain()
    assert "does not exist" in h.said(reply)
    assert h.last_request().status == RequestStatus.OPEN


def test_someone_who_was_not_offered_the_request_cannot_claim(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes")
    h.expert("U0SEC", "security")
    h.submit_request(AE)
    request = h.last_request()
    for intruder in ("U0SEC", "U0NOBODY", AE):
        reply = h.driver.action(intruder, Action.CLAIM, str(request.id), block_id=Block.OFFER_ACTIONS)
        h.drain()
        assert "not offered to you" in h.said(reply)
    assert h.last_request().status == RequestStatus.OPEN
    assert count(h, Offer) == 1


# ---------------------------------------------------------------- the modal


def test_an_empty_modal_gets_inline_errors_and_stores_nothing(h):
    h.person(AE)
    h.open_form(AE)
    empty = {block: {"value": {"type": "plain_text_input", "value": None}} for block in ("account", "description")}
    reply = h.driver.submit_view(AE, View.REQUEST, empty)
    assert reply.status == 200 and reply.json["response_action"] == "errors"
    assert {"kind", "skills", "account", "description"} <= set(reply.json["errors"])
    assert count(h, Request) == 0


@pytest.mark.parametrize(
    "fields, block",
    [
        ({"meeting_at": "past"}, "meeting_at"),
        ({"meeting_at": "two_years"}, "meeting_at"),
        ({"skills": ("x" * 500,)}, "skills"),
        ({"skills": ("not in directory",)}, "skills"),
        ({"crm_url": "ftp://nope"}, "crm_url"),
    ],
)
def test_bad_fields_get_inline_errors(h, fields, block):
    h.person(AE)
    h.expert("U0EXP1")
    moments = {"past": clock.now() - timedelta(days=1), "two_years": clock.now() + timedelta(days=730)}
    if fields.get("meeting_at") in moments:
        fields = dict(fields, meeting_at=moments[fields["meeting_at"]])
    h.open_form(AE)
    reply = h.driver.submit_view(AE, View.REQUEST, h.request_values(**fields))
    assert reply.json["response_action"] == "errors" and block in reply.json["errors"]
    assert count(h, Request) == 0


def test_unparseable_prefill_still_opens_the_form(h):
    h.person(AE)
    h.open_form(AE, "demo for Acme next blursday")
    view = h.slack.opened_views[-1]
    meeting = next(b for b in view["blocks"] if b.get("block_id") == "meeting_at")
    assert "initial_date_time" not in meeting["element"]


def test_expired_trigger_tells_the_user_to_retry(h):
    h.person(AE)
    h.slack.fail("views.open", error="expired_trigger_id")
    reply = h.command(AE, "")
    assert "run `/presales` again" in h.said(reply)


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("text", ["banana", "frobnicate the thing", "help"])
def test_help_and_unknown_subcommands(h, text):
    reply = h.command(AE, text)
    said = h.said(reply)
    assert "/presales expert add" in said
    assert ("I don't know" in said) == (text != "help")


@pytest.mark.parametrize(
    "text, words",
    [
        ("expert add", "Mention the person"),
        ("expert add <@U0BOB|bob>", "at least one skill"),
        ("expert add <@U0BOB|bob> " + "x" * 500, "at most 40"),
        ("expert add <@U0BOB|bob> kubernetes:guru", "not a level"),
        ("expert frob <@U0BOB|bob>", "expert remove"),
        ("expert remove <@U0BOB|bob>", "not in the expert directory"),
    ],
)
def test_expert_admin_commands_explain_mistakes(h, text, words):
    reply = h.command(ADMIN, text)
    assert words in h.said(reply)
    assert count(h, Person) <= 1  # nobody half-added


def test_only_managers_edit_the_directory_and_only_admins_grant_managers(h):
    reply = h.command(AE, "expert add <@U0BOB|bob> kubernetes")
    assert "Only managers" in h.said(reply)
    reply = h.command(AE, "manager add <@U0AE|me>")
    assert "Only admins" in h.said(reply)
    h.command(ADMIN, "manager add <@U0MGR|mgr>")
    reply = h.command("U0MGR", "expert add <@U0BOB|bob> kubernetes:expert, security")
    assert "is in the expert directory" in h.said(reply)
    listing = h.said(h.command(AE, "directory kubernetes"))
    assert "<@U0BOB>" in listing and "kubernetes (expert)" in listing


def test_away_with_a_bad_or_past_date(h):
    assert "could not read" in h.said(h.command("U0EXP1", "away until next blursday"))
    assert "in the past" in h.said(h.command("U0EXP1", "away until 2025-01-01"))
    assert "away until" in h.said(h.command("U0EXP1", "away until Dec 3"))


def test_cancel_with_junk_ids(h):
    for text, words in [("cancel", "Which request"), ("cancel banana", "does not exist"), ("cancel 424242", "does not exist")]:
        assert words in h.said(h.command(AE, text))


def test_sql_and_shell_metacharacters_are_just_text(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes")
    reply = h.command(ADMIN, "directory kubernetes'; DROP TABLE people; --")
    assert "not a skill name" in h.said(reply)
    assert count(h, Person) >= 1


def test_error_messages_quote_user_text_without_pinging(h):
    said = h.said(h.command("U0EXP1", "away until <!here> <@U123>"))
    assert "could not read" in said and "<!here>" not in said and "&lt;!here&gt;" in said
    said = h.said(h.command(ADMIN, "expert add <@U0BOB|bob> <!channel>:guru"))
    assert "<!channel>" not in said


def test_a_nul_character_is_dropped_not_a_lost_request(h):
    """RELIABILITY 14/59: PostgreSQL refuses U+0000 in text; a pasted NUL in the request form,
    a command or the CSV import must not turn into "Something went wrong" and a lost write."""
    from bot.services import directory_csv

    h.person(AE)
    h.expert("U0EXP1")
    reply = h.submit_request(AE, account="Ac\x00me", description="Show the multi-cluster\x00 failover story")
    assert reply.status == 200 and (reply.json or {}).get("response_action") is None, reply.body
    request = h.last_request()
    assert request.account == "Acme" and request.description == "Show the multi-cluster failover story"
    assert h.offer(request.id, "U0EXP1").ts
    said = h.said(h.command("U0EXP1", "away until Dec\x00 3"))
    assert "Something went wrong" not in said and "away" in said.lower(), said
    report = directory_csv.parse_directory_csv("user,skills\nU0KATE,kuber\x00netes\n")
    assert not report.errors and report.rows[0].skills[0][0] == "kubernetes"


def test_a_web_process_dying_between_commit_and_ack_loses_nothing_and_doubles_nothing(h, monkeypatch):
    """RELIABILITY 42: the process stores the request, then dies before its ack (simulated: the
    listener fails right after the commit, so no ack and no broadcast). Slack shows the AE an
    error with the form still open; the AE submits it again: the same request (the view id is
    its key), not a second one. The broadcast the dead process never started is driven by the
    scheduler's broadcast check; every expert is DMed exactly once."""
    from contextlib import contextmanager

    from bot.services.due import BROADCAST_CHECK_AFTER

    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    h.open_form(AE)
    values = h.request_values()
    real_session = h.db.session
    calls = {"n": 0}

    @contextmanager
    def dies_after_the_first_commit():
        with real_session() as session:
            yield session
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed after the commit, before the ack")

    monkeypatch.setattr(h.db, "session", dies_after_the_first_commit)
    first = h.driver.submit_view(AE, View.REQUEST, values, view_id="VCRASH")
    h.drain()
    monkeypatch.setattr(h.db, "session", real_session)
    assert (first.json or {}).get("response_action") != "clear", first.body  # never acked as done
    assert count(h, Request) == 1 and not h.slack.dm_messages("U0EXP1")  # stored, not broadcast
    again = h.driver.submit_view(AE, View.REQUEST, values, view_id="VCRASH")  # the AE retries
    h.drain()
    assert again.status == 200 and (again.json or {}).get("response_action") is None, again.body
    assert count(h, Request) == 1
    h.at(clock.now() + BROADCAST_CHECK_AFTER + timedelta(seconds=1))
    h.tick()
    request = h.last_request()
    assert request.status == RequestStatus.OPEN and request.status_ts
    for expert in ("U0EXP1", "U0EXP2"):
        assert len(h.slack.dm_messages(expert)) == 1, expert
    h.tick()
    assert all(len(h.slack.dm_messages(e)) == 1 for e in ("U0EXP1", "U0EXP2"))
