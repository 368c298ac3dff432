"""Test set-up: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.

The database is migrated once per run with the real Alembic migrations, and emptied
between tests. The clock is frozen at a known Monday; tests move it explicitly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Integer, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import bot.db
from bot import clock
from bot.db import is_sqlite, normalize_url
from bot.migrate import upgrade
from models import Base
from tests.fakes.slack import FakeSlack
from tests.harness import Harness

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # Monday

# One engine per database URL in this test process, as one production process has one: a test
# builds its app (and sometimes a second "process" beside it) from Settings like production, and
# a fresh engine each time would compile every SQL statement again (SQLAlchemy caches compiled
# statements per engine): about a third of the suite's CPU. dispose() only empties the pool.
_engines_by_url: dict[tuple, object] = {}
_make_engine = bot.db.make_engine


def _one_engine_per_url(url: str, **kwargs):
    key = (normalize_url(url), tuple(sorted(kwargs.items())))
    engine = _engines_by_url.get(key)
    if engine is None:
        engine = _engines_by_url[key] = _make_engine(url, **kwargs)
    return engine


bot.db.make_engine = _one_engine_per_url


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if os.environ.get('TEST_DATABASE_URL') else 'SQLite'}"


def _own_postgres_database(url: str) -> tuple[str, callable]:
    """A database of this run's own next to TEST_DATABASE_URL's (so two runs never share tables),
    dropped at the end; the given database itself if we may not create one."""
    base = make_url(url)
    name = f"{base.database}_run{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A scratch database: no commit waits for its WAL to reach the disk (every test
            # commits hundreds of times). Crash safety of the data is not under test here.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception:  # no CREATEDB right: use the given database, emptied
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url, lambda: None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    cleanup = None
    if url:
        url, cleanup = _own_postgres_database(normalize_url(url))
    else:
        # In memory-backed /dev/shm where there is one: the suite's thousands of commits and WAL
        # checkpoints then never queue on the disk that the topology test's PostgreSQL (run beside
        # this suite by .ci/run) must flush every commit to.
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            folder = Path(tempfile.mkdtemp(prefix="presales-test-", dir=shm))
            cleanup = lambda: shutil.rmtree(folder, ignore_errors=True)  # noqa: E731
        else:
            folder = tmp_path_factory.mktemp("db")
        url = f"sqlite:///{folder / 'test.db'}"
    upgrade(url)
    yield url
    if cleanup:
        cleanup()


_engines: dict = {}


def empty_database(url: str) -> None:
    """DELETE every row (children first) and restart the id sequences: on the few rows a test
    leaves, three times faster than TRUNCATE on PostgreSQL, and ids start at 1 as before."""
    engine = _engines.get(url) or _engines.setdefault(url, create_engine(url, poolclass=NullPool))
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        if not is_sqlite(url):
            serials = [t.name for t in tables if "id" in t.c and isinstance(t.c.id.type, Integer)
                       and t.c.id.primary_key and t.c.id.autoincrement in (True, "auto")]
            conn.execute(text("SELECT " + ", ".join(
                f"setval(pg_get_serial_sequence('\"{name}\"', 'id'), 1, false)" for name in serials)))


@pytest.fixture
def db_url(database_url) -> str:
    empty_database(database_url)
    return database_url


@pytest.fixture(scope="session")
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def slack(fake_slack):
    fake_slack.reset()
    yield fake_slack
    problems = list(fake_slack.violations)
    assert not problems, "calls that break Slack's contract:\n" + "\n".join(problems)


@pytest.fixture
def frozen_clock():
    clock.set_now(NOW)
    yield NOW
    clock.set_now(None)


@pytest.fixture
def make_harness(slack, db_url, frozen_clock):
    made: list[Harness] = []

    def make(**overrides) -> Harness:
        harness = Harness(slack, db_url, **overrides)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def h(make_harness) -> Harness:
    return make_harness()
