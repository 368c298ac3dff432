"""Tests of the test doubles themselves: FakeSlack (tests/fakes/slack/) and
SlackDriver (tests/fakes/signing.py).

If these fail, every other test's verdict is suspect, so they check the behaviours the
suite relies on: Slack-like answers, recorded calls, contract violations, fault
injection, and correctly signed requests.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fakes.signing import SlackDriver, plain_text_input, static_select
from tests.fakes.slack import FakeSlack, check_blocks, load_web_api_spec, specs_dir

# The fake Slack and the driver alone: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic

SECRET = "test-signing-secret"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> Iterator[FakeSlack]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


def modal(callback_id: str = "cb", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": "Request"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [section("hello")],
        **extra,
    }


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --------------------------------------------------------------------------- spec


def test_spec_is_loaded_with_its_real_shape() -> None:
    spec = load_web_api_spec()
    assert (specs_dir() / "slack_web_openapi_v2.json").is_file()
    assert spec["chat.postMessage"].required == ("channel",)
    assert spec["chat.postMessage"].token_required
    assert spec["views.open"].required == ("trigger_id", "view")
    assert not spec["api.test"].token_required
    assert "files.getUploadURLExternal" not in spec  # newer than the spec: allow-listed
    assert not spec["users.info"].accepts_json


# --------------------------------------------------------------------------- basics


def test_auth_test_and_call_log(fake: FakeSlack, client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["team_id"] == "T0001" and answer["user_id"] == "UBOT" and answer["bot_id"] == "B0001"
    (call,) = fake.calls_to("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.outcome == "ok" and call.status == 200
    fake.clear_calls()
    assert fake.calls == []
    assert fake.violations == []


def test_post_message_to_user_lands_in_stable_dm(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("*New request*"), {"type": "actions", "elements": [button("Claim", "claim", "req-1")]}]
    first = client.chat_postMessage(channel="U123", text="New request", blocks=blocks)
    second = client.chat_postMessage(channel="U123", text="again")
    assert first["channel"] == second["channel"] == "D123"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "New request"
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == blocks  # slack_sdk sends JSON
    # Form-encoded, blocks arrive as a JSON string and stay that way in the call log.
    client.api_call("chat.postMessage", params={"channel": "U123", "text": "form", "blocks": json.dumps(blocks)})
    form_call = fake.calls_to("chat.postMessage")[-1]
    assert form_call.json_body is None and form_call.params["blocks"] == json.dumps(blocks)
    dms = fake.dm_messages("U123")
    assert [m["text"] for m in dms] == ["New request", "again", "form"]
    assert dms[2]["blocks"] == blocks
    assert dms[0]["blocks"] == blocks
    assert fake.message("D123", first["ts"]) == dms[0]
    assert fake.violations == []


def test_json_body_is_accepted_and_parsed(fake: FakeSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", json={"channel": "C0DEAL", "text": "via json"})
    (call,) = fake.calls_to("chat.postMessage")
    assert call.json_body == {"channel": "C0DEAL", "text": "via json"}
    assert call.token == "xoxb-test"
    assert [m["text"] for m in fake.channel_messages("C0DEAL")] == ["via json"]


def test_chat_update_needs_a_message_the_fake_posted(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C0DEAL", ts="1.000001", text="nope")
    assert excinfo.value.response["error"] == "message_not_found"
    posted = client.chat_postMessage(channel="C0DEAL", text="v1", blocks=[section("one")])
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")
    assert updated["text"] == "v2"
    latest = fake.message("C0DEAL", posted["ts"])
    assert latest is not None and latest["text"] == "v2"
    assert latest["blocks"] == [section("one")]  # omitted blocks are kept, as Slack does
    client.chat_delete(channel="C0DEAL", ts=posted["ts"])
    assert fake.message("C0DEAL", posted["ts"]) is None
    assert fake.calls_to("chat.update")[0].outcome == "error:message_not_found"


# --------------------------------------------------------------------------- contract checks


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "actions", "elements": [button("x" * 80)]}],  # button text > 75
        [section("x" * 3001)],  # section text > 3000
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "actions", "elements": [button("ok", value="v" * 2001)]}],
        [section("ok")] * 51,  # > 50 blocks in a message
        [{"type": "no_such_block"}],
        [{"type": "section", "text": "a bare string"}],
    ],
    ids=["button-text", "section-text", "header-text", "button-value", "too-many", "unknown-type", "bare-text"],
)
def test_invalid_blocks_are_refused_and_recorded(fake: FakeSlack, client: WebClient, blocks: list[Any]) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0DEAL", text="t", blocks=blocks)
    assert excinfo.value.response["error"] == "invalid_blocks"
    assert len(fake.violations) == 1 and fake.violations[0].startswith("chat.postMessage:")
    assert fake.messages == {}


def test_valid_blocks_pass_the_checker() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deal desk"}},
        section("x" * 3000),
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
        {"type": "actions", "elements": [button("x" * 75, "a1"), button("y", "a2", "v" * 2000)]},
    ]
    assert check_blocks(blocks) == []


def test_expect_invalid_answers_but_records_nothing(fake: FakeSlack, client: WebClient) -> None:
    fake.expect_invalid = True
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0DEAL", text="t", blocks=[section("x" * 3001)])
    assert fake.violations == []


def test_message_needs_text_or_blocks(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", params={"channel": "C0DEAL"})
    assert excinfo.value.response["error"] == "no_text"
    assert fake.violations


def test_missing_required_argument_is_a_spec_violation(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", params={"text": "no channel"})
    assert excinfo.value.response["error"] == "invalid_arguments"
    assert any("chat.postMessage" in v and "channel" in v for v in fake.violations)


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.api_url).chat_postMessage(channel="C0DEAL", text="x")
    assert excinfo.value.response["error"] == "not_authed"
    assert any("token" in v for v in fake.violations)


def test_unknown_method_is_refused_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMesage", params={"channel": "C1", "text": "typo"})
    assert excinfo.value.response["error"] == "unknown_method"
    assert any("chat.postMesage" in v for v in fake.violations)


def test_invalid_view_is_refused_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="1.2.3", view=modal(private_metadata="m" * 3001))
    assert excinfo.value.response["error"] == "invalid_arguments"
    assert any("private_metadata" in v for v in fake.violations)


# --------------------------------------------------------------------------- users & channels


def test_users_info_reports_timezone(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U100", tz="Asia/Tokyo", email="ken@example.com", name="ken")
    fake.add_user("U200", tz="America/New_York")
    user = client.users_info(user="U100")["user"]
    assert user["tz"] == "Asia/Tokyo" and user["tz_offset"] == 9 * 3600
    assert user["tz_label"] == "Japan Standard Time"
    assert user["profile"]["email"] == "ken@example.com" and user["name"] == "ken"
    ny = client.users_info(user="U200")["user"]
    expected = datetime.now(ZoneInfo("America/New_York")).utcoffset()
    assert expected is not None and ny["tz_offset"] == int(expected.total_seconds())
    assert client.users_lookupByEmail(email="KEN@example.com")["user"]["id"] == "U100"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U404")
    assert excinfo.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@example.com")
    assert excinfo.value.response["error"] == "users_not_found"


def test_dm_rules_follow_slack(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("UGONE", deleted=True)
    fake.add_user("UROBOT", is_bot=True)

    def error_of(channel: str) -> str:
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=channel, text="hi")
        return str(excinfo.value.response["error"])

    assert error_of("UGONE") == "channel_not_found"
    assert error_of("UROBOT") == "cannot_dm_bot"
    client.chat_postMessage(channel="UNEW", text="unregistered users are accepted by default")
    opened = client.conversations_open(users="U5")
    assert opened["channel"]["id"] == "D5"
    fake.strict_users = True
    assert error_of("UOTHER") == "channel_not_found"
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_open(users="UOTHER")
    assert excinfo.value.response["error"] == "user_not_found"


def test_channel_rules_follow_slack(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("CPRIV", member=False, private=True)
    fake.add_channel("CPUB", member=False)
    fake.add_channel("COLD", archived=True)
    client.chat_postMessage(channel="CPUB", text="chat:write.public")
    client.chat_postMessage(channel="CNEW", text="unknown C ids are accepted")
    for channel, error in (("CPRIV", "channel_not_found"), ("COLD", "is_archived")):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=channel, text="x")
        assert excinfo.value.response["error"] == error


def test_ephemeral_messages_are_kept_per_user(fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel="C0DEAL", user="U1", text="only you")
    assert answer["message_ts"]
    assert [e["text"] for e in fake.ephemerals("U1")] == ["only you"]
    assert fake.ephemerals("U2") == []


# --------------------------------------------------------------------------- views & files


def test_views_open_update_publish(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=modal("req"))["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert fake.opened_views[0]["callback_id"] == "req"
    with pytest.raises(SlackApiError) as excinfo:  # a trigger works once
        client.views_open(trigger_id=trigger, view=modal("req"))
    assert excinfo.value.response["error"] == "exchanged_trigger_id"
    fake.violations.clear()

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("req", blocks=[section("v2")]))
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert fake.view(opened["id"])["blocks"] == [section("v2")]  # type: ignore[index]
    with pytest.raises(SlackApiError) as excinfo:  # stale hash
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("req"))
    assert excinfo.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id="VNOPE", view=modal("req"))
    assert excinfo.value.response["error"] == "not_found"

    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("home")]})
    assert fake.views_published["U1"]["blocks"] == [section("home")]
    assert fake.violations == []


def test_expired_trigger_is_refused(fake: FakeSlack, client: WebClient) -> None:
    fake.trigger_ttl = 0.0
    trigger = fake.issue_trigger_id()
    time.sleep(0.01)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=modal())
    assert excinfo.value.response["error"] == "expired_trigger_id"
    assert any("trigger_id" in v for v in fake.violations)


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    answer = client.files_upload_v2(channel="C0DEAL", content=b"deal notes", filename="notes.txt", title="Notes")
    file_id = answer["file"]["id"]
    assert fake.uploads[file_id]["data"] == b"deal notes"
    assert fake.uploads[file_id]["completed"] and fake.uploads[file_id]["channel_id"] == "C0DEAL"
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert fake.violations == []


# --------------------------------------------------------------------------- faults


def test_rate_limit_without_retry_handler_raises_429(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0DEAL", text="x")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] in ("7", ["7"])
    assert fake.calls_to("chat.postMessage")[0].outcome == "429"
    client.chat_postMessage(channel="C0DEAL", text="the fault was consumed")


def test_rate_limit_with_retry_handler_succeeds(fake: FakeSlack) -> None:
    client = WebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    answer = client.chat_postMessage(channel="C0DEAL", text="eventually")
    assert answer["ok"]
    assert [c.outcome for c in fake.calls_to("chat.postMessage")] == ["429", "ok"]
    assert len(fake.channel_messages("C0DEAL")) == 1


def test_fail_and_server_error_injection(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0DEAL", text="x")
        assert excinfo.value.response["error"] == "channel_not_found"
    client.chat_postMessage(channel="C0DEAL", text="third time lucky")
    fake.server_error("auth.test", status=503, body="upstream down")
    with pytest.raises(SlackApiError) as excinfo:
        client.auth_test()
    assert excinfo.value.response.status_code == 503
    assert [c.outcome for c in fake.calls] == ["error:channel_not_found"] * 2 + ["ok", "503"]


def test_chaos_is_seeded(fake: FakeSlack, client: WebClient) -> None:
    def outcomes() -> list[str]:
        fake.reset()
        fake.chaos("api.test", rate_limit=0.3, server_error=0.2, seed=42)
        for _ in range(20):
            try:
                client.api_test()
            except SlackApiError:
                pass
        return [c.outcome for c in fake.calls]

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "429", "500"} <= set(first)


def test_latency_is_added(fake: FakeSlack, client: WebClient) -> None:
    fake.latency_for["api.test"] = 0.15
    started = time.monotonic()
    client.api_test()
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.15


def test_wait_for_sees_late_calls_and_explains_timeouts(fake: FakeSlack, client: WebClient) -> None:
    timer = threading.Timer(0.1, lambda: client.chat_postMessage(channel="U9", text="later"))
    timer.start()
    try:
        (call,) = fake.wait_for(lambda c: c.method == "chat.postMessage" and c.params["channel"] == "U9", timeout=3)
    finally:
        timer.join()
    assert call.params["text"] == "later"
    with pytest.raises(AssertionError, match=r"chat\.postMessage \[ok\] channel=U9"):
        fake.wait_for("views.open", timeout=0.1)


def test_concurrent_calls_are_all_recorded_with_unique_ts(fake: FakeSlack, client: WebClient) -> None:
    answers: list[str] = []

    def post(i: int) -> None:
        answers.append(client.chat_postMessage(channel="C0DEAL", text=f"m{i}")["ts"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(answers)) == 40
    assert len(fake.calls_to("chat.postMessage")) == 40 and len(fake.channel_messages("C0DEAL")) == 40


def test_response_url_allows_five_uses(fake: FakeSlack) -> None:
    url = fake.response_url()
    statuses = [post_json(url, {"text": f"update {i}", "replace_original": True})[0] for i in range(6)]
    assert statuses == [200] * 5 + [404]
    calls = fake.calls_to("response_url")
    assert [c.outcome for c in calls] == ["ok"] * 5 + ["404"]
    assert calls[0].params["text"] == "update 0"
    assert post_json(url, {"text": "again"})[1]["error"] == "used_url"


def test_reset_clears_everything(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U1")
    fake.fail("api.test")
    client.chat_postMessage(channel="U1", text="x")
    fake.violations.append("something")
    fake.reset()
    assert fake.calls == [] and fake.messages == {} and fake.violations == [] and fake.user("U1") is None
    assert client.api_test()["ok"]  # the fault is gone, the server still runs


# --------------------------------------------------------------------------- the driver


class _EchoApp:
    """A tiny app that verifies Slack signatures and echoes what it received."""

    def __init__(self, status: int = 200) -> None:
        verifier = SignatureVerifier(SECRET)
        self.requests: list[dict[str, Any]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._answer(200 if self.path == "/healthz" else 404, {"path": self.path})

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = verifier.is_valid_request(body, headers)
                echo.requests.append({"body": body, "headers": headers, "valid": valid})
                self._answer(status if valid else 401, {"valid": valid})

            def _answer(self, code: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def last_form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[-1]["body"].decode(), keep_blank_values=True).items()}

    def last_payload(self) -> dict[str, Any]:
        return json.loads(self.last_form()["payload"])


@pytest.fixture
def echo() -> Iterator[_EchoApp]:
    app = _EchoApp()
    yield app
    app.close()


@pytest.fixture
def driver(echo: _EchoApp, fake: FakeSlack) -> SlackDriver:
    return SlackDriver(echo.url, SECRET, fake=fake)


def test_command_is_signed_and_shaped_like_slack(driver: SlackDriver, echo: _EchoApp, fake: FakeSlack) -> None:
    reply = driver.command("U1", "help me", channel_id="C0DEAL")
    assert reply.status == 200 and reply.json == {"valid": True} and reply.elapsed > 0
    form = echo.last_form()
    assert form["command"] == "/presales" and form["text"] == "help me" and form["user_id"] == "U1"
    assert form["team_id"] == "T0001" and form["api_app_id"] == "A0001"
    assert form["is_enterprise_install"] == "false"
    assert form["response_url"].startswith(fake.base_url + "/response/")
    assert len(form["trigger_id"].split(".")) == 3
    assert driver.command("U1")  # a second trigger_id differs
    assert echo.last_form()["trigger_id"] != form["trigger_id"]


def test_action_carries_the_message_the_fake_holds(
    driver: SlackDriver, echo: _EchoApp, fake: FakeSlack, client: WebClient
) -> None:
    blocks = [{"type": "actions", "block_id": "req", "elements": [button("Claim", "claim", "deal-42")]}]
    posted = client.chat_postMessage(channel="U7", text="New request", blocks=blocks)
    reply = driver.action("U7", "claim", message_ts=posted["ts"])
    assert reply.json == {"valid": True}
    payload = echo.last_payload()
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "D7",
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "D7" and payload["message"]["blocks"] == blocks
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "claim",
        "req",
        "deal-42",
        "button",
    )
    driver.action("U7", "pick", selected_option="high", view={"id": "V1", "type": "modal"})
    view_payload = echo.last_payload()
    assert view_payload["container"] == {"type": "view", "view_id": "V1"}
    assert view_payload["actions"][0]["selected_option"]["value"] == "high"
    assert "message" not in view_payload


def test_submit_view_uses_the_view_the_fake_opened(
    driver: SlackDriver, echo: _EchoApp, fake: FakeSlack, client: WebClient
) -> None:
    opened = client.views_open(trigger_id=fake.issue_trigger_id(), view=modal("req", private_metadata='{"deal": 1}'))
    values = {"title": {"t": plain_text_input("Need SE")}, "prio": {"p": static_select("high")}}
    assert driver.submit_view("U1", "req", values).json == {"valid": True}
    view = echo.last_payload()["view"]
    assert echo.last_payload()["type"] == "view_submission"
    assert view["id"] == opened["view"]["id"] and view["private_metadata"] == '{"deal": 1}'
    assert view["state"]["values"]["prio"]["p"]["selected_option"]["value"] == "high"
    assert driver.close_view("U1", "req").json == {"valid": True}
    assert echo.last_payload()["type"] == "view_closed"
    assert driver.block_suggestion("U1", "search", "acm", callback_id="req").json == {"valid": True}
    assert echo.last_payload()["value"] == "acm" and echo.last_payload()["type"] == "block_suggestion"


def test_event_envelope_matches_slacks_schema(driver: SlackDriver, echo: _EchoApp) -> None:
    schema = json.loads((specs_dir() / "slack_common_event_wrapper_schema.json").read_text())
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "channel": "C0DEAL", "ts": "1.2"}
    jsonschema.validate(driver.event_envelope(event), schema)
    reply = driver.event(event, retry_num=1, retry_reason="http_timeout")
    assert reply.json == {"valid": True}
    sent = echo.requests[-1]
    assert sent["headers"]["x-slack-retry-num"] == "1"
    assert sent["headers"]["x-slack-retry-reason"] == "http_timeout"
    assert sent["headers"]["content-type"] == "application/json"
    envelope = json.loads(sent["body"])
    jsonschema.validate(envelope, schema)
    assert envelope["event"]["event_ts"] and envelope["event_id"].startswith("Ev")


def test_tampered_or_stale_requests_do_not_verify(driver: SlackDriver, echo: _EchoApp) -> None:
    body = b"token=x&team_id=T0001&command=%2Fpresales&text=hi"
    headers = {"Content-Type": "application/x-www-form-urlencoded", **driver.sign(body)}
    assert driver.raw(body, headers).status == 200
    tampered = body[:-1] + b"o"  # one byte changed
    reply = driver.raw(tampered, headers)
    assert reply.status == 401 and reply.json == {"valid": False}  # non-2xx returned, not raised
    stale = {"Content-Type": "application/x-www-form-urlencoded", **driver.sign(body, ts=int(time.time()) - 600)}
    assert driver.raw(body, stale).status == 401
    assert driver.raw(body, {"Content-Type": "application/x-www-form-urlencoded"}).status == 401
    assert [r["valid"] for r in echo.requests] == [True, False, False, False]


def test_get_and_non_2xx(driver: SlackDriver) -> None:
    assert driver.get("/healthz").status == 200
    missing = driver.get("/nope")
    assert missing.status == 404 and missing.json == {"path": "/nope"}


def test_driver_without_fake_builds_standalone_payloads(echo: _EchoApp) -> None:
    driver = SlackDriver(echo.url, SECRET)
    assert driver.action("U1", "go", "v", channel_id="C1", message_ts="1.000001").json == {"valid": True}
    payload = echo.last_payload()
    assert payload["response_url"].startswith("https://hooks.slack.com/actions/")
    assert payload["actions"][0]["value"] == "v" and payload["actions"][0]["block_id"] == "b"


# --------------------------------------------------------------------------- both, with Bolt


def test_bolt_routes_every_driver_payload(fake: FakeSlack) -> None:
    """Bolt itself accepts the driver's requests and the fake's answers, end to end."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-test", base_url=fake.api_url),
        process_before_response=True,
    )
    seen: list[str] = []

    @app.command("/presales")
    def on_command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal("req"))
        seen.append("command")

    @app.action("claim")
    def on_claim(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        respond(text=f"claimed {body['actions'][0]['value']}", replace_original=True)
        seen.append("action")

    @app.view("req")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        ack()
        seen.append("submit:" + view["state"]["values"]["title"]["t"]["value"])

    @app.options("search")
    def on_options(ack: Any) -> None:
        ack(options=[{"text": {"type": "plain_text", "text": "Acme"}, "value": "acme"}])
        seen.append("options")

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], say: Any) -> None:
        say(text="on it", channel=event["channel"])
        seen.append("event")

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    class ThreadedWSGIServer(WSGIServer):
        daemon_threads = True

    httpd = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), server_class=ThreadedWSGIServer, handler_class=QuietHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        driver = SlackDriver(f"http://127.0.0.1:{httpd.server_address[1]}", SECRET, fake=fake)
        assert driver.command("U1", "new").status == 200
        assert fake.calls_to("auth.test")  # Bolt verified its token against the fake
        posted = WebClient(token="xoxb-test", base_url=fake.api_url).chat_postMessage(
            channel="U1", text="req", blocks=[{"type": "actions", "elements": [button("Claim", "claim", "deal-9")]}]
        )
        assert driver.action("U1", "claim", message_ts=posted["ts"]).status == 200
        assert driver.submit_view("U1", "req", {"title": {"t": plain_text_input("SE please")}}).status == 200
        options = driver.block_suggestion("U1", "search", "ac", callback_id="req")
        assert options.status == 200 and options.json["options"][0]["value"] == "acme"
        assert driver.event({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C0DEAL"}).status == 200
        tampered = driver.raw(b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"})
        assert tampered.status == 401
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert seen == ["command", "action", "submit:SE please", "options", "event"]
    assert fake.opened_views[0]["callback_id"] == "req"
    assert fake.calls_to("response_url")[0].params["text"] == "claimed deal-9"
    assert [m["text"] for m in fake.channel_messages("C0DEAL")] == ["on it"]
    assert fake.violations == []
