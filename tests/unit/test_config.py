import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_duration

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


def test_defaults_are_sqlite_and_slack_api():
    s = load_settings({}, env_file=None)
    assert s.database_url.startswith("sqlite:///")
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.fanout_limit == 25


def test_values_are_typed():
    s = load_settings(
        {"PORT": "8080", "PRESALES_ADMINS": "U1AAA, U2BBB", "PRESALES_EXPERTS_CHANNEL": "C0EXPERTS",
         "SLACK_API_URL": "http://127.0.0.1:9/api", "PRESALES_MAX_LEAD": "30d"},
        env_file=None,
    )
    assert s.port == 8080
    assert s.admins == frozenset({"U1AAA", "U2BBB"})
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.max_lead == timedelta(days=30)


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PRESALES_ADMINS": "bob"}, "PRESALES_ADMINS"),
        ({"PRESALES_TIMEZONE": "Mars/Olympus"}, "PRESALES_TIMEZONE"),
        ({"PRESALES_MAX_LEAD": "banana"}, "PRESALES_MAX_LEAD"),
        ({"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        ({"PRESALES_EXPERTS_CHANNEL": "#experts"}, "PRESALES_EXPERTS_CHANNEL"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(env, name):
    with pytest.raises(ConfigError) as err:
        load_settings(env, env_file=None)
    message = str(err.value)
    assert name in message and "\n" not in message


def test_missing_token_says_how_to_get_it():
    with pytest.raises(ConfigError) as err:
        Settings().require("SLACK_BOT_TOKEN")
    assert "manifest.yml" in str(err.value) and "OAuth" in str(err.value)


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\n")
    s = load_settings({"PORT": "5000"}, env_file=env_file)
    assert s.slack_bot_token == "xoxb-from-file"
    assert s.port == 5000


def test_env_example_placeholders_count_as_unset(tmp_path):
    """`cp .env.example .env` left unfilled (the commented app token uncommented too): each
    placeholder counts as not set, so require() names the missing token in one line instead of
    the placeholder going to Slack and coming back as invalid_auth."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    env_file = tmp_path / ".env"
    env_file.write_text(re.sub(r"(?m)^#\s*(?=[A-Z_]+=)", "", example), encoding="utf-8")
    assert all(f"{name}=" in example for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"))
    s = load_settings({}, env_file=env_file)
    assert (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token) == (None, None, None)
    with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN is not set: .*OAuth"):
        s.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    filled = load_settings({"SLACK_BOT_TOKEN": "xoxb-1-real"}, env_file=env_file)
    assert filled.slack_bot_token == "xoxb-1-real"  # a real value is kept


def test_secrets_never_in_repr():
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-secret-123", "SLACK_SIGNING_SECRET": "shh",
                       "DATABASE_URL": "postgresql://u:pw@db/x"}, env_file=None)
    assert "xoxb-secret-123" not in repr(s) and "shh" not in repr(s) and "pw" not in repr(s)
    assert "pw@" not in str(s.redacted())


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("24h", 86400), ("2d", 172800), ("90", 90), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds
