"""A local fake of Slack's Web API, for tests.

``FakeSlack`` is a real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, random port)
that answers the Web API methods presales-bot uses the way Slack does, so the app can be
exercised through ``slack_sdk.WebClient(base_url=fake.api_url)`` exactly as in
production.  It is modelled on bolt-python's ``tests/mock_web_api_server`` but adds:

* a thread-safe log of every call (:class:`Call`) with ``wait_for`` for work done after
  the ack;
* state, so tests can read what a user sees now (messages, DMs, ephemerals, views);
* fault injection (``fail``, ``rate_limit``, ``server_error``, ``latency``, ``chaos``);
* contract checks: every call is checked against Slack's published OpenAPI spec
  (method exists, required arguments present) and every message/view against Block Kit
  (slack_sdk's models plus limits the models do not enforce).  Problems are appended
  to ``fake.violations`` so the suite can fail a test even when the app swallowed the
  error Slack answered.

Typical use::

    fake = FakeSlack().start()
    client = WebClient(token="xoxb-test", base_url=fake.api_url)
    client.chat_postMessage(channel="U123", text="hi")
    assert fake.dm_messages("U123")[0]["text"] == "hi"
    fake.stop()

Everything test-specific is cleared by :meth:`FakeSlack.reset` (the server keeps running).
"""

from __future__ import annotations

import copy
import email.policy
import itertools
import json
import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesParser
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

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

# --------------------------------------------------------------------------------------
# Slack's published contract
# --------------------------------------------------------------------------------------

SPEC_FILE = "slack_web_openapi_v2.json"

#: Methods newer than the (late-2020) spec file, with the arguments Slack requires.
NOT_IN_SPEC: dict[str, tuple[str, ...]] = {
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
}

#: Requests the fake serves that are not Web API methods at all.
PSEUDO_METHODS = frozenset({"response_url", "upload"})

#: Arguments Slack rejects calls without although the spec does not mark them required.
EXTRA_REQUIRED: dict[str, tuple[str, ...]] = {
    "users.info": ("user",),
    "chat.delete": ("channel", "ts"),
    "views.update": ("view",),
}

#: Groups of arguments of which at least one must be present.
EXTRA_ONE_OF: dict[str, tuple[str, ...]] = {
    "views.update": ("view_id", "external_id"),
    "conversations.open": ("users", "channel"),
}

# Slack limits (https://docs.slack.dev/reference/block-kit/blocks and method docs).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_VALUE = 2000
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_MESSAGE_TEXT = 40000
MAX_RESPONSE_URL_USES = 5
TRIGGER_TTL_SECONDS = 3.0


@dataclass(frozen=True)
class MethodSpec:
    """What the OpenAPI spec says about one Web API method."""

    name: str
    required: tuple[str, ...]  # required formData/query arguments, ``token`` excluded
    token_required: bool
    accepts_json: bool  # "application/json" listed in ``consumes``


#: Slack's spec files, kept in the repository with their licences (tests/data/README.md).
SPECS_DIR = Path(__file__).resolve().parents[2] / "data"


def specs_dir() -> Path:
    """Directory holding Slack's spec files: ``tests/data`` of this checkout."""
    return SPECS_DIR


@lru_cache(maxsize=4)
def _load_spec_file(path: str) -> dict[str, MethodSpec]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    methods: dict[str, MethodSpec] = {}
    for path_key, operations in doc["paths"].items():
        name = path_key.lstrip("/")
        required: list[str] = []
        token_required = False
        accepts_json = False
        # A path has one operation (get or post) in this spec; merge defensively.
        for op in operations.values():
            accepts_json = accepts_json or "application/json" in op.get("consumes", [])
            for param in op.get("parameters", []):
                if not param.get("required"):
                    continue
                if param["name"] == "token":
                    token_required = True  # declared "in": header, query or formData
                elif param.get("in") in ("formData", "query") and param["name"] not in required:
                    required.append(param["name"])
        methods[name] = MethodSpec(name, tuple(required), token_required, accepts_json)
    return methods


def load_web_api_spec(directory: Path | None = None) -> dict[str, MethodSpec]:
    """Parse (once per process) the Web API OpenAPI file into ``{method: MethodSpec}``."""
    path = (directory or specs_dir()) / SPEC_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Slack Web API spec not found at {path} (see tests/data/README.md)")
    return _load_spec_file(str(path))


# --------------------------------------------------------------------------------------
# Block Kit checks
# --------------------------------------------------------------------------------------

_TEXT_OBJECT_TYPES = ("plain_text", "mrkdwn")


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(json_pointer, dict)`` for every dict nested in ``node``."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def _contains_none_in_list(node: Any) -> bool:
    """slack_sdk turns unknown elements into ``None`` inside lists; spot them."""
    if isinstance(node, list):
        return any(v is None or _contains_none_in_list(v) for v in node)
    if isinstance(node, dict):
        return any(_contains_none_in_list(v) for v in node.values())
    return False


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        text = obj.get("text")
        return text if isinstance(text, str) else ""
    return obj if isinstance(obj, str) else ""


