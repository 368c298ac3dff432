"""HTTP in and out: the threaded server the fake runs, and a request's arguments read the way
Slack reads them (query string, form, JSON body, multipart; the token from the Authorization
header or the ``token`` argument)."""

from __future__ import annotations

import email.policy
import json
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import parse_qsl

from tests.fakes.slack.call import SlackError

if TYPE_CHECKING:
    from tests.fakes.slack.server import FakeSlack


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


def parse_params(
    query: str, headers: Mapping[str, str], body: bytes
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(arguments, the JSON body when there was one)``; :class:`SlackError` on a body Slack
    cannot read."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    full_type = headers.get("content-type", "")
    content_type = full_type.split(";")[0].strip().lower()
    json_body: dict[str, Any] | None = None
    if body:
        if content_type == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(parsed, dict):
                raise SlackError("json_not_object")
            json_body = parsed
            params.update(parsed)
        elif content_type == "multipart/form-data":
            params.update(_parse_multipart(full_type, body))
        else:
            try:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise SlackError("invalid_charset") from None
    return params, json_body


def token_of(headers: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """``Authorization: Bearer`` first, else the ``token`` argument."""
    auth = headers.get("authorization", "")
    token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
    return token or params.get("token") or None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default (5) makes bursts of calls wait for SYN retries
    fake: "FakeSlack"


class RequestHandler(BaseHTTPRequestHandler):
    server: Server
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
