"""Run the WSGI app under gunicorn from `presales-bot serve` (the Procfile uses gunicorn directly).

gthread workers: Bolt holds a server thread ~10 ms per request while it waits for ack(),
so threads, not processes, carry the concurrency. Bolt's own dev server is never used.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

GUNICORN_DEFAULTS = {
    "worker_class": "gthread",
    "timeout": 30,
    "graceful_timeout": 20,
    "keepalive": 5,
    "backlog": 2048,
    "accesslog": None,
    "post_worker_init": "bot.server.post_worker_init",
    "worker_exit": "bot.server.worker_exit",
    # gunicorn >= 25.1 opens a control socket per host user; two servers would share it.
    "control_socket_disable": True,
}


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


_HOOKS = {"post_worker_init": post_worker_init, "worker_exit": worker_exit}  # GUNICORN_DEFAULTS names them


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key not in self.cfg.settings:
                continue  # a setting this gunicorn version does not have
            self.cfg.set(key, _HOOKS.get(key, value))

    def load(self):
        from bot.web import create_app

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    options = dict(GUNICORN_DEFAULTS, bind=f"{host}:{port}", workers=workers, threads=threads)
    _Gunicorn(options).run()
