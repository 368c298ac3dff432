"""`presales-bot serve`: a real gunicorn process, Slack-signed requests, /healthz, SIGTERM."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.config import Settings
from bot.migrate import upgrade
from bot.web import create_app
from tests.cli.conftest import BOT_TOKEN, CONFIG_VARS, REPO, SIGNING_SECRET, sqlite_url
from tests.fakes.signing import SlackDriver

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 25.0
USER = "U0SERVE"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers or {}), exc.read()


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def _stop(proc: subprocess.Popen) -> None:
    """Whatever happened, leave no gunicorn master or worker behind."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole session: master and workers
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.wait(5)


def start_server(tmp: Path, api_url: str, procfile: bool = False) -> Server:
    """`presales-bot serve`, or with ``procfile`` the Procfile's `gunicorn -c gunicorn.conf.py ...`."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=sqlite_url(tmp / "serve.db"),
        SLACK_API_URL=api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        XDG_RUNTIME_DIR=str(tmp),  # gunicorn's control socket
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = tmp / "serve.log"
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler",
               "--workers", "1", "--threads", "4"]
    if procfile:
        upgrade(env["DATABASE_URL"])  # the Procfile's release: step
        env.update(PORT=str(port), WEB_CONCURRENCY="1", PRESALES_WEB_THREADS="4")
        command = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "bot.web:create_app()"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode} before it was ready:\n{server.output()}")
            try:
                status, _, _ = http_get(server.url + "/healthz", timeout=1)
                if status == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz not 200 within {READY_TIMEOUT}s:\n{server.output()}")
            time.sleep(0.1)  # polling the subprocess for readiness
    except BaseException:
        _stop(proc)
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_slack):
    srv = start_server(tmp_path_factory.mktemp("serve"), fake_slack.api_url)
    try:
        yield srv
    finally:
        _stop(srv.proc)


@pytest.fixture
def driver(server, slack) -> SlackDriver:
    slack.add_user(USER, tz="Europe/Berlin")
    return SlackDriver(server.url, SIGNING_SECRET, fake=slack)


def command_body(slack, text: str = "help") -> tuple[bytes, str]:
    """A /presales form body as Slack sends it, and its response_url token."""
    response_url = slack.response_url()
    fields = {
        "token": "verification-token", "team_id": "T0001", "team_domain": "acme-sales", "channel_id": "C0DEAL",
        "channel_name": "c0deal", "user_id": USER, "user_name": USER.lower(), "command": "/presales", "text": text,
        "api_app_id": "A0001", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": slack.issue_trigger_id(),
    }
    return urlencode(fields).encode(), response_url.rsplit("/", 1)[-1]


def wait_for_answer(slack, token: str, timeout: float = 10) -> dict:
    calls = slack.wait_for(lambda c: c.method == "response_url" and c.path.endswith(token), timeout=timeout)
    return calls[0].json_body or calls[0].params


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# ------------------------------------------------------------------ the running server


def test_healthz_is_ok(server):
    status, headers, body = http_get(server.url + "/healthz")
    assert status == 200
    assert headers.get("Content-Type", "").startswith("application/json")
    assert json.loads(body)["status"] == "ok"


def test_signed_help_command_is_answered_on_response_url(server, driver, slack):
    reply = driver.command(USER, "help")
    assert reply.status == 200, reply.body
    assert reply.elapsed < 3, "Slack gives the app 3 s to ack"
    token = reply.sent["response_url"].rsplit("/", 1)[-1]
    answer = wait_for_answer(slack, token)
    assert "/presales expert add" in json.dumps(answer)
    assert answer.get("response_type") == "ephemeral"


def test_wrong_signing_secret_is_rejected(server, driver, slack):
    forged = SlackDriver(server.url, "not-the-secret", fake=slack)
    reply = forged.command(USER, "help")
    assert reply.status == 401
    body, _ = command_body(slack)
    assert driver.raw(body, FORM).status == 401  # no signature at all
    assert not slack.calls_to("response_url")


def test_request_older_than_five_minutes_is_rejected(server, driver, slack):
    body, token = command_body(slack)
    stale = driver.raw(body, {**FORM, **driver.sign(body, ts=math.floor(time.time()) - 301)})
    assert stale.status == 401
    body, token = command_body(slack)
    recent = driver.raw(body, {**FORM, **driver.sign(body, ts=math.ceil(time.time()) - 299)})
    assert recent.status == 200, recent.body
    assert "/presales expert add" in json.dumps(wait_for_answer(slack, token))
    assert len(slack.calls_to("response_url")) == 1  # only the fresh one was answered


def _gunicorn_lines(log: Path) -> list[dict]:
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if "Booting worker" in line or "Listening at" in line]
    assert len(lines) >= 2, text[-4000:]
    return [json.loads(line) for line in lines]  # not JSON: gunicorn's own format


def test_gunicorn_lines_are_json_like_the_rest(server):
    assert {line["logger"] for line in _gunicorn_lines(server.log)} == {"gunicorn.error"}


def test_the_procfile_web_process_prints_only_json(tmp_path, fake_slack):
    """`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'` (LOG_FORMAT unset: json), start to
    SIGTERM: gunicorn's lines and the app's alike, one JSON object each."""
    srv = start_server(tmp_path, fake_slack.api_url, procfile=True)
    try:
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(STOP_TIMEOUT) == 0, srv.output()
    finally:
        _stop(srv.proc)
    assert {line["logger"] for line in _gunicorn_lines(srv.log)} == {"gunicorn.error"}
    text = srv.log.read_text(encoding="utf-8")
    assert "Shutting down: Master" in text
    for line in filter(str.strip, text.splitlines()):
        assert isinstance(json.loads(line), dict), line


def test_sigterm_stops_the_server_promptly(tmp_path, fake_slack):
    srv = start_server(tmp_path, fake_slack.api_url)
    try:
        assert http_get(srv.url + "/healthz")[0] == 200
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        try:
            code = srv.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {STOP_TIMEOUT}s after SIGTERM:\n{srv.output()}")
        assert code == 0, srv.output()
        assert time.monotonic() - started < STOP_TIMEOUT
        with pytest.raises(ProcessLookupError):
            os.killpg(srv.proc.pid, 0)  # no worker outlived the master
        with pytest.raises(OSError):
            http_get(srv.url + "/healthz", timeout=1)
        assert "Traceback" not in srv.output(), srv.output()
    finally:
        _stop(srv.proc)


def test_sigterm_lets_in_flight_dms_finish(tmp_path, fake_slack):
    """Graceful shutdown (issue 5): a broadcast still sending when SIGTERM arrives completes
    before the process exits (bounded by gunicorn's graceful timeout)."""
    from bot import clock
    from bot.db import Database
    from bot.services import directory
    from bot.services.skills import parse_skill_list
    from tests.harness import request_values

    fake_slack.reset()
    srv = start_server(tmp_path, fake_slack.api_url)
    try:
        experts = [f"U0TERM{i}" for i in range(6)]
        db = Database(sqlite_url(tmp_path / "serve.db"))
        with db.session() as session:
            for user in experts:
                directory.set_expert(session, team_id="T0001", user_id=user, now=clock.now(),
                                     skills=parse_skill_list("kubernetes"))
        db.dispose()
        fake_slack.latency_for["chat.postMessage"] = 0.4  # every DM takes a while
        driver = SlackDriver(srv.url, SIGNING_SECRET, team_id="T0001", fake=fake_slack)
        assert driver.command("U0AE", "").status == 200
        fake_slack.wait_for("views.open")
        assert driver.submit_view("U0AE", "request_modal", request_values()).status == 200
        srv.proc.send_signal(signal.SIGTERM)  # right after the ack: the broadcast is in flight
        assert srv.proc.wait(STOP_TIMEOUT) == 0, srv.output()
        delivered = {u for u in experts if fake_slack.dm_messages(u)}
        assert delivered == set(experts), srv.output()
    finally:
        fake_slack.latency_for.clear()
        _stop(srv.proc)


# ------------------------------------------------------------------ /healthz when the database is down


def _call_wsgi(app, path: str = "/healthz", method: str = "GET") -> tuple[str, dict, bytes]:
    seen: dict = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "test", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "CONTENT_LENGTH": "0",
    }
    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.mark.parametrize("database", ["sqlite-missing-dir", "postgres-closed-port"])
def test_healthz_is_503_without_a_database_and_leaks_nothing(slack, tmp_path, database):
    url = (sqlite_url(tmp_path / "no" / "such" / "dir" / "x.db") if database.startswith("sqlite")
           else "postgresql://presales:db-password-42@127.0.0.1:1/presales")
    settings = Settings(
        slack_bot_token="xoxb-secret-token-0042", slack_signing_secret="signing-secret-0042",
        slack_api_url=slack.api_url, database_url=url, work_threads=1, send_concurrency=1, listener_threads=2,
    )
    app = create_app(settings)
    try:
        status, headers, body = _call_wsgi(app)
    finally:
        app.close()
    assert status.startswith("503"), status
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["status"] != "ok"
    text = body.decode()
    for secret in ("xoxb-secret-token-0042", "signing-secret-0042", "db-password-42", "xoxb", "password", str(tmp_path)):
        assert secret not in text, f"/healthz leaks {secret!r}: {text}"
