"""RELIABILITY 16: no secret — the bot token, the signing secret, the database password — ever
appears in a log line, an error message, anything sent to Slack, or /healthz.

One broad scenario runs with every logger at DEBUG (the root logger and slack_bolt, slack_sdk,
sqlalchemy, alembic, urllib3 — more than production ever logs): a request and a claim; Slack
answering 500 and ``invalid_auth``; an unhandled exception in a listener and tampered payloads;
a second web app whose PostgreSQL URL carries a password while that database is down (/healthz,
/metrics, a command, a form); and the CLI failing against that URL (``db upgrade``, ``digest``,
``directory export/import``, ``run-job``) and against a Slack that refuses the token (``serve``,
``scheduler``). Then everything captured is searched: caplog's records (message and traceback),
the process's stdout/stderr (capfd, where the app's JSON log handler writes), the CLI's own
stdout/stderr, every HTTP answer the app gave, every reply people saw, and everything the app
sent to Slack (all parameters and bodies — only the Authorization header, where the token
belongs, is left out).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import traceback

import pytest

from bot import cli
from bot.config import get_settings
from bot.services import claims
from bot.slack.ids import Action, Block, View
from tests.cli.conftest import CONFIG_VARS
from tests.harness import AE, SECRET, TEAM, TOKEN, Harness

PASSWORD = "s3cretpw"
PG_URL = f"postgresql://presales:{PASSWORD}@127.0.0.1:1/presales"  # nothing listens on port 1
SECRETS = {"bot token": TOKEN, "signing secret": SECRET, "database password": PASSWORD}
DEBUG_LOGGERS = ("slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "urllib3", "bot", "handlers")
E1, E2 = "U0EXP1", "U0EXP2"


def leaks(text: str) -> list[str]:
    """The secrets (by name) found in ``text``, also URL- or JSON-escaped."""
    found = []
    for name, secret in SECRETS.items():
        forms = {secret, json.dumps(secret)[1:-1], secret.replace("-", "%2D")}
        if any(form in text for form in forms):
            found.append(name)
    return found


def test_the_search_finds_a_planted_secret():
    """The grep below is only worth something if it finds what it looks for."""
    assert leaks(f"Authorization: Bearer {TOKEN}") == ["bot token"]
    assert leaks(f"postgresql://u:{PASSWORD}@h/db") == ["database password"]
    assert leaks(json.dumps({"secret": SECRET})) == ["signing secret"]
    assert leaks("xox*-*** and *** only") == []


class Seen:
    """Everything the scenario produced, by where it came from."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, text: object) -> None:
        self.items.append((where, text if isinstance(text, str) else json.dumps(text, default=str)))

    def reply(self, where: str, harness: Harness, reply) -> None:
        self.add(f"{where}: HTTP {reply.status}", reply.body)
        self.add(f"{where}: what the person read", harness.said(reply))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def debug_logs(caplog):
    def enable() -> None:
        caplog.set_level(logging.DEBUG)
        for name in DEBUG_LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name)

    enable()
    return enable


