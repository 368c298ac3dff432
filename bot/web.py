"""The WSGI application for production servers (gunicorn): POST /slack/events, GET /healthz."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import Settings, get_settings
from bot.logs import configure_logging

log = logging.getLogger(__name__)


class WebApp:
    """Routes /healthz itself and hands everything else to Bolt's WSGI adapter."""

    def __init__(self, app: App) -> None:
        self.bolt = app
        self.deps = app.deps  # type: ignore[attr-defined]
        self.slack = SlackRequestHandler(app, path="/slack/events")

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.healthz(start_response)
        return self.slack(environ, start_response)

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
    configure_logging(settings.log_level)
    return WebApp(build_app(settings, **build_kwargs))
