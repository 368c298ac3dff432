# gunicorn settings for the Procfile's web process (`gunicorn -c gunicorn.conf.py 'bot.web:create_app()'`):
# all of them come from bot/server.py, which `presales-bot serve` runs too (PORT, WEB_CONCURRENCY,
# PRESALES_WEB_THREADS, LOG_LEVEL and LOG_FORMAT from bot/config.py).
from bot.config import get_settings
from bot.server import gunicorn_settings

globals().update(gunicorn_settings(get_settings()))  # gunicorn reads the module's names
