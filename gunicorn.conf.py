# gunicorn settings for the Procfile's web process (`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'`).
# Values come from bot/config.py (PORT, WEB_CONCURRENCY, PRESALES_WEB_THREADS).
from bot.config import get_settings
from bot.server import GUNICORN_DEFAULTS, post_worker_init, worker_exit  # noqa: F401 - gunicorn reads module globals

_settings = get_settings()
bind = f"0.0.0.0:{_settings.port}"
workers = _settings.workers
threads = _settings.web_threads
worker_class = GUNICORN_DEFAULTS["worker_class"]
timeout = GUNICORN_DEFAULTS["timeout"]
graceful_timeout = GUNICORN_DEFAULTS["graceful_timeout"]
keepalive = GUNICORN_DEFAULTS["keepalive"]
backlog = GUNICORN_DEFAULTS["backlog"]
control_socket_disable = GUNICORN_DEFAULTS["control_socket_disable"]

# Prometheus counters from every worker in one /metrics: prometheus_client's multiprocess mode
# needs a directory shared by the workers, named before they start (bot/metrics.py reads it).
if _settings.workers > 1 and not _settings.metrics_dir:
    import os
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="presales-metrics-")
    get_settings.cache_clear()


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    if get_settings().metrics_dir:
        multiprocess.mark_process_dead(worker.pid)
