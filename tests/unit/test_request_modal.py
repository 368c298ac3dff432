from datetime import datetime, timezone

import pytest

from bot.services.prefill import Prefill
from bot.slack.blocks.request_modal import build, build_view

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


@pytest.mark.parametrize("prefill, tz", [
    (Prefill(), None),
    (Prefill(kind="demo", skills=["kubernetes", "data platform"], account="Acme <!here>",
             when=datetime(2026, 11, 24, 20, tzinfo=timezone.utc), urgency="urgent", leftover="show failover"), "UTC"),
    (Prefill(kind="rfp", when=datetime(2026, 12, 3, 14, tzinfo=timezone.utc)), "Europe/Berlin"),
])
def test_fast_build_equals_the_model_built_view(prefill, tz):
    assert build(prefill, private_metadata='{"c":"C1"}', tz_label=tz) == \
        build_view(prefill, private_metadata='{"c":"C1"}', tz_label=tz).to_dict()


@pytest.mark.parametrize("kind, blocks, absent", [
    (None, {"meeting_at", "duration", "brief_problem"}, {"needed_by"}),
    ("demo", {"meeting_at", "duration", "brief_problem"}, {"needed_by"}),
    ("question", {"needed_by"}, {"meeting_at", "duration", "brief_problem"}),
    ("rfp", {"needed_by"}, {"meeting_at", "duration", "brief_problem"}),
])
def test_the_form_shows_only_what_the_type_needs(kind, blocks, absent):
    view = build(Prefill(kind=kind), private_metadata="{}", tz_label=None)
    ids = {b.get("block_id") for b in view["blocks"]}
    assert blocks <= ids and not (absent & ids)
    assert view == build_view(Prefill(kind=kind), private_metadata="{}", tz_label=None).to_dict()


def test_a_type_that_needs_no_brief_by_policy_shows_none():
    view = build(Prefill(kind="poc"), private_metadata="", tz_label=None, brief_kinds=frozenset({"demo"}))
    assert "brief_problem" not in {b.get("block_id") for b in view["blocks"]}


def test_each_build_is_a_fresh_copy():
    first = build(Prefill(account="A"), private_metadata="", tz_label=None)
    first["blocks"].clear()
    assert build(Prefill(), private_metadata="", tz_label=None)["blocks"]