def test_no_secret_in_logs_errors_replies_or_healthz(make_harness, slack, caplog, capfd, monkeypatch, tmp_path,
                                                      debug_logs):
    """RELIABILITY 16: the broad scenario of the module docstring, then one search of everything."""
    seen = Seen()

    # ------------------------------------------------------------ a request, a claim
    h = make_harness(log_level="DEBUG")
    debug_logs()  # the app's configure_logging set the root level from its settings
    h.person(AE)
    h.expert(E1)
    h.expert(E2)
    seen.reply("request", h, h.submit_request(AE, account="Acme"))
    request = h.last_request()
    seen.reply("claim", h, h.click(E1, Action.CLAIM, request.id))
    seen.reply("late claim", h, h.click(E2, Action.CLAIM, request.id))
    for text in ("list", "stats", f"brief {request.id}", "directory", "digest this", "help"):
        seen.reply(f"/presales {text}", h, h.command(AE, text))

    # ------------------------------------------------------------ Slack failing: 500, then a dead token
    slack.server_error("chat.postMessage", times=1, status=500, body="upstream exploded")
    slack.server_error("views.open", times=1, status=503)
    seen.reply("request while Slack answers 500", h, h.submit_request(AE, account="Beta"))
    slack.fail("views.open", error="invalid_auth")
    seen.reply("form while Slack says invalid_auth", h, h.command(AE, ""))
    slack.fail("chat.postMessage", error="invalid_auth", times=3)
    seen.reply("request while the token is dead", h,
               h.submit_request(AE, account="Gamma", open_first=False))

    # ------------------------------------------------------------ unhandled exceptions
    def explode(*args, **kwargs):
        raise RuntimeError("claim exploded")

    monkeypatch.setattr(claims, "claim", explode)
    seen.reply("claim that crashes", h, h.driver.action(E2, Action.CLAIM, str(request.id),
                                                         block_id=Block.OFFER_ACTIONS))
    h.drain()
    monkeypatch.undo()
    tampered = [
        {"type": "view_submission", "view": "not a view", "user": {"id": AE}, "team": {"id": TEAM}},
        {"type": "view_submission", "view": {"callback_id": View.REQUEST, "state": "x"}, "user": {"id": AE},
         "team": {"id": TEAM}},
        {"type": "block_actions", "actions": None, "user": {"id": AE}, "team": {"id": TEAM}},
        {"type": "block_actions", "actions": [{"action_id": Action.CLAIM, "value": {"$ne": 1}}], "user": {"id": E1},
         "team": {"id": TEAM}},
    ]
    for n, payload in enumerate(tampered):
        reply = h.driver.post_payload(payload)
        h.drain()
        seen.add(f"tampered payload {n}: HTTP {reply.status}", reply.body)
    forged = h.driver.raw(b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded",
                                             "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"})
    seen.add(f"forged signature: HTTP {forged.status}", forged.body)
    seen.add("metrics", h.driver.get("/metrics").body)
    seen.add("healthz (database up)", h.driver.get("/healthz").body)

    # ------------------------------------------------------------ a web app whose database (with a password) is down
    down = Harness(slack, PG_URL, log_level="DEBUG")
    debug_logs()
    try:
        health = down.driver.get("/healthz")
        seen.add(f"healthz (database down): HTTP {health.status}", health.body)
        assert health.status == 503 and json.loads(health.body)["database"] == "down"
        seen.add("metrics (database down)", down.driver.get("/metrics").body)
        seen.reply("/presales list (database down)", down, down.command(AE, "list"))
        seen.reply("/presales (database down)", down, down.command(AE, "demo kubernetes for Acme Tue 3pm"))
        submitted = down.driver.submit_view(AE, View.REQUEST, down.request_values())
        down.drain()
        seen.add(f"request form (database down): HTTP {submitted.status}", submitted.body)
        seen.reply("claim (database down)", down, down.driver.action(E1, Action.CLAIM, "1",
                                                                      block_id=Block.OFFER_ACTIONS))
        down.drain()
    finally:
        try:
            down.close()
        except AssertionError as exc:  # background work that failed against the dead database
            seen.add("background failures (database down)", str(exc))

    # ------------------------------------------------------------ the CLI against that database
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    env = {"DATABASE_URL": PG_URL, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.api_url, "LOG_LEVEL": "DEBUG", "PORT": str(_free_port())}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import_file = tmp_path / "experts.csv"
    import_file.write_text("user,skills\nU0KATE,kubernetes\n", encoding="utf-8")

    def run(*argv: str) -> int | None:
        get_settings.cache_clear()
        out, err = io.StringIO(), io.StringIO()
        code = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:
                code = exc.code
            except Exception:  # what Python would print if main let it escape
                err.write(traceback.format_exc())
        seen.add(f"presales-bot {' '.join(argv)}: stdout", out.getvalue())
        seen.add(f"presales-bot {' '.join(argv)}: stderr (exit {code})", err.getvalue())
        debug_logs()
        return code

    try:
        assert run("db", "upgrade") not in (0, None)
        run("digest", "--team", TEAM)
        run("directory", "export", "--team", TEAM)
        run("directory", "import", str(import_file), "--team", TEAM)
        run("run-job", "sweep_due_work")
        slack.valid_tokens = {"xoxb-the-real-one"}  # Slack refuses our token from now on
        assert run("serve", "--no-scheduler") not in (0, None)
        assert run("scheduler") not in (0, None)
        monkeypatch.setenv("DATABASE_URL", f"postgresql://presales:{PASSWORD}@127.0.0.1:notaport/presales")
        run("db", "upgrade")
        monkeypatch.setenv("DATABASE_URL", f"presales:{PASSWORD}@nowhere/presales")
        run("db", "upgrade")
    finally:
        get_settings.cache_clear()

    # ------------------------------------------------------------ search everything
    captured = capfd.readouterr()
    seen.add("stdout", captured.out)
    seen.add("stderr", captured.err)
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        seen.add(f"log {record.levelname} {record.name}", text)
    seen.add("caplog.text", caplog.text)
    for call in slack.calls:
        headers = {k: v for k, v in call.headers.items() if k != "authorization"}
        seen.add(f"to Slack: {call.method}", {"params": call.params, "json": call.json_body, "headers": headers,
                                              "answered": call.response})
    assert any(call.token == TOKEN for call in slack.calls), "the app never used the token: the scenario did not run"
    assert any(record.exc_info for record in caplog.records), "no traceback was logged: no unhandled error path ran"

    found = [(where, names, text) for where, text in seen.items if (names := leaks(text))]
    report = "\n\n".join(f"{where}: {', '.join(names)}\n{_around(text)}" for where, names, text in found)
    assert not found, "secrets found:\n" + report


def _around(text: str) -> str:
    """The first leak in ``text`` with some context."""
    for secret in SECRETS.values():
        at = text.find(secret)
        if at >= 0:
            return text[max(0, at - 300): at + 100]
    return text[:400]
