"""App Home per role: what each person sees, its buttons, its limits, and its refresh."""

from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import select

from bot import clock
from bot.slack.ids import Action, View
from models import Person, Request
from tests.harness import ADMIN, AE

UTC = timezone.utc


def open_home(h, user_id: str, *, retry: int | None = None):
    reply = h.driver.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home",
                            "event_ts": "1700000000.000100"}, retry_num=retry, retry_reason="http_timeout" if retry else None)
    h.drain()
    assert reply.status == 200
    return h.slack.views_published.get(user_id)


def text_of(view) -> str:
    out = []
    for block in view["blocks"]:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                out.append(block[key]["text"])
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and isinstance(element.get("text"), (dict, str)):
                out.append(element["text"]["text"] if isinstance(element["text"], dict) else element["text"])
        if isinstance(block.get("accessory"), dict):
            out.append(block["accessory"]["text"]["text"])
    return "\n".join(out)


def test_expert_home_shows_open_offers_meetings_skills_and_figures(h):
    h.person(AE)
    h.expert("U0EXP1", "kubernetes:expert, security")
    h.submit_request(AE, account="Open One")
    h.submit_request(AE, account="Mine Soon")
    mine = h.last_request()
    h.click("U0EXP1", Action.CLAIM, mine.id)
    view = open_home(h, "U0EXP1")
    text = text_of(view)
    assert "Your expert desk" in text and "Open One" in text and "Claim" in text
    assert "Your upcoming meetings" in text and "Mine Soon" in text and "brief ✓" in text
    assert "kubernetes (expert)" in text and "Load*: 1/3" in text and "Edit skills" in text
    assert "Last 4 weeks: 2 requests sent to you" in text
    assert "This week so far" not in text  # not a manager
    # Claim straight from the Home
    open_id = mine.id - 1
    h.driver.action("U0EXP1", Action.CLAIM, str(open_id), view=view)
    h.drain()
    with h.db.session() as session:
        assert session.get(Request, open_id).claimed_by.slack_user_id == "U0EXP1"


def test_ae_home_lists_requests_with_brief_and_cancel_and_new_request(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, account="Held Co", brief=False)
    view = open_home(h, AE)
    text = text_of(view)
    assert "Your requests" in text and "Held Co" in text and "Waiting for brief" in text and "no brief" in text
    assert "Add brief" in text and "Cancel" in text and "New request" in text
    h.driver.action(AE, Action.OPEN_REQUEST, None, view=view)
    h.drain()
    assert h.slack.opened_views[-1]["callback_id"] == View.REQUEST


def test_manager_home_shows_the_week_and_what_is_at_risk(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE, account="Soon Unclaimed", meeting_at=clock.now() + timedelta(hours=20))
    h.submit_request(AE, account="Far Away", meeting_at=clock.now() + timedelta(days=9))
    view = open_home(h, ADMIN)
    text = text_of(view)
    assert "This week so far" in text and "2 requests" in text
    assert "Unfilled and at risk" in text and "Soon Unclaimed" in text and "Far Away" not in text
    h.driver.action(ADMIN, Action.SEND_DIGEST, None, view=view)
    h.drain()
    assert any(m["text"].startswith("Pre-sales digest") for m in h.slack.dm_messages(ADMIN))
    stranger = h.driver.action(AE, Action.SEND_DIGEST, None, block_id="b")
    h.drain()
    assert "Only managers" in h.said(stranger)


def test_several_roles_see_every_section_and_the_view_stays_under_100_blocks(h):
    h.person(AE)
    h.expert(ADMIN, "kubernetes")  # the admin (a manager) is an expert and an AE too
    h.expert("U0EXP1")
    start = clock.now()
    with h.db.session() as session:
        admin = session.scalar(select(Person).where(Person.slack_user_id == ADMIN))
        for i in range(500):  # 500 requests of the admin's own
            session.add(Request(team_id="T0001", requester_id=admin.id, channel_id="C0DEAL", kind="rfp",
                                account=f"Bulk {i}", description="d", urgency="normal", status="open",
                                needed_by=start + timedelta(days=3, minutes=i), created_at=start - timedelta(minutes=i),
                                updated_at=start))
    view = open_home(h, ADMIN)
    text = text_of(view)
    assert "This week so far" in text and "Your expert desk" in text and "Your requests" in text
    assert len(view["blocks"]) <= 100
    assert "and 492 more requests" in text  # newest first, the rest counted


def test_home_refreshes_after_a_claim_and_event_retries_are_harmless(h):
    h.person(AE)
    h.expert("U0EXP1")
    open_home(h, AE)
    h.submit_request(AE, account="Watch Me")
    request = h.last_request()
    publishes = len(h.slack.calls_to("views.publish"))
    h.click("U0EXP1", Action.CLAIM, request.id)
    after = [c for c in h.slack.calls_to("views.publish")[publishes:] if c.params.get("user_id") == AE]
    assert after and "claimed by <@U0EXP1>" in text_of(h.slack.views_published[AE])
    again = open_home(h, AE, retry=1)  # Slack redelivering the same event
    assert "Watch Me" in text_of(again)
