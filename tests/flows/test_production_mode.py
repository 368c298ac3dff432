"""The app as deployed (process_before_response=False): Slack gets its ack first, the work
follows. The test polls the fake's call log instead of waiting on the app."""

from bot.slack.ids import Action
from models import RequestStatus
from tests.harness import AE


def test_full_flow_with_ack_first(make_harness):
    h = make_harness(process_before_response=False)
    h.person(AE)
    h.expert("U0EXP1")
    h.expert("U0EXP2")
    reply = h.driver.command(AE, "demo kubernetes for Acme Tue 3pm")
    assert reply.status == 200 and reply.elapsed < 1.0
    h.slack.wait_for("views.open")
    submit = h.driver.submit_view(AE, "request_modal", h.request_values())
    assert submit.status == 200
    h.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == "C0DEAL")
    request = h.last_request()
    h.drain()
    claim = h.click("U0EXP1", Action.CLAIM, request.id, drain=False)
    assert claim.status == 200
    h.slack.wait_for(lambda c: c.method == "chat.postMessage" and bool(c.params.get("thread_ts")))
    h.drain()
    assert h.last_request().status == RequestStatus.CLAIMED
    assert "Claimed by <@U0EXP1>" in h.dm_text("U0EXP2", request.id)


def test_web_workers_never_start_a_scheduler(make_harness):
    """RELIABILITY 49: building the WSGI app (what every gunicorn worker does) starts no scheduler."""
    import threading

    make_harness(process_before_response=False)
    names = [t.name for t in threading.enumerate()]
    assert not any("APScheduler" in n for n in names), names
