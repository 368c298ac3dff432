"""A local fake of Slack's Web API, for tests and benches: ``FakeSlack`` (see ``server.py``)."""

from tests.fakes.slack.server import (
    Call,
    FakeSlack,
    MethodSpec,
    check_blocks,
    check_view,
    load_web_api_spec,
    restore_content_checks,
    skip_content_checks,
    specs_dir,
    text_of,
)

__all__ = [
    "Call",
    "FakeSlack",
    "MethodSpec",
    "check_blocks",
    "check_view",
    "load_web_api_spec",
    "restore_content_checks",
    "skip_content_checks",
    "specs_dir",
    "text_of",
]
