"""``FakeSlack``: a local fake of Slack's Web API, for tests and benches.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, random port) that answers the Web API
methods presales-bot uses the way Slack does, so the app can be exercised through
``slack_sdk.WebClient(base_url=fake.api_url)`` exactly as in production. It is modelled on
bolt-python's ``tests/mock_web_api_server`` but adds:

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

The fake is put together from parts, each in its own module: ``spec.py`` (is it a Web API
method, are its arguments there), ``blockkit.py`` (would Slack accept this message or view),
``faults.py`` (what tests inject), ``workspace.py`` (what Slack holds and its rules),
``methods.py`` with ``messages.py`` and ``views.py`` (one function per method) and ``wire.py``
(HTTP). This module serves requests through them and keeps the call log.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

from tests.fakes.slack import workspace as ws
from tests.fakes.slack.call import JSON_HEADERS, Call, SlackError, error_metadata
from tests.fakes.slack.faults import Faults, fault_answer
from tests.fakes.slack.messages import post_to_response_url
from tests.fakes.slack.methods import METHODS, upload_file
from tests.fakes.slack.spec import SpecChecks
from tests.fakes.slack.wire import RequestHandler, Server, parse_params, token_of

Stub = Mapping[str, Any] | Callable[[Call], Mapping[str, Any]]
Answer = tuple[int, dict[str, str], bytes]


class _Part:
    """An attribute of the fake that one of its parts keeps: ``fake.latency`` is
    ``fake.faults.latency``, ``fake.dm_messages`` is ``fake.workspace.dm_messages``."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, fake: Any, owner: type | None = None) -> Any:
        return self if fake is None else getattr(getattr(fake, self.part), self.name)

    def __set__(self, fake: Any, value: Any) -> None:
        setattr(getattr(fake, self.part), self.name, value)


