"""The environment variables bot/config.py reads, found in its source (no list to keep in step).

A name counts when it is a string literal handed over next to the mapping of variables
(`_int(merged, "PORT", 3000)`) or looked up in it (`merged.get("LOG_LEVEL")`, `env["X"]`).
tests/unit/test_readme_config.py checks at run time that every name found is really read.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "bot" / "config.py"
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def _env_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAME.fullmatch(node.value):
        return node.value
    return None


@lru_cache(maxsize=1)
def config_env_names() -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(CONFIG.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            names.add(_env_name(node.slice) or "")
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            names.add(_env_name(node.args[0]) or "")
        for before, arg in zip(node.args, node.args[1:]):
            if isinstance(before, ast.Name):
                names.add(_env_name(arg) or "")
    names.discard("")
    return frozenset(names)
