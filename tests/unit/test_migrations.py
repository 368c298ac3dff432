"""Schema changes only via Alembic: the migrations build exactly what the models say, and
running them twice or concurrently is safe (RELIABILITY 60)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import normalize_url
from bot.migrate import current_head, upgrade
from models import Base

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)  # twice: nothing to do the second time
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"
    assert version == current_head()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only (TEST_DATABASE_URL)")
def test_two_concurrent_upgrades_on_postgresql_both_succeed(tmp_path):
    base = make_url(normalize_url(os.environ["TEST_DATABASE_URL"]))
    name = f"{base.database}_mig{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESALES_", "SLACK_"))}
        env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT), HOME=str(tmp_path))
        procs = [subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == current_head()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