class FakeSlack:
    """A local, stateful, contract-checking fake of Slack's Web API (see module doc)."""

    TEAM_ID = ws.TEAM_ID
    TEAM_NAME = ws.TEAM_NAME
    TEAM_DOMAIN = ws.TEAM_DOMAIN
    BOT_USER_ID = ws.BOT_USER_ID
    BOT_ID = ws.BOT_ID
    APP_ID = ws.APP_ID

    # Fault injection (faults.py): the next calls fail, chaos from now on, latency per request.
    fail = _Part("faults")
    rate_limit = _Part("faults")
    server_error = _Part("faults")
    chaos = _Part("faults")
    clear_faults = _Part("faults", "clear")
    latency = _Part("faults")
    latency_for = _Part("faults")

    # The workspace (workspace.py): set-up, Slack's rules tests may tighten, what users see.
    add_user = _Part("workspace")
    add_channel = _Part("workspace")
    set_status = _Part("workspace")
    set_dnd = _Part("workspace")
    clock = _Part("workspace")
    issue_trigger_id = _Part("workspace")
    strict_users = _Part("workspace")
    strict_channels = _Part("workspace")
    trigger_ttl = _Part("workspace")
    user = _Part("workspace")
    messages = _Part("workspace")
    message = _Part("workspace")
    channel_messages = _Part("workspace")
    dm_messages = _Part("workspace")
    deleted_messages = _Part("workspace")
    ephemerals = _Part("workspace")
    views_published = _Part("workspace")
    opened_views = _Part("workspace")
    pushed_views = _Part("workspace")
    view = _Part("workspace")
    views_with_callback = _Part("workspace")
    uploads = _Part("workspace")
    dm_channel_id = staticmethod(ws.dm_channel_id)

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, specs: Path | None = None) -> None:
        self._host = host
        self._port = port
        self.spec = SpecChecks(specs)  # fail fast when the spec is missing
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.workspace = ws.Workspace(self._lock)
        self.faults = Faults(self._lock)
        self.reset()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "FakeSlack":
        """Start serving in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = Server((self._host, self._port), RequestHandler)
        server.fake = self
        self._server = server
        self.workspace.base_url = self.base_url
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
            # Knobs tests may set (more on the parts: strict_users, trigger_ttl, latency...).
            self.expect_invalid = False  # invalid Block Kit answered but not a violation
            self.valid_tokens: set[str] | None = None  # None accepts any non-empty token
            self.violations: list[str] = []
            self._calls: list[Call] = []
            self._stubs: dict[str, Stub] = {}
            self.workspace.reset()
            self.faults.reset()
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

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _add_violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)

    # ---------------------------------------------------------------- helpers for tests

    def stub(self, method: str, response: Stub) -> None:
        """Answer a method the fake does not implement (dict, or callable(Call) -> dict).

        ``"ok": True`` is added unless the response sets ``ok``.  Spec checks still apply.
        """
        with self._lock:
            self._stubs[method] = response

    def response_url(self, token: str | None = None) -> str:
        """A fresh response_url served by the fake (at most 5 uses, like Slack's)."""
        token = token or secrets.token_hex(12)
        with self._lock:
            self.workspace.response_url_uses.setdefault(token, 0)
        return f"{self.base_url}/response/{token}"

    # ---------------------------------------------------------------- requests

    def _handle_http(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        path = parts.path
        if path.startswith("/api/"):
            return self._handle_api(unquote(path[len("/api/"):]), path, parts.query, headers, body)
        if path.startswith("/response/") and verb == "POST":
            token = unquote(path[len("/response/"):])
            call = Call("response_url", {}, None, headers, None, time.monotonic(), path=path)
            return self._serve(call, lambda: self._json_answer(
                call, post_to_response_url(self.workspace, call, token, body)))
        if path.startswith("/upload/") and verb == "POST":
            file_id = unquote(path[len("/upload/"):])
            call = Call("upload", {"file_id": file_id, "size": len(body)}, None, headers, None, time.monotonic(),
                        path=path)
            return self._serve(call, lambda: self._upload_answer(call, file_id, body))
        self._add_violation(f"request to a path FakeSlack does not serve: {verb} {path}")
        return 404, JSON_HEADERS, b'{"ok": false, "error": "not_found"}'

    def _handle_api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        """A Web API call: checked against the spec (whatever happens next), then a fault if
        one is due, then Slack's authentication and argument errors, then the method."""
        at = time.monotonic()
        parse_error: SlackError | None = None
        try:
            params, json_body = parse_params(query, headers, body)
        except SlackError as exc:
            params, json_body, parse_error = {}, None, exc
        call = Call(method, params, json_body, headers, token_of(headers, params), at, path=path)
        self.faults.delay(method)
        with self._lock:
            try:
                missing, violations = self.spec.check(call)
                self.violations += violations
                fault = self.faults.take(method)
                if fault is not None:
                    return fault_answer(call, fault)
                if parse_error is not None:
                    raise parse_error
                self._authenticate(call, missing)
                return self._json_answer(call, self._dispatch(call))
            except SlackError as exc:
                return self._error_answer(call, exc)
            finally:
                self._record(call)

    def _authenticate(self, call: Call, missing: list[str]) -> None:
        if "token" in missing:
            raise SlackError("not_authed")
        if self.valid_tokens is not None and call.method != "api.test" and call.token not in self.valid_tokens:
            raise SlackError("invalid_auth")
        if missing:
            raise SlackError("invalid_arguments",
                             response_metadata=error_metadata([f"missing required field: {m}" for m in missing]))

    def _dispatch(self, call: Call) -> dict[str, Any]:
        stub = self._stubs.get(call.method)
        if stub is not None:
            answer = dict(stub(call) if callable(stub) else copy.deepcopy(stub))
            return {"ok": True, **answer}
        method = METHODS.get(call.method)
        if method is None:
            # a real method the fake does not implement is the fake's gap, not the app's
            gap = "not implemented by FakeSlack (add it or use fake.stub())" if call.method in self.spec else None
            raise SlackError("unknown_method", violation=gap)
        return {"ok": True, **method(self.workspace, call)}

    def _serve(self, call: Call, answer: Callable[[], Answer]) -> Answer:
        """A request that is not a Web API call (a response_url, an upload URL): a fault if one
        is due, else ``answer()``; recorded either way."""
        self.faults.delay(call.method)
        with self._lock:
            try:
                fault = self.faults.take(call.method)
                if fault is not None:
                    return fault_answer(call, fault)
                return answer()
            except SlackError as exc:
                return self._error_answer(call, exc)
            finally:
                self._record(call)

    def _upload_answer(self, call: Call, file_id: str, body: bytes) -> Answer:
        status, text = upload_file(self.workspace, file_id, body)
        call.status, call.outcome = status, "ok" if status == 200 else str(status)
        return status, {"Content-Type": "text/plain"}, text.encode()

    def _error_answer(self, call: Call, exc: SlackError) -> Answer:
        if exc.violation and not (exc.content and self.expect_invalid):
            self.violations.append(f"{call.method}: {exc.violation}")
        return self._json_answer(call, {"ok": False, "error": exc.error, **exc.extra}, exc.status)

    def _json_answer(self, call: Call, answer: dict[str, Any], status: int = 200) -> Answer:
        call.status = status
        call.response = answer
        if status != 200:
            call.outcome = str(status)
        elif answer.get("ok"):
            call.outcome = "ok"
        else:
            call.outcome = f"error:{answer.get('error')}"
        return status, JSON_HEADERS, json.dumps(answer).encode()
