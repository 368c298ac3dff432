"""The floor to compare against: a bare Bolt app that only acks.

``gunicorn -c gunicorn.conf.py 'bench.bare_app:create_app()'`` serves it with exactly the
product's server settings (same config file, same env: workers, gthread threads), the same
Bolt mode (``process_before_response=False``: ack polled every 10 ms) and the same listener
pool size, so the difference to the product is the product's own code path (middleware,
handlers, database, Slack calls), nothing else. GET /healthz answers 200 for the readiness wait.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.config import get_settings

StartResponse = Callable[..., Any]


def _ack(ack: Ack) -> None:
    ack()


class BareWeb:
    """/healthz, then Bolt's WSGI adapter: the same routing shape as ``bot.web.WebApp``."""

    def __init__(self, app: App) -> None:
        self.bolt = app
        self.slack = SlackRequestHandler(app, path="/slack/events")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = b'{"status": "ok"}'
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.slack(environ, start_response)


def build_app() -> App:
    settings = get_settings()
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = App(
        name="bare-bench",
        client=client,
        signing_secret=settings.slack_signing_secret,
        listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads, thread_name_prefix="bolt"),
    )
    app.command("/presales")(_ack)
    app.action(re.compile(".*"))(_ack)  # every block_actions click (Claim, Decline, ...)
    return app


def create_app() -> BareWeb:
    """WSGI factory for gunicorn."""
    return BareWeb(build_app())
