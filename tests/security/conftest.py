"""Fixtures of the security tests.

``matrix_h``: one Harness (one app, one engine) shared by the rows of a module, with a fresh
world per row — the database emptied, the FakeSlack reset and contract-checked, the clock frozen
(the very fixtures ``h`` uses). Building a fresh app and engine per row would recompile every SQL
statement each time (SQLAlchemy caches compiled SQL per engine and dialect), which makes a
several-hundred-row permissions matrix take minutes instead of about a minute.

The app keeps no per-request state in memory (everything is in the database), so rows cannot see
each other; each row still checks that no background work failed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.harness import Harness

# Hypothesis keeps caches (unicode tables, constants found in the source) in ./.hypothesis; the fuzz
# tests save no examples (database=None), and the caches go to the temp directory, not the repo.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "presales-bot-hypothesis")


@pytest.fixture(scope="module")
def shared_harness(fake_slack, database_url):
    harness = Harness(fake_slack, database_url)
    yield harness
    harness.close()


@pytest.fixture
def matrix_h(shared_harness, slack, db_url, frozen_clock) -> Harness:
    """A clean world on the module's shared Harness (use like ``h``)."""
    shared_harness.drain()
    yield shared_harness
    shared_harness.drain()
    failures = list(shared_harness.deps.work.failures)
    shared_harness.deps.work.failures.clear()
    assert not failures, f"background work raised: {failures}"
