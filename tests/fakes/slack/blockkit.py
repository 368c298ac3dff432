"""Block Kit checks: would Slack accept this message's blocks, this modal or Home?

Every block is parsed with slack_sdk's models (``to_dict`` validates recursively), and the
raw JSON is checked for the limits and rules the models do not enforce (text lengths, duplicate
ids, text object types). :func:`text_of` reads what a person sees, for assertions.

The fake calls ``blockkit.check_blocks`` / ``blockkit.check_view`` through this module, so that
:func:`skip_content_checks` (timing runs) turns them off for every caller.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Iterator

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

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


# ---------------------------------------------------------------- rules on the raw JSON


def _section_problems(ptr: str, node: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if len(_text_of(node.get("text"))) > MAX_SECTION_TEXT:
        problems.append(f"{ptr}/text: section text exceeds {MAX_SECTION_TEXT} characters")
    fields = node.get("fields") or []
    if len(fields) > MAX_SECTION_FIELDS:
        problems.append(f"{ptr}/fields: more than {MAX_SECTION_FIELDS} fields")
    for j, fld in enumerate(fields):
        if len(_text_of(fld)) > MAX_SECTION_FIELD_TEXT:
            problems.append(f"{ptr}/fields/{j}: field text exceeds {MAX_SECTION_FIELD_TEXT} characters")
    return problems


def _header_problems(ptr: str, node: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    text = node.get("text")
    if len(_text_of(text)) > MAX_HEADER_TEXT:
        problems.append(f"{ptr}/text: header text exceeds {MAX_HEADER_TEXT} characters")
    if isinstance(text, dict) and text.get("type") != "plain_text":
        problems.append(f"{ptr}/text: header text must be plain_text")
    return problems


def _button_problems(ptr: str, node: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    value = node.get("value")
    if isinstance(value, str) and len(value) > MAX_BUTTON_VALUE:
        problems.append(f"{ptr}/value: button value exceeds {MAX_BUTTON_VALUE} characters")
    text = node.get("text")
    if isinstance(text, dict) and text.get("type") != "plain_text":
        problems.append(f"{ptr}/text: button text must be plain_text")
    return problems


def _text_object_problems(ptr: str, node: dict[str, Any]) -> list[str]:
    if "elements" in node:
        return []
    text = node.get("text")
    return [] if isinstance(text, str) and text else [f"{ptr}/text: must be a non-empty string"]


_NODE_RULES: dict[str, Callable[[str, dict[str, Any]], list[str]]] = {
    "section": _section_problems,
    "header": _header_problems,
    "button": _button_problems,
    "plain_text": _text_object_problems,
    "mrkdwn": _text_object_problems,
}


def _node_problems(ptr: str, node: dict[str, Any]) -> list[str]:
    """One object nested in a block: the rules of its type, then its ``text`` object's type."""
    kind = node.get("type")
    rule = _NODE_RULES.get(kind) if isinstance(kind, str) else None
    problems = rule(ptr, node) if rule is not None else []
    text_obj = node.get("text")
    if kind in ("section", "header", "button") and "text" in node and not isinstance(text_obj, dict):
        problems.append(f"{ptr}/text: must be a text object, not {type(text_obj).__name__}")
    if isinstance(text_obj, dict) and text_obj.get("type") not in _TEXT_OBJECT_TYPES:
        problems.append(f"{ptr}/text: text object type must be plain_text or mrkdwn")
    return problems


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
            problems += _node_problems(ptr, node)
    return problems


# ---------------------------------------------------------------- slack_sdk's models


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


# ---------------------------------------------------------------- the checks the fake runs


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
