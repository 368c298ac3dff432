"""Slack's published Web API contract, and the check of one call against it.

The OpenAPI file (``tests/data/slack_web_openapi_v2.json``, see ``tests/data/README.md``) says
which methods exist, which arguments each requires and whether it accepts a JSON body. Rules
Slack enforces that the file does not state are added here (``EXTRA_REQUIRED``,
``EXTRA_ONE_OF``), and methods newer than the file are allow-listed (``NOT_IN_SPEC``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tests.fakes.slack.call import Call, is_missing

SPEC_FILE = "slack_web_openapi_v2.json"

#: Slack's spec files, kept in the repository with their licences (tests/data/README.md).
SPECS_DIR = Path(__file__).resolve().parents[2] / "data"

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


@dataclass(frozen=True)
class MethodSpec:
    """What the OpenAPI spec says about one Web API method."""

    name: str
    required: tuple[str, ...]  # required formData/query arguments, ``token`` excluded
    token_required: bool
    accepts_json: bool  # "application/json" listed in ``consumes``


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


class SpecChecks:
    """Every call checked against the Web API spec (loaded when the fake is built: a missing
    spec fails fast)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.methods = load_web_api_spec(directory)

    def __contains__(self, method: str) -> bool:
        """A real Web API method (in the spec file)."""
        return method in self.methods

    def check(self, call: Call) -> tuple[list[str], list[str]]:
        """``(missing argument names, violations)`` of one call; ``"token"`` is among the
        missing when the method needs a token and the call has none."""
        method = call.method
        spec = self.methods.get(method)
        if spec is None:
            if method not in NOT_IN_SPEC:
                return [], [f"{method}: not a Slack Web API method (absent from {SPEC_FILE})"]
            spec = MethodSpec(method, NOT_IN_SPEC[method], token_required=True, accepts_json=True)
        violations: list[str] = []
        missing = [
            name
            for name in spec.required + EXTRA_REQUIRED.get(method, ())
            if is_missing(call.params.get(name))
        ]
        group = EXTRA_ONE_OF.get(method)
        if group and all(is_missing(call.params.get(name)) for name in group):
            missing.append(" or ".join(group))
        if spec.token_required and not call.token:
            missing.append("token")
        if missing:
            violations.append(f"{method}: missing required argument(s) {missing}")
        if call.json_body is not None and not spec.accepts_json:
            violations.append(f"{method}: sent a JSON body but the method only accepts form-encoded arguments")
        return missing, violations
