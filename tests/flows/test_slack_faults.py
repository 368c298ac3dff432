"""Slack misbehaving during a broadcast: nobody is lost, failures are recorded per expert."""

from bot.slack.ids import Action
from models import RequestStatus
from tests.harness import AE


def test_an_unreachable_expert_does_not_stop_the_others(h):
    h.person(AE)
    h.slack.strict_users = True
    h.person("U0OK1", tz="UTC")
    h.person("U0OK2", tz="UTC")
    h.slack.add_user("U0GONE", deleted=True)
    for u in ("U0OK1", "U0GONE", "U0OK2"):
        h.expert(u) if u != "U0GONE" else _expert_only_in_directory(h, u)
    h.submit_request(AE)
    request = h.last_request()
    assert h.offer(request.id, "U0OK1").ts and h.offer(request.id, "U0OK2").ts
    gone = h.offer(request.id, "U0GONE")
    assert gone.ts is None and gone.sent_at is None and gone.error == "channel_not_found" and gone.failed_at
    assert "2 notified" in h.status_text(request.id)


def _expert_only_in_directory(h, user_id):
    from bot import clock
    from bot.services import directory

    with h.db.session() as session:
        directory.set_expert(session, team_id="T0001", user_id=user_id, skills=[("kubernetes", directory.SkillLevel.EXPERT)],
                             now=clock.now())


def test_rate_limits_are_waited_out_and_every_expert_is_notified_once(h):
    h.person(AE)
    experts = [h.expert(f"U0EX{i:02d}") for i in range(12)]
    h.slack.rate_limit("chat.postMessage", times=4, retry_after=1)
    h.submit_request(AE)
    request = h.last_request()
    for u in experts:
        assert len(h.slack.dm_messages(u)) == 1, u
        assert h.offer(request.id, u).ts
    limited = [c for c in h.slack.calls_to("chat.postMessage") if c.outcome == "429"]
    assert len(limited) == 4


def test_server_errors_are_retried(h):
    h.person(AE)
    experts = [h.expert(f"U0EX{i:02d}") for i in range(5)]
    h.slack.server_error("chat.postMessage", times=3, status=503)
    h.submit_request(AE)
    request = h.last_request()
    assert all(h.offer(request.id, u).ts for u in experts)
    assert all(len(h.slack.dm_messages(u)) == 1 for u in experts)


def test_private_deal_channel_without_the_bot_falls_back_to_the_ae_dm(h):
    h.person(AE)
    h.expert("U0EXP1")
    h.slack.add_channel("G0SECRET", member=False, private=True)
    h.submit_request(AE, channel_id="G0SECRET")
    request = h.last_request()
    assert request.status_channel and request.status_channel.startswith("D")
    dms = h.slack.dm_messages(AE)
    assert any("/invite" in m["text"] for m in dms)
    h.click("U0EXP1", Action.CLAIM, request.id)
    assert "Claimed by <@U0EXP1>" in h.status_text(request.id)
    assert h.last_request().status == RequestStatus.CLAIMED


def test_ephemeral_answers_survive_a_used_up_response_url(h):
    """RELIABILITY 25: a response_url used a 6th time -> the answer still arrives (chat.postEphemeral)."""
    h.person(AE)
    url = h.slack.response_url("spent")
    for _ in range(6):
        assert h.driver.command(AE, "help", response_url=url).status == 200
    h.drain()
    answered = [c for c in h.slack.calls_to("response_url") if c.status == 200]
    refused = [c for c in h.slack.calls_to("response_url") if c.status != 200]
    assert len(answered) == 5 and len(refused) == 1
    ephemerals = h.slack.ephemerals(AE)
    assert len(ephemerals) == 1 and "/presales expert add" in str(ephemerals[0])


def test_a_revoked_token_pauses_slack_calls_instead_of_a_retry_storm(h, caplog):
    """RELIABILITY 45: invalid_auth / token_revoked -> stop calling Slack for a while, say so loudly."""
    import logging

    h.person(AE)
    for i in range(5):
        h.expert(f"U0EX{i}")
    h.slack.fail("*", error="token_revoked", times=1)
    with caplog.at_level(logging.WARNING):
        h.submit_request(AE)
    calls = [c for c in h.slack.calls if c.method not in ("auth.test", "response_url")]
    assert len(calls) == 1  # the first refusal; nothing after it
    assert any(r.levelname == "CRITICAL" and "token_revoked" in r.getMessage() for r in caplog.records)
    request = h.last_request()
    assert all(h.offer(request.id, f"U0EX{i}").ts is None for i in range(5))  # retried later, not lost
