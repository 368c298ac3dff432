# gunicorn settings for the Procfile's web process (`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'`).
# Values come from bot/config.py (PORT, WEB_CONCURRENCY, PRESALES_WEB_THREADS).
from bot.config import get_settings
from bot.server import GUNICORN_DEFAULTS, worker_exit  # noqa: F401 - gunicorn reads module globals

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
