"""Helpers for the runtime-contract tests: run `python -m bot` as a subprocess (or in-process
through ``bot.cli.main``) against a temporary SQLite file and the FakeSlack.

Subprocesses run in a temporary working directory so a developer's `.env` in the repo
never leaks into them; PYTHONPATH points at the repo instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.config import get_settings
from bot.logs import configure_logging
from models import Base
from tests.config_names import config_env_names

REPO = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-test"
SIGNING_SECRET = "cli-test-signing-secret"

# Every variable bot/config.py reads (found in its source), and gunicorn's: cleared so the
# caller's environment cannot leak in.
CONFIG_VARS = (*sorted(config_env_names()), "GUNICORN_CMD_ARGS")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_file(tmp_path) -> Path:
    return tmp_path / "presales.db"


@pytest.fixture
def cli_env(tmp_path, db_file, fake_slack) -> dict[str, str]:
    """Environment for `python -m bot`: tmp SQLite, the FakeSlack, a test token."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=sqlite_url(db_file),
        SLACK_API_URL=fake_slack.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        XDG_RUNTIME_DIR=str(tmp_path),  # gunicorn's control socket goes here, not to ~/.gunicorn
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def run_cli(tmp_path, cli_env):
    """``run_cli("db", "upgrade", env=...)`` -> Result of `python -m bot ...` in a subprocess."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=tmp_path,
            env=cli_env if env is None else env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def cli_main(monkeypatch, tmp_path, cli_env):
    """Run ``bot.cli.main(argv)`` in this process with ``cli_env`` (settings cache cleared)."""
    from bot import cli

    configure_logging("WARNING")  # bind the log handler to pytest's stream, not to our buffers
    monkeypatch.chdir(tmp_path)  # no repo .env
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in CONFIG_VARS:
        if name in cli_env:
            monkeypatch.setenv(name, cli_env[name])
    get_settings.cache_clear()

    def run(*argv: str, **env: str | None) -> Result:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        return Result(code, out.getvalue(), err.getvalue())

    yield run
    get_settings.cache_clear()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (to prove that nothing changed)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()
