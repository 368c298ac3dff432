"""A local fake of Slack's Web API, for tests and benches: ``FakeSlack`` (``server.py``, which
says what each module of this package does), and the contract checks it runs, which tests also
call directly."""

from tests.fakes.slack.blockkit import check_blocks, check_view, restore_content_checks, skip_content_checks, text_of
from tests.fakes.slack.call import Call
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.spec import MethodSpec, load_web_api_spec, specs_dir

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
