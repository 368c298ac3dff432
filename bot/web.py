"""The WSGI application for production servers (gunicorn): POST /slack/events, GET /healthz,
GET /metrics (Prometheus)."""

from __future__ import annotations

import io
import json
import logging
import time

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import clock, metrics
from bot.config import Settings, get_settings
from bot.logs import configure_logging, request_context
from bot.services import leases

log = logging.getLogger(__name__)


class WebApp:
    """Routes /healthz itself and hands everything else to Bolt's WSGI adapter."""

    def __init__(self, app: App) -> None:
        self.bolt = app
        self.deps = app.deps  # type: ignore[attr-defined]
        self.slack = SlackRequestHandler(app, path="/slack/events")

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self.healthz(start_response)
        if path == "/metrics" and method in ("GET", "HEAD"):
            return self.metrics(start_response)
        if path != "/slack/events":
            return self.slack(environ, start_response)
        if method == "POST" and not self._signature_headers_look_right(environ):
            # RELIABILITY 3: an empty or non-numeric timestamp made slack_sdk's verifier raise
            # (not refuse) inside Bolt; refuse it here, 401 like any bad signature.
            return self._refuse(start_response)
        if method == "POST" and not self._body_is_text(environ):
            # RELIABILITY 4: Bolt's WSGI adapter decodes the body before verifying it; bytes that
            # are not UTF-8 crashed it (a 500). Slack always sends UTF-8: refuse it unverified.
            return self._refuse(start_response)
        started = time.perf_counter()
        fields: dict = {}  # filled by the Bolt middleware (same thread): rid, team, user, kind, action
        token = request_context.set(fields)
        status: list[str] = []

        def record_status(code, headers, exc_info=None):
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, exc_info) if exc_info else start_response(code, headers)

        try:
            return self.slack(environ, record_status)
        except Exception:
            if status:  # the answer has started; nothing more can be said on this connection
                raise
            # RELIABILITY 14: Bolt parses a payload before any listener runs and raises on some
            # signed payloads of the wrong shape (`actions: null`, a view without `type`); the
            # sender gets a plain 400, never a 500 with a traceback.
            log.warning("unreadable Slack payload", exc_info=True)
            return self._answer(record_status, "400 Bad Request", b'{"error":"unreadable payload"}')
        finally:
            elapsed = time.perf_counter() - started
            metrics.ack_seconds.observe(elapsed)
            # rid, team, user, kind and action come from the request context (bot/logs.py)
            log.info("slack request", extra={"ms": round(elapsed * 1000, 1),
                                            "status": int(status[0]) if status else None})
            request_context.reset(token)

    @staticmethod
    def _signature_headers_look_right(environ) -> bool:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        return timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature.startswith("v0=")

    @staticmethod
    def _body_is_text(environ) -> bool:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)  # Bolt reads it again
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @classmethod
    def _refuse(cls, start_response):
        return cls._answer(start_response, "401 Unauthorized", b'{"error":"invalid request"}')

    @staticmethod
    def _answer(start_response, status: str, body: bytes):
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def metrics(self, start_response):
        body, content_type = metrics.render(self._oldest_due, clock.now, multiprocess_dir=self.deps.settings.metrics_dir)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]

    def _oldest_due(self, now):
        with self.deps.db.read() as session:
            return leases.oldest_due(session, now=now)

    def healthz(self, start_response):
        ok = self.deps.db.ping()
        body = json.dumps({"status": "ok" if ok else "unavailable", "database": "ok" if ok else "down"}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store")])
        return [body]

    def close(self) -> None:
        self.deps.close()


def create_app(settings: Settings | None = None, **build_kwargs) -> WebApp:
    """Factory for gunicorn (`gunicorn 'bot.web:create_app()'`) and for tests."""
    from bot.app import build_app

    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return WebApp(build_app(settings, **build_kwargs))
