"""gunicorn for the web process, every setting in one place: `presales-bot serve` runs it
(run_gunicorn) and gunicorn.conf.py, the Procfile's `gunicorn -c gunicorn.conf.py
'bot.web:create_app()'`, takes the same settings from gunicorn_settings().

gthread workers: Bolt holds a server thread ~10 ms per request while it waits for ack(),
so threads, not processes, carry the concurrency. Bolt's own dev server is never used.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bot.config import Settings, get_settings


def gunicorn_settings(settings: Settings, *, host: str = "0.0.0.0", port: int | None = None,
                      workers: int | None = None, threads: int | None = None) -> dict:
    """Every gunicorn setting of the web process; port, workers and threads default to PORT,
    WEB_CONCURRENCY and PRESALES_WEB_THREADS."""
    workers = workers or settings.workers
    _share_metrics(settings, workers)
    return {
        "bind": f"{host}:{port or settings.port}",
        "workers": workers,
        "threads": threads or settings.web_threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "backlog": 2048,
        "accesslog": None,  # bot/web.py logs every request to /slack/events itself
        "loglevel": settings.log_level.lower(),
        "logger_class": GunicornLogger,
        # gunicorn >= 25.1 opens a control socket per host user; two servers would share it.
        "control_socket_disable": True,
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
        "child_exit": child_exit,
    }


def _share_metrics(settings: Settings, workers: int) -> None:
    """Prometheus counters from every worker in one /metrics: prometheus_client's multiprocess mode
    needs a directory shared by the workers, named before they start (bot/metrics.py reads it)."""
    if workers > 1 and not settings.metrics_dir:
        import os
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="presales-metrics-")
        get_settings.cache_clear()  # the workers read it again


class GunicornLogger(Logger):
    """gunicorn's own lines (start-up, workers booting and exiting, its errors) written like every
    other line: LOG_FORMAT's formatter, secrets masked (bot/logs.py)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from bot.logs import RedactSecrets, formatter

        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(formatter(get_settings().log_format))
            handler.addFilter(RedactSecrets())


def post_worker_init(worker) -> None:
    """Once the app is loaded in the worker: move everything start-up made (modules, the Bolt
    app, SQLAlchemy's mappers and compiled statements) out of the garbage collector's reach. A
    full collection otherwise walks those ~100,000 objects every time (~90 ms measured here),
    stopping every thread of the worker mid-request: a p99 spike in the acks for objects that
    live as long as the process anyway."""
    import gc

    gc.collect()
    gc.freeze()


def worker_exit(server, worker) -> None:
    """Let in-flight background work (DMs, updates) finish before the worker goes."""
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "close"):
        app.close()


def child_exit(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """A worker is gone: its files in the shared metrics directory stop counting as live."""
    if get_settings().metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # else a setting this gunicorn version does not have
                self.cfg.set(key, value)

    def load(self):
        from bot.web import create_app

        return create_app()


def run_gunicorn(settings: Settings, *, host: str, port: int | None = None, workers: int | None = None,
                 threads: int | None = None) -> None:
    _Gunicorn(gunicorn_settings(settings, host=host, port=port, workers=workers, threads=threads)).run()