def _raw_block_problems(blocks: list[Any], where: str) -> list[str]:
    """Slack rules checked on the raw JSON (several are not enforced by slack_sdk)."""
    problems: list[str] = []
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            problems.append(f"{where}/{i}: a block must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                problems.append(f"{where}/{i}: duplicate block_id {block_id!r}")
            seen_block_ids.add(block_id)
        if block.get("type") == "actions":
            action_ids = [e.get("action_id") for e in block.get("elements", []) if isinstance(e, dict)]
            dupes = {a for a in action_ids if a is not None and action_ids.count(a) > 1}
            if dupes:
                problems.append(f"{where}/{i}: duplicate action_id {sorted(dupes)}")
        for ptr, node in _walk(block, f"{where}/{i}"):
            kind = node.get("type")
            if kind == "section":
                if len(_text_of(node.get("text"))) > MAX_SECTION_TEXT:
                    problems.append(f"{ptr}/text: section text exceeds {MAX_SECTION_TEXT} characters")
                fields = node.get("fields") or []
                if len(fields) > MAX_SECTION_FIELDS:
                    problems.append(f"{ptr}/fields: more than {MAX_SECTION_FIELDS} fields")
                for j, fld in enumerate(fields):
                    if len(_text_of(fld)) > MAX_SECTION_FIELD_TEXT:
                        problems.append(f"{ptr}/fields/{j}: field text exceeds {MAX_SECTION_FIELD_TEXT} characters")
            elif kind == "header":
                text = node.get("text")
                if len(_text_of(text)) > MAX_HEADER_TEXT:
                    problems.append(f"{ptr}/text: header text exceeds {MAX_HEADER_TEXT} characters")
                if isinstance(text, dict) and text.get("type") != "plain_text":
                    problems.append(f"{ptr}/text: header text must be plain_text")
            elif kind == "button":
                value = node.get("value")
                if isinstance(value, str) and len(value) > MAX_BUTTON_VALUE:
                    problems.append(f"{ptr}/value: button value exceeds {MAX_BUTTON_VALUE} characters")
                text = node.get("text")
                if isinstance(text, dict) and text.get("type") != "plain_text":
                    problems.append(f"{ptr}/text: button text must be plain_text")
            elif kind in _TEXT_OBJECT_TYPES and "elements" not in node:
                text = node.get("text")
                if not isinstance(text, str) or not text:
                    problems.append(f"{ptr}/text: must be a non-empty string")
            # Any nested text object ("text", "label", "placeholder", ...) must be typed.
            text_obj = node.get("text")
            if kind in ("section", "header", "button") and "text" in node and not isinstance(text_obj, dict):
                problems.append(f"{ptr}/text: must be a text object, not {type(text_obj).__name__}")
            if isinstance(text_obj, dict) and text_obj.get("type") not in _TEXT_OBJECT_TYPES:
                problems.append(f"{ptr}/text: text object type must be plain_text or mrkdwn")
    return problems


def _model_block_problems(blocks: list[Any], where: str) -> list[str]:
    """Parse every block with slack_sdk's models; ``to_dict`` validates recursively."""
    problems: list[str] = []
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            continue  # reported by _raw_block_problems
        try:
            block = Block.parse(copy.deepcopy(raw))
            if block is None:
                problems.append(f"{where}/{i}: unknown block type {raw.get('type')!r}")
                continue
            block.validate_json()  # the block's own validators
            as_dict = block.to_dict()  # validates nested elements too
            if _contains_none_in_list(as_dict):
                problems.append(f"{where}/{i}: contains an element of an unknown type")
        except Exception as exc:  # SlackObjectFormationError, TypeError on bad shapes...
            problems.append(f"{where}/{i}: {exc}")
    return problems


def check_blocks(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, where: str = "/blocks") -> list[str]:
    """Return the reasons Slack would reject ``blocks`` (empty list when fine)."""
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be an array"]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{where}: {len(blocks)} blocks exceeds the limit of {max_blocks}")
    problems += _raw_block_problems(blocks, where)
    problems += _model_block_problems(blocks, where)
    return problems


def check_view(view: Any, *, expected_type: str | None = None) -> list[str]:
    """Return the reasons Slack would reject ``view`` (a modal or home tab)."""
    if not isinstance(view, dict):
        return ["/view: must be an object"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(f"/view/type: must be 'modal' or 'home', not {kind!r}")
    elif expected_type and kind != expected_type:
        problems.append(f"/view/type: this method needs a {expected_type!r} view, not {kind!r}")
    if kind == "modal" and not view.get("title"):
        problems.append("/view/title: a modal needs a title")
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > MAX_PRIVATE_METADATA:
        problems.append(f"/view/private_metadata: exceeds {MAX_PRIVATE_METADATA} characters")
    callback_id = view.get("callback_id")
    if isinstance(callback_id, str) and len(callback_id) > MAX_CALLBACK_ID:
        problems.append(f"/view/callback_id: exceeds {MAX_CALLBACK_ID} characters")
    problems += check_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS, where="/view/blocks")
    try:
        model = View(**copy.deepcopy(view))
        model.validate_json()
        model.to_dict()
    except Exception as exc:
        message = f"/view: {exc}"
        if message not in problems:
            problems.append(message)
    return problems


def skip_content_checks() -> tuple[Any, Any]:
    """Turn off the Block Kit checks (slack_sdk model parsing of every message and view) for
    timing runs: that CPU work is Slack's, not the app's, and on a 2-core box it competes with
    the server under test. Spec checks (method, arguments) stay on. Returns what to restore."""
    global check_blocks, check_view
    saved = (check_blocks, check_view)
    check_blocks = lambda *args, **kwargs: []  # noqa: E731
    check_view = lambda *args, **kwargs: []  # noqa: E731
    return saved


def restore_content_checks(saved: tuple[Any, Any]) -> None:
    global check_blocks, check_view
    check_blocks, check_view = saved


def text_of(node: Any) -> str:
    """Every "text" string inside a message, its blocks or a view (a JSON string is decoded
    first), joined: what a person reads, for assertions."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return node
    out: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(item, list):
            for child in item:
                walk(child)

    walk(node)
    return " ".join(out)


# --------------------------------------------------------------------------------------
# Call log, users, faults
# --------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake received (recorded whatever the outcome)."""

    method: str  # Web API method, or "response_url" / "upload"
    params: dict[str, Any]  # query + form + JSON body merged (form JSON fields stay strings)
    json_body: dict[str, Any] | None  # the parsed body when it was JSON
    headers: dict[str, str]  # lower-cased header names
    token: str | None  # from "Authorization: Bearer" or the token argument
    at: float  # time.monotonic() when the request arrived
    outcome: str = "ok"  # "ok", "error:<code>", or an HTTP status such as "429", "500", "404"
    status: int = 200  # HTTP status answered
    path: str = ""  # request path, e.g. "/api/chat.postMessage"
    response: Any = None  # parsed JSON the fake answered (None for non-JSON bodies)


