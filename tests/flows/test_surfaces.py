"""Readable surfaces (issue 11, item 7): labels instead of stored values, and the buttons that let
people act where the message reaches them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from bot.slack.ids import Action
from models import RequestStatus
from tests.harness import AE

MON = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
THU = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


def _buttons(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements", [])]


def test_the_status_message_shows_urgency_as_a_label(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.submit_request(AE)
    assert "Normal" in h.status_text(h.last_request().id) and "normal" not in h.status_text(h.last_request().id)
    h.submit_request(AE, urgency="urgent", account="Globex")
    assert "🚨 Urgent" in h.status_text(h.last_request().id)


def test_the_reping_carries_claim_and_the_escalation_carries_what_the_ae_can_do(make_harness):
    h = make_harness(fanout_limit=1)
    h.person(AE)
    h.expert("U0EXP1", "kubernetes:expert")
    h.expert("U0REL", "kubernetes-security")  # a related skill, reached by widening
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    h.at(MON + timedelta(minutes=31))
    h.tick()
    reping = [m for m in h.slack.dm_messages("U0EXP1") if m.get("thread_ts")]
    assert len(reping) == 1 and _buttons(reping[0]) == [Action.CLAIM]
    h.at(MON + timedelta(minutes=91))
    h.tick()
    escalation = next(m for m in h.slack.dm_messages(AE) if "still unclaimed" in m["text"])
    assert _buttons(escalation) == [Action.SEND_URGENT, Action.WIDEN_NOW, Action.CANCEL]
    # Claim from the re-ping's thread
    reply = h.driver.action("U0EXP1", Action.CLAIM, str(request.id), channel_id=reping[0]["channel"],
                            message_ts=reping[0]["ts"])
    assert reply.status == 200
    h.drain()
    assert h.last_request().status == RequestStatus.CLAIMED


def test_widen_now_from_the_escalation(make_harness):
    h = make_harness(fanout_limit=1)
    h.person(AE)
    h.expert("U0EXP1", "kubernetes:expert")
    h.expert("U0REL", "kubernetes-security")
    h.submit_request(AE, meeting_at=THU)
    request = h.last_request()
    assert h.offer(request.id, "U0REL") is None
    refused = h.driver.action("U0EXP1", Action.WIDEN_NOW, str(request.id))
    h.drain()
    said = h.said(refused)
    assert "Only the requester or a manager" in said  # an expert may not
    h.driver.action(AE, Action.WIDEN_NOW, str(request.id))
    h.drain()
    assert h.offer(request.id, "U0REL").ts
    assert Action.CLAIM in json.dumps(h.slack.message(h.offer(request.id, "U0REL").channel_id,
                                                      h.offer(request.id, "U0REL").ts))


def test_the_request_form_shows_what_the_chosen_type_needs(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.open_form(AE)
    opened = h.slack.opened_views[-1]
    ids = {b.get("block_id") for b in opened["blocks"]}
    assert {"meeting_at", "duration", "brief_problem"} <= ids and "needed_by" not in ids
    reply = h.driver.action(AE, "value", None, block_id="kind", view=opened["id"],
                            selected_option={"text": {"type": "plain_text", "text": "Ad-hoc question"},
                                             "value": "question"})
    assert reply.status == 200
    h.drain()
    updated = h.slack.view(opened["id"])
    ids = {b.get("block_id") for b in updated["blocks"]}
    assert "needed_by" in ids and not ({"meeting_at", "duration", "brief_problem"} & ids)
    assert updated["private_metadata"] == opened["private_metadata"]  # the deal channel is kept
