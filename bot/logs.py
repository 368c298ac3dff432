"""Logging: one line per event, JSON by default (LOG_FORMAT=json|text), with the request id,
the Slack team, user and action of the request being handled, carried into background work
through contextvars. Secrets never reach a line: they are not formatted into messages, and a
filter masks anything shaped like a Slack token as a last line of defence."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import datetime, timezone

_SECRET = re.compile(r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")

# The Slack request being handled (set by the Bolt middleware in bot/app.py).
request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("presales_request", default=None)


class RedactSecrets(logging.Filter):
    """Mask anything shaped like a Slack token in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _SECRET.search(message):
            record.msg = _SECRET.sub("xox*-***", message)
            record.args = ()
        return True


def _install_record_factory() -> None:
    """Every log record gets rid / team / user / kind / action of the Slack request being
    handled (also in background work: bot/work.py copies the context), whatever handler
    writes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_presales", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        ctx = request_context.get()
        if ctx:
            for key, value in ctx.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return record

    factory._presales = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
        if record.exc_info:
            line["exc"] = _SECRET.sub("xox*-***", self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")]
        return f"{text} {' '.join(extras)}" if extras else text


def formatter(fmt: str = "json") -> logging.Formatter:
    """The formatter of every line, ours and gunicorn's (bot/server.py): LOG_FORMAT json or text."""
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    _install_record_factory()
    root = logging.getLogger()
    if getattr(root, "_presales_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("slack_sdk").setLevel(max(logging.getLevelName(level), logging.INFO))
    # APScheduler says "Running job ..." and "... executed successfully" at INFO on every tick
    # (30 s); its warnings (a missed run, a job that raised) still come through.
    logging.getLogger("apscheduler").setLevel(max(logging.getLevelName(level), logging.WARNING))
    root._presales_configured = True  # type: ignore[attr-defined]