@dataclass
class _User:
    id: str
    tz: str | None
    email: str | None
    name: str
    real_name: str
    display_name: str
    team_id: str
    deleted: bool
    is_bot: bool


@dataclass
class _Channel:
    id: str
    member: bool
    archived: bool
    private: bool
    name: str


@dataclass
class _Fault:
    kind: str  # "fail" | "rate_limit" | "server_error"
    remaining: int
    error: str = ""
    retry_after: int = 1
    status: int = 500
    body: str = ""


@dataclass
class _Chaos:
    rng: random.Random
    rate_limit: float
    server_error: float
    retry_after: int
    status: int


class _SlackError(Exception):
    """Raised by handlers to answer ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# Long names for common zone abbreviations, as Slack's tz_label shows them.
_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}

Handler = Callable[[Call], dict[str, Any]]
Stub = Mapping[str, Any] | Callable[[Call], Mapping[str, Any]]
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _json_value(value: Any) -> Any:
    """Form fields carry JSON as strings; JSON bodies carry native values."""
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ts_key(ts: str) -> tuple[int, int]:
    whole, _, frac = ts.partition(".")
    return int(whole), int(frac or 0)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        out[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
    return out


# --------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default (5) makes bursts of calls wait for SYN retries
    fake: "FakeSlack"


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, out_headers, payload = fake._handle_http(self.command, self.path, headers, body)
        except Exception as exc:  # a bug in the fake must be loud, not look like Slack
            fake._add_violation(f"FakeSlack internal error on {self.command} {self.path}: {exc!r}")
            status, out_headers, payload = 500, {"Content-Type": "text/plain"}, repr(exc).encode()
        try:
            self.send_response(status)
            for key, value in out_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); the call is recorded anyway


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeSlack:
    """A local, stateful, contract-checking fake of Slack's Web API (see module doc)."""

    TEAM_ID = "T0001"
    TEAM_NAME = "Acme Sales"
    TEAM_DOMAIN = "acme-sales"
    BOT_USER_ID = "UBOT"
    BOT_ID = "B0001"
    APP_ID = "A0001"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, specs: Path | None = None) -> None:
        self._host = host
        self._port = port
        self._spec = load_web_api_spec(specs)  # fail fast when the spec is missing
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Counters survive reset() so ids never repeat within a process.
        self._seq = itertools.count(1)
        self._handlers: dict[str, Handler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self.reset()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "FakeSlack":
        """Start serving in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _RequestHandler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.base_url}/api/"

    def reset(self) -> None:
        """Forget calls, state, faults, violations, users and channels; keep serving."""
        with self._lock:
            # Knobs tests may set.
            self.strict_users = False  # unknown user ids -> channel_not_found / user_not_found
            self.strict_channels = False  # unknown C/G channel ids -> channel_not_found
            self.expect_invalid = False  # invalid Block Kit answered but not a violation
            self.latency = 0.0  # seconds added to every request
            self.latency_for: dict[str, float] = {}  # per method (also "response_url", "upload")
            self.trigger_ttl: float | None = TRIGGER_TTL_SECONDS  # None disables expiry
            self.valid_tokens: set[str] | None = None  # None accepts any non-empty token
            self.violations: list[str] = []
            # Internal state.
            self._calls: list[Call] = []
            self._faults: dict[str, deque[_Fault]] = {}
            self._chaos: dict[str, _Chaos] = {}
            self._stubs: dict[str, Stub] = {}
            self._users: dict[str, _User] = {}
            self._channels: dict[str, _Channel] = {}
            self._dm_users: dict[str, str] = {}  # DM channel id -> user id
            self._mpims: dict[tuple[str, ...], str] = {}
            self._open_conversations: set[str] = set()
            self._messages: dict[tuple[str, str], dict[str, Any]] = {}
            self._deleted: list[dict[str, Any]] = []
            self._ephemerals: list[dict[str, Any]] = []
            self._views: dict[str, dict[str, Any]] = {}
            self._opened_views: list[dict[str, Any]] = []
            self._pushed_views: list[dict[str, Any]] = []
            self._views_published: dict[str, dict[str, Any]] = {}
            self._home_owner: dict[str, str] = {}  # home view id -> user id
            self._triggers: dict[str, list[Any]] = {}  # trigger id -> [issued_at, used]
            self._response_urls: dict[str, int] = {}  # token -> uses
            self._uploads: dict[str, dict[str, Any]] = {}
            self._changed.notify_all()

    # ---------------------------------------------------------------- call log

    @property
    def calls(self) -> list[Call]:
        """Snapshot of every call so far, in arrival-completion order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one method (``"response_url"`` and ``"upload"`` work too)."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def wait_for(
        self,
        predicate: Callable[[Call], bool] | str,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> list[Call]:
        """Block until ``count`` calls match ``predicate`` (a callable or a method name).

        Returns the matching calls; raises ``AssertionError`` listing the calls seen when
        the timeout expires.  Use it when the app does its work after the ack.
        """
        if isinstance(predicate, str):
            method = predicate
            predicate = lambda call: call.method == method  # noqa: E731
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [c for c in self._calls if predicate(c)]
                if len(matches) >= count:
                    return matches
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = "\n  ".join(self._summarize(c) for c in self._calls) or "(none)"
                    raise AssertionError(
                        f"FakeSlack.wait_for: {len(matches)} of {count} expected call(s) matched "
                        f"within {timeout}s; calls seen:\n  {seen}"
                    )
                self._changed.wait(min(remaining, 0.05))

    def assert_no_violations(self) -> None:
        """Raise ``AssertionError`` listing the contract violations recorded so far."""
        with self._lock:
            if self.violations:
                raise AssertionError("Slack contract violations:\n  " + "\n  ".join(self.violations))

    @staticmethod
    def _summarize(call: Call) -> str:
        def short(value: Any) -> str:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            return text if len(text) <= 60 else text[:57] + "..."

        args = ", ".join(f"{k}={short(v)}" for k, v in call.params.items() if k != "token")
        return f"{call.method} [{call.outcome}] {args}"

    # ---------------------------------------------------------------- registry

    def add_user(
        self,
        user_id: str,
        *,
        tz: str | None = "America/New_York",
        email: str | None = None,
        name: str | None = None,
        team_id: str = TEAM_ID,
        deleted: bool = False,
        is_bot: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        """Register a user (for users.info / lookupByEmail / DM rules); returns its object."""
        if tz is not None:
            ZoneInfo(tz)  # raise now on a typo rather than inside the server thread
        name = name or user_id.lower()
        user = _User(
            id=user_id,
            tz=tz,
            email=email,
            name=name,
            real_name=real_name or name.replace(".", " ").title(),
            display_name=display_name if display_name is not None else name,
            team_id=team_id,
            deleted=deleted,
            is_bot=is_bot,
        )
        with self._lock:
            self._users[user_id] = user
            return self._user_object(user)

    def add_channel(
        self,
        channel_id: str,
        *,
        member: bool = True,
        archived: bool = False,
        private: bool = False,
        name: str | None = None,
    ) -> None:
        """Register a channel so posting to it follows Slack's membership rules."""
        with self._lock:
            self._channels[channel_id] = _Channel(
                channel_id, member, archived, private, name or channel_id.lower()
            )

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The users.info object of a registered user (None when unknown)."""
        with self._lock:
            user = self._users.get(user_id)
            return self._user_object(user) if user is not None else None

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        """The DM channel id the fake uses for a user: ``"D" + user_id[1:]``."""
        return "D" + user_id[1:]

    # ---------------------------------------------------------------- faults

    def fail(self, method: str, error: str = "invalid_blocks", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with ok:false ``error``."""
        self._queue_fault(method, _Fault("fail", times, error=error))

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 429 and ``Retry-After``."""
        self._queue_fault(method, _Fault("rate_limit", times, retry_after=retry_after))

    def server_error(self, method: str, times: int = 1, status: int = 500, body: str = "") -> None:
        """Answer the next ``times`` calls with HTTP ``status`` and a non-JSON ``body``."""
        self._queue_fault(method, _Fault("server_error", times, status=status, body=body))

    def chaos(
        self,
        method: str,
        rate_limit: float = 0.2,
        server_error: float = 0.05,
        seed: int = 1,
        *,
        retry_after: int = 1,
        status: int = 500,
    ) -> None:
        """Randomly (seeded) rate-limit or fail calls of ``method`` ("*" = any) from now on."""
        with self._lock:
            self._chaos[method] = _Chaos(random.Random(seed), rate_limit, server_error, retry_after, status)

    def stub(self, method: str, response: Stub) -> None:
        """Answer a method the fake does not implement (dict, or callable(Call) -> dict).

        ``"ok": True`` is added unless the response sets ``ok``.  Spec checks still apply.
        """
        with self._lock:
            self._stubs[method] = response

    def clear_faults(self) -> None:
        """Answer normally again (faults queued and not used yet are dropped)."""
        with self._lock:
            self._faults.clear()

    def _queue_fault(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            return
        with self._lock:
            self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        """Consume the next injected fault for ``method`` (queued first, then chaos)."""
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        for key in (method, "*"):
            chaos = self._chaos.get(key)
            if chaos is not None:
                roll = chaos.rng.random()
                if roll < chaos.rate_limit:
                    return _Fault("rate_limit", 1, retry_after=chaos.retry_after)
                if roll < chaos.rate_limit + chaos.server_error:
                    return _Fault("server_error", 1, status=chaos.status)
                return None
        return None

    # ---------------------------------------------------------------- helpers for tests

    def response_url(self, token: str | None = None) -> str:
        """A fresh response_url served by the fake (at most 5 uses, like Slack's)."""
        token = token or secrets.token_hex(12)
        with self._lock:
            self._response_urls.setdefault(token, 0)
        return f"{self.base_url}/response/{token}"

    def issue_trigger_id(self) -> str:
        """A trigger_id the fake will accept once, within ``trigger_ttl`` seconds."""
        n = next(self._seq)
        trigger = f"{13345224609 + n}.738474920.{secrets.token_hex(11)[:21]}"
        with self._lock:
            self._triggers[trigger] = [time.monotonic(), False]
        return trigger

    @property
    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(channel, ts): message}`` for messages currently visible (not deleted)."""
        with self._lock:
            return dict(self._messages)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Latest version of a message; a user id as ``channel`` means their DM."""
        if channel[:1] in ("U", "W"):
            channel = self.dm_channel_id(channel)
        with self._lock:
            return self._messages.get((channel, ts))

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first."""
        with self._lock:
            found = [m for (ch, _), m in self._messages.items() if ch == channel]
        return sorted(found, key=lambda m: _ts_key(m["ts"]))

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Messages in the bot's DM with ``user_id``, oldest first."""
        return self.channel_messages(self.dm_channel_id(user_id))

    @property
    def deleted_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deleted)

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Ephemeral messages shown to ``user_id``, in order."""
        with self._lock:
            return [e for e in self._ephemerals if e["user"] == user_id]

    @property
    def views_published(self) -> dict[str, dict[str, Any]]:
        """``{user_id: latest home view}``."""
        with self._lock:
            return dict(self._views_published)

    @property
    def opened_views(self) -> list[dict[str, Any]]:
        """Views as opened by views.open, in order (see ``view()`` for later updates)."""
        with self._lock:
            return list(self._opened_views)

    @property
    def pushed_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._pushed_views)

    def view(self, view_id: str) -> dict[str, Any] | None:
        """Latest version of any view the fake holds (modal or home)."""
        with self._lock:
            return self._views.get(view_id)

    def views_with_callback(self, callback_id: str) -> list[dict[str, Any]]:
        """Latest versions of views with this callback_id, oldest first."""
        with self._lock:
            return [v for v in self._views.values() if v.get("callback_id") == callback_id]

    @property
    def uploads(self) -> dict[str, dict[str, Any]]:
        """``{file_id: {"filename", "length", "data", "completed", ...}}``."""
        with self._lock:
            return {k: dict(v) for k, v in self._uploads.items()}

    # ---------------------------------------------------------------- request entry

    def _add_violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)

    def _content_violation(self, method: str, problems: Sequence[str]) -> None:
        """Block Kit / message-content problems; silenced by ``expect_invalid``."""
        if not self.expect_invalid:
            self.violations.append(f"{method}: " + "; ".join(problems))

    def _handle_http(
        self, verb: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        if path.startswith("/api/"):
            return self._handle_api(unquote(path[len("/api/"):]), path, parts.query, headers, body)
        if path.startswith("/response/") and verb == "POST":
            return self._handle_response_url(unquote(path[len("/response/"):]), path, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._handle_upload(unquote(path[len("/upload/"):]), path, headers, body)
        self._add_violation(f"request to a path FakeSlack does not serve: {verb} {path}")
        return 404, JSON_HEADERS, b'{"ok": false, "error": "not_found"}'

    def _parse_params(
        self, query: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        full_type = headers.get("content-type", "")
        content_type = full_type.split(";")[0].strip().lower()
        json_body: dict[str, Any] | None = None
        if body:
            if content_type == "application/json":
                try:
                    parsed = json.loads(body)
                except ValueError:
                    raise _SlackError("invalid_json") from None
                if not isinstance(parsed, dict):
                    raise _SlackError("json_not_object")
                json_body = parsed
                params.update(parsed)
            elif content_type == "multipart/form-data":
                params.update(_parse_multipart(full_type, body))
            else:
                try:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise _SlackError("invalid_charset") from None
        return params, json_body

    def _sleep_latency(self, method: str) -> None:
        delay = self.latency + self.latency_for.get(method, 0.0)
        if delay > 0:
            time.sleep(delay)

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _fault_answer(self, call: Call, fault: _Fault) -> tuple[int, dict[str, str], bytes]:
        """Build the HTTP answer for an injected fault and set the call's outcome."""
        if fault.kind == "rate_limit":
            call.status, call.outcome = 429, "429"
            call.response = {"ok": False, "error": "ratelimited"}
            headers = {**JSON_HEADERS, "Retry-After": str(fault.retry_after)}
            return 429, headers, json.dumps(call.response).encode()
        if fault.kind == "server_error":
            call.status, call.outcome = fault.status, str(fault.status)
            return fault.status, {"Content-Type": "text/plain"}, fault.body.encode()
        call.status, call.outcome = 200, f"error:{fault.error}"
        call.response = {"ok": False, "error": fault.error}
        return 200, JSON_HEADERS, json.dumps(call.response).encode()

    def _json_answer(self, call: Call, answer: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], bytes]:
        call.status = status
        call.response = answer
        if status != 200:
            call.outcome = str(status)
        elif answer.get("ok"):
            call.outcome = "ok"
        else:
            call.outcome = f"error:{answer.get('error')}"
        return status, JSON_HEADERS, json.dumps(answer).encode()

    # ---------------------------------------------------------------- /api/<method>

    def _handle_api(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        at = time.monotonic()
        parse_error: _SlackError | None = None
        try:
            params, json_body = self._parse_params(query, headers, body)
        except _SlackError as exc:
            params, json_body, parse_error = {}, None, exc
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token") or None
        call = Call(method, params, json_body, headers, token, at, path=path)
        self._sleep_latency(method)
        with self._lock:
            try:
                missing = self._check_spec(call)  # records violations whatever happens next
                fault = self._take_fault(method)
                if fault is not None:
                    return self._fault_answer(call, fault)
                if parse_error is not None:
                    raise parse_error
                if "token" in missing:
                    raise _SlackError("not_authed")
                if self.valid_tokens is not None and method != "api.test" and token not in self.valid_tokens:
                    raise _SlackError("invalid_auth")
                if missing:
                    raise _SlackError(
                        "invalid_arguments",
                        response_metadata={"messages": [f"[ERROR] missing required field: {m}" for m in missing]},
                    )
                return self._json_answer(call, self._dispatch(call))
            except _SlackError as exc:
                return self._json_answer(call, {"ok": False, "error": exc.error, **exc.extra})
            finally:
                self._record(call)

    def _check_spec(self, call: Call) -> list[str]:
        """Check a call against the OpenAPI spec; return missing argument names."""
        method = call.method
        spec = self._spec.get(method)
        if spec is None:
            if method not in NOT_IN_SPEC:
                self.violations.append(f"{method}: not a Slack Web API method (absent from {SPEC_FILE})")
                return []
            spec = MethodSpec(method, NOT_IN_SPEC[method], token_required=True, accepts_json=True)
        missing = [
            name
            for name in spec.required + EXTRA_REQUIRED.get(method, ())
            if _missing(call.params.get(name))
        ]
        group = EXTRA_ONE_OF.get(method)
        if group and all(_missing(call.params.get(name)) for name in group):
            missing.append(" or ".join(group))
        if spec.token_required and not call.token:
            missing.append("token")
        if missing:
            self.violations.append(f"{method}: missing required argument(s) {missing}")
        if call.json_body is not None and not spec.accepts_json:
            self.violations.append(
                f"{method}: sent a JSON body but the method only accepts form-encoded arguments"
            )
        return missing

    def _dispatch(self, call: Call) -> dict[str, Any]:
        stub = self._stubs.get(call.method)
        if stub is not None:
            answer = dict(stub(call) if callable(stub) else copy.deepcopy(stub))
            return {"ok": True, **answer}
        handler = self._handlers.get(call.method)
        if handler is None:
            if call.method in self._spec:  # a real method the fake does not implement
                self.violations.append(
                    f"{call.method}: not implemented by FakeSlack (add it or use fake.stub())"
                )
            raise _SlackError("unknown_method")
        return {"ok": True, **handler(call)}

    # ---------------------------------------------------------------- /response/<token>

    def _handle_response_url(
        self, token: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        at = time.monotonic()
        call = Call("response_url", {}, None, headers, None, at, path=path)
        self._sleep_latency("response_url")
        with self._lock:
            try:
                fault = self._take_fault("response_url")
                if fault is not None:
                    return self._fault_answer(call, fault)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    # Slack also accepts form-encoded ``payload=<json>``.
                    form = dict(parse_qsl(body.decode("utf-8", "replace")))
                    try:
                        payload = json.loads(form.get("payload", "null"))
                    except ValueError:
                        payload = None
                if not isinstance(payload, dict):
                    return self._json_answer(call, {"ok": False, "error": "invalid_payload"}, 400)
                call.params = payload
                call.json_body = payload
                uses = self._response_urls.get(token, 0) + 1
                self._response_urls[token] = uses
                if uses > MAX_RESPONSE_URL_USES:
                    return self._json_answer(call, {"ok": False, "error": "used_url"}, 404)
                if "blocks" in payload:
                    problems = check_blocks(payload["blocks"])
                    if problems:
                        self._content_violation("response_url", problems)
                        return self._json_answer(call, {"ok": False, "error": "invalid_blocks"}, 400)
                text = payload.get("text")
                if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
                    self._content_violation("response_url", [f"text exceeds {MAX_MESSAGE_TEXT} characters"])
                    return self._json_answer(call, {"ok": False, "error": "msg_too_long"}, 400)
                return self._json_answer(call, {"ok": True})
            finally:
                self._record(call)

    # ---------------------------------------------------------------- /upload/<file_id>

    def _handle_upload(
        self, file_id: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        at = time.monotonic()
        call = Call("upload", {"file_id": file_id, "size": len(body)}, None, headers, None, at, path=path)
        self._sleep_latency("upload")
        with self._lock:
            try:
                fault = self._take_fault("upload")
                if fault is not None:
                    return self._fault_answer(call, fault)
                upload = self._uploads.get(file_id)
                if upload is None:
                    call.status, call.outcome = 404, "404"
                    return 404, {"Content-Type": "text/plain"}, b"Not Found"
                self._uploads[file_id] = {**upload, "data": body, "uploaded": True}
                call.status, call.outcome = 200, "ok"
                return 200, {"Content-Type": "text/plain"}, f"OK - {len(body)}".encode()
            finally:
                self._record(call)

    # ---------------------------------------------------------------- channel/user rules

    def _next_ts(self) -> str:
        n = next(self._seq) * 100
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _new_view_id(self) -> str:
        return f"V{next(self._seq):08d}"

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _check_dm_user(self, user_id: str) -> None:
        """Slack's answers to chat.postMessage into a user's DM."""
        user = self._users.get(user_id)
        if user is None:
            if self.strict_users:
                raise _SlackError("channel_not_found")
            return
        if user.deleted:
            raise _SlackError("channel_not_found")
        if user.is_bot:
            raise _SlackError("cannot_dm_bot")

    def _dm_for(self, user_id: str) -> str:
        channel = self.dm_channel_id(user_id)
        self._dm_users[channel] = user_id
        return channel

    def _resolve_post_channel(self, channel: str | None) -> str:
        """Map the ``channel`` argument to where the message lands, or raise like Slack."""
        if _missing(channel):
            raise _SlackError("channel_not_found")
        assert channel is not None
        known = self._channels.get(channel)
        if known is not None:
            if known.archived:
                raise _SlackError("is_archived")
            if not known.member and known.private:
                raise _SlackError("channel_not_found")
            return channel  # a public non-member channel works with chat:write.public
        if channel[0] in ("U", "W"):
            self._check_dm_user(channel)
            return self._dm_for(channel)
        if channel[0] == "D":
            user_id = self._dm_users.get(channel)
            if user_id is not None:
                self._check_dm_user(user_id)
            return channel
        if channel[0] in ("C", "G") and not self.strict_channels:
            return channel
        raise _SlackError("channel_not_found")

    def _check_message_content(self, call: Call) -> tuple[list[Any] | None, list[Any] | None]:
        """Validate text/blocks/attachments; returns parsed (blocks, attachments)."""
        params = call.params
        blocks: list[Any] | None = None
        attachments: list[Any] | None = None
        if not _missing(params.get("blocks")):
            try:
                blocks = _json_value(params["blocks"])
            except ValueError:
                self._content_violation(call.method, ["blocks is not valid JSON"])
                raise _SlackError("invalid_blocks_format") from None
            if not isinstance(blocks, list):
                self._content_violation(call.method, ["blocks must be a JSON array"])
                raise _SlackError("invalid_blocks_format")
            problems = check_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
            if problems:
                self._content_violation(call.method, problems)
                raise _SlackError(
                    "invalid_blocks", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
                )
        if not _missing(params.get("attachments")):
            try:
                attachments = _json_value(params["attachments"])
            except ValueError:
                self._content_violation(call.method, ["attachments is not valid JSON"])
                raise _SlackError("invalid_attachments") from None
        text = params.get("text")
        if _missing(text) and not blocks and not attachments:
            self._content_violation(call.method, ["a message needs text or blocks"])
            raise _SlackError("no_text")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            self._content_violation(call.method, [f"text exceeds {MAX_MESSAGE_TEXT} characters"])
            raise _SlackError("msg_too_long")
        return blocks, attachments

    def _message_object(self, stored: dict[str, Any]) -> dict[str, Any]:
        message = {
            "type": "message",
            "user": self.BOT_USER_ID,
            "bot_id": self.BOT_ID,
            "app_id": self.APP_ID,
            "team": self.TEAM_ID,
            "ts": stored["ts"],
            "text": stored["text"],
            "blocks": stored["blocks"],
        }
        for key in ("attachments", "thread_ts", "metadata"):
            if stored.get(key) is not None:
                message[key] = stored[key]
        return message

    # ---------------------------------------------------------------- method handlers

    def _api_test(self, call: Call) -> dict[str, Any]:
        args = {k: v for k, v in call.params.items() if k != "token"}
        if args.get("error"):
            raise _SlackError(str(args["error"]), args=args)
        return {"args": args}

    def _auth_test(self, call: Call) -> dict[str, Any]:
        return {
            "url": f"https://{self.TEAM_DOMAIN}.slack.com/",
            "team": self.TEAM_NAME,
            "user": "presales-bot",
            "team_id": self.TEAM_ID,
            "user_id": self.BOT_USER_ID,
            "bot_id": self.BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, call: Call) -> dict[str, Any]:
        params = call.params
        channel = self._resolve_post_channel(params.get("channel"))
        blocks, attachments = self._check_message_content(call)
        ts = self._next_ts()
        stored = {
            "channel": channel,
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": blocks or [],
            "attachments": attachments,
            "thread_ts": params.get("thread_ts") or None,
            "metadata": _json_value(params["metadata"]) if params.get("metadata") else None,
            "params": {k: v for k, v in params.items() if k != "token"},
            "edits": 0,
        }
        self._messages[(channel, ts)] = stored
        return {"channel": channel, "ts": ts, "message": self._message_object(stored)}

    def _chat_update(self, call: Call) -> dict[str, Any]:
        params = call.params
        key = (params.get("channel"), params.get("ts"))
        old = self._messages.get(key)  # type: ignore[arg-type]
        if old is None:
            raise _SlackError("message_not_found")
        blocks, attachments = self._check_message_content(call)
        stored = dict(old)
        # Slack keeps fields the update omits; an empty blocks array removes blocks.
        if "text" in params:
            stored["text"] = params.get("text") or ""
        if "blocks" in params:
            stored["blocks"] = blocks or []
        if "attachments" in params:
            stored["attachments"] = attachments
        stored["params"] = {k: v for k, v in params.items() if k != "token"}
        stored["edits"] = old["edits"] + 1
        self._messages[key] = stored  # type: ignore[index]
        return {
            "channel": stored["channel"],
            "ts": stored["ts"],
            "text": stored["text"],
            "message": self._message_object(stored),
        }

    def _chat_post_ephemeral(self, call: Call) -> dict[str, Any]:
        params = call.params
        channel = self._resolve_post_channel(params.get("channel"))
        user = self._users.get(params.get("user", ""))
        if user is not None and user.deleted:
            raise _SlackError("user_not_in_channel")
        blocks, attachments = self._check_message_content(call)
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel,
                "user": params.get("user"),
                "message_ts": message_ts,
                "text": params.get("text") or "",
                "blocks": blocks or [],
                "attachments": attachments,
                "thread_ts": params.get("thread_ts") or None,
            }
        )
        return {"message_ts": message_ts}

    def _chat_delete(self, call: Call) -> dict[str, Any]:
        key = (call.params.get("channel"), call.params.get("ts"))
        stored = self._messages.pop(key, None)  # type: ignore[arg-type]
        if stored is None:
            raise _SlackError("message_not_found")
        self._deleted.append(stored)
        return {"channel": stored["channel"], "ts": stored["ts"]}

    def _conversations_open(self, call: Call) -> dict[str, Any]:
        params = call.params
        channel = params.get("channel")
        if not _missing(channel):
            if channel in self._dm_users or channel in self._mpims.values() or channel in self._open_conversations:
                return {"channel": {"id": channel}, "no_op": True, "already_open": True}
            raise _SlackError("channel_not_found")
        users = params.get("users") or ""
        user_ids = [u.strip() for u in (users if isinstance(users, list) else str(users).split(",")) if u.strip()]
        if not user_ids:
            raise _SlackError("users_list_not_supplied")
        if len(user_ids) > 8:
            raise _SlackError("too_many_users")
        for user_id in user_ids:
            user = self._users.get(user_id)
            if user is None and self.strict_users:
                raise _SlackError("user_not_found")
            if user is not None and user.deleted:
                raise _SlackError("user_disabled")
        if len(user_ids) == 1:
            channel_id = self._dm_for(user_ids[0])
        else:
            key = tuple(sorted(set(user_ids)))
            channel_id = self._mpims.setdefault(key, f"G{next(self._seq):08d}")
        answer: dict[str, Any] = {"channel": {"id": channel_id}}
        if channel_id in self._open_conversations:
            answer.update(no_op=True, already_open=True)
        self._open_conversations.add(channel_id)
        if _truthy(params.get("return_im")):
            answer["channel"].update(
                is_im=len(user_ids) == 1,
                is_mpim=len(user_ids) > 1,
                created=int(time.time()),
                is_open=True,
                **({"user": user_ids[0]} if len(user_ids) == 1 else {}),
            )
        return answer

    def _consume_trigger(self, method: str, trigger_id: str) -> None:
        """Slack's trigger rules: use once, within 3 seconds of the interaction."""
        record = self._triggers.get(trigger_id)
        if record is None:
            return  # not issued by this fake (e.g. a hand-written payload): accept
        issued_at, used = record
        if used:
            self.violations.append(f"{method}: trigger_id {trigger_id} used twice")
            raise _SlackError("exchanged_trigger_id")
        record[1] = True
        age = time.monotonic() - issued_at
        if self.trigger_ttl is not None and age > self.trigger_ttl:
            self.violations.append(
                f"{method}: trigger_id used {age:.2f}s after the interaction (Slack allows {self.trigger_ttl}s)"
            )
            raise _SlackError("expired_trigger_id")

    def _view_argument(self, call: Call, expected_type: str | None) -> dict[str, Any]:
        raw = call.params.get("view")
        try:
            view = _json_value(raw)
        except (ValueError, TypeError):
            view = raw
        problems = check_view(view, expected_type=expected_type)
        if problems:
            self._content_violation(call.method, problems)
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
            )
        return copy.deepcopy(view)

    def _store_view(self, view: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
        """Build the view object Slack answers with, and keep it."""
        view_id = existing["id"] if existing else self._new_view_id()
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.TEAM_ID,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": existing.get("previous_view_id") if existing else None,
            "root_view_id": existing["root_view_id"] if existing else view_id,
            "app_id": self.APP_ID,
            "external_id": view.get("external_id", existing.get("external_id", "") if existing else ""),
            "app_installed_team_id": self.TEAM_ID,
            "bot_id": self.BOT_ID,
        }
        for key, value in view.items():  # echo anything else the app sent (submit_disabled...)
            stored.setdefault(key, value)
        self._views[view_id] = stored
        return stored

    def _views_open(self, call: Call) -> dict[str, Any]:
        self._consume_trigger(call.method, str(call.params.get("trigger_id")))
        stored = self._store_view(self._view_argument(call, "modal"))
        self._opened_views.append(stored)
        return {"view": stored}

    def _views_push(self, call: Call) -> dict[str, Any]:
        self._consume_trigger(call.method, str(call.params.get("trigger_id")))
        stored = self._store_view(self._view_argument(call, "modal"))
        self._pushed_views.append(stored)
        return {"view": stored}

    def _views_update(self, call: Call) -> dict[str, Any]:
        params = call.params
        existing: dict[str, Any] | None = None
        if not _missing(params.get("view_id")):
            existing = self._views.get(params["view_id"])
        elif not _missing(params.get("external_id")):
            existing = next(
                (v for v in self._views.values() if v.get("external_id") == params["external_id"]), None
            )
        if existing is None:
            raise _SlackError("not_found")
        if not _missing(params.get("hash")) and params["hash"] != existing["hash"]:
            raise _SlackError("hash_conflict")
        stored = self._store_view(self._view_argument(call, existing["type"]), existing)
        owner = self._home_owner.get(stored["id"])
        if owner is not None:
            self._views_published[owner] = stored
        return {"view": stored}

    def _views_publish(self, call: Call) -> dict[str, Any]:
        params = call.params
        user_id = str(params.get("user_id"))
        user = self._users.get(user_id)
        if (user is None and self.strict_users) or (user is not None and user.deleted):
            raise _SlackError("user_not_found")
        existing = self._views_published.get(user_id)
        if existing is not None and not _missing(params.get("hash")) and params["hash"] != existing["hash"]:
            raise _SlackError("hash_conflict")
        stored = self._store_view(self._view_argument(call, "home"), existing)
        self._views_published[user_id] = stored
        self._home_owner[stored["id"]] = user_id
        return {"view": stored}

    def _user_object(self, user: _User) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "display_name": user.display_name,
                "display_name_normalized": user.display_name,
                "team": user.team_id,
                **({"email": user.email} if user.email else {}),
            },
        }
        if user.tz is not None:
            now = datetime.now(ZoneInfo(user.tz))
            abbreviation = now.tzname() or user.tz
            offset = now.utcoffset()
            obj.update(
                tz=user.tz,
                tz_label=_TZ_LABELS.get(abbreviation, abbreviation),
                tz_offset=int(offset.total_seconds()) if offset is not None else 0,
            )
        return obj

    def _users_info(self, call: Call) -> dict[str, Any]:
        user = self._users.get(str(call.params.get("user")))
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": self._user_object(user)}

    def _users_lookup_by_email(self, call: Call) -> dict[str, Any]:
        email = str(call.params.get("email", "")).lower()
        for user in self._users.values():
            if user.email and user.email.lower() == email:
                return {"user": self._user_object(user)}
        raise _SlackError("users_not_found")

    def _files_get_upload_url(self, call: Call) -> dict[str, Any]:
        try:
            length = int(call.params.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _SlackError("invalid_arguments") from None
        file_id = f"F{next(self._seq):08d}"
        self._uploads[file_id] = {
            "filename": call.params.get("filename"),
            "length": length,
            "data": None,
            "uploaded": False,
            "completed": False,
        }
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, call: Call) -> dict[str, Any]:
        try:
            files = _json_value(call.params.get("files"))
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        if not isinstance(files, list) or not files:
            raise _SlackError("invalid_arguments")
        channel_id = call.params.get("channel_id") or None
        answered: list[dict[str, Any]] = []
        for entry in files:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            upload = self._uploads.get(str(file_id))
            if upload is None or not upload["uploaded"]:
                raise _SlackError("file_not_found")
            title = entry.get("title") or upload["filename"]
            self._uploads[str(file_id)] = {
                **upload,
                "completed": True,
                "title": title,
                "channel_id": channel_id,
                "initial_comment": call.params.get("initial_comment"),
                "thread_ts": call.params.get("thread_ts"),
            }
            answered.append(
                {
                    "id": file_id,
                    "name": upload["filename"],
                    "title": title,
                    "size": len(upload["data"] or b""),
                    "channels": [channel_id] if channel_id else [],
                }
            )
        return {"files": answered}
