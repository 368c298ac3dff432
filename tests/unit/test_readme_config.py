"""README's "Configuration" table says what bot/config.py reads, with the defaults it uses.

Names: every variable load_settings reads is in the table and every name in the table is read
(found in config.py's source by tests/config_names.py, and proven here at run time: a bad value
changes the settings or is refused). Defaults: setting a variable to the default the table (or
the prose, "`PRESALES_LEASE`, 5m") gives it must leave the settings as they are unset.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from tests.config_names import config_env_names

pytestmark = pytest.mark.db_agnostic

README = Path(__file__).resolve().parents[2] / "README.md"
DATABASES = {"SQLite": "sqlite:///presales.db", "PostgreSQL": "postgresql://db.example/presales"}


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def table(text: str) -> dict[str, str]:
    """{variable: its default cell (the part for it, in a row of several `A` / `B`)}."""
    rows: dict[str, str] = {}
    for line in _section(text, "Configuration").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        defaults = cells[1].split(" / ") if len(names) > 1 else [cells[1]]
        assert len(defaults) == len(names), f"{len(names)} variables but {len(defaults)} defaults: {line}"
        for name, default in zip(names, defaults):
            assert name not in rows, f"{name} is in the table twice"
            rows[name] = default
    assert rows, "no rows found in the Configuration table"
    return rows


def _effective(settings: Settings) -> Settings:
    return dataclasses.replace(settings, web_workers=settings.workers)  # WEB_CONCURRENCY unset = the computed one


def default_mismatches(name: str, cell: str) -> list[str]:
    """The ways setting ``name`` to the default ``cell`` states differs from leaving it unset."""
    per_database = re.findall(r"`([^`]*)` on (SQLite|PostgreSQL)", cell)
    if per_database:
        cases = [(value, DATABASES[db]) for value, db in per_database]
    else:
        literal = re.search(r"`([^`]*)`", cell)
        if not literal or cell.startswith("—"):
            return []  # no default to compare ("—", or words only)
        cases = [(literal.group(1), None)]
    problems = []
    for value, database in cases:
        base = {"DATABASE_URL": database} if database else {}
        unset = _effective(load_settings(base, env_file=None))
        try:
            stated = _effective(load_settings({**base, name: value}, env_file=None))
        except ConfigError as exc:
            problems.append(f"{name}: the stated default {value!r} is refused ({exc})")
            continue
        if stated != unset:
            changed = [f.name for f in dataclasses.fields(Settings) if getattr(stated, f.name) != getattr(unset, f.name)]
            problems.append(f"{name}: {value!r}{' on ' + database if database else ''} is not the default "
                            f"(changes {', '.join(changed)})")
    return problems


def test_every_variable_config_reads_is_in_the_table_and_no_other():
    documented = set(table(README.read_text(encoding="utf-8")))
    read = set(config_env_names())
    assert {"SLACK_BOT_TOKEN", "PORT", "LOG_LEVEL"} <= read, f"the source scan found too little: {sorted(read)}"
    assert not read - documented, f"read by bot/config.py but missing from README's table: {sorted(read - documented)}"
    assert not documented - read, f"in README's table but not read by bot/config.py: {sorted(documented - read)}"


@pytest.mark.parametrize("name", sorted(config_env_names()))
def test_each_name_found_in_the_source_is_really_read(name):
    unset = load_settings({}, env_file=None)
    try:
        probed = load_settings({name: "\x00probe"}, env_file=None)
    except ConfigError:
        return  # refused: read
    assert probed != unset, f"{name} set to a junk value changes nothing: bot/config.py does not read it"


def test_table_defaults_are_the_settings_defaults():
    problems = [p for name, cell in table(README.read_text(encoding="utf-8")).items()
                for p in default_mismatches(name, cell)]
    assert not problems, "README's Configuration table:\n" + "\n".join(problems)


def prose_defaults(text: str) -> list[tuple[str, str]]:
    """(name, value) where the prose gives a default: "`NAME` (24h", "`NAME` (`0 9 * * MON`, …"
    and "(`NAME`, 2m)"; words ("a temporary one is made if unset") are no value."""
    names = "|".join(sorted(config_env_names()))
    found = []
    for match in re.finditer(rf"`({names})`\s*\(([^);]+)|\(`({names})`,\s*([^);]+)\)", text):
        name, value = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        literal = re.match(r"`([^`]*)`", value.strip()) or re.fullmatch(r"(\S+)", value.strip())
        if literal:
            found.append((name, literal.group(1)))
    return found


def test_defaults_the_prose_gives_are_the_settings_defaults():
    text = README.read_text(encoding="utf-8")
    found = prose_defaults(text)
    assert len(found) >= 8, f"the prose scan found too little: {found}"
    problems = []
    for name, value in found:
        try:
            load_settings({name: value}, env_file=None)
        except ConfigError:
            continue  # words, not a value ("per process")
        problems += default_mismatches(name, f"`{value}`")
    assert not problems, "README's prose:\n" + "\n".join(problems)


def test_the_checks_catch_a_wrong_default():
    assert default_mismatches("PRESALES_LEASE", "`2m`")
    assert default_mismatches("WEB_CONCURRENCY", "`2` on SQLite, `2` on PostgreSQL")
    assert not default_mismatches("WEB_CONCURRENCY", "`1` on SQLite, `2` on PostgreSQL")
    assert prose_defaults("the lease (`PRESALES_LEASE`, 2m) runs out") == [("PRESALES_LEASE", "2m")]
    assert prose_defaults("`PRESALES_DIGEST_CRON`\n(`0 9 * * SUN`, crontab)") == [("PRESALES_DIGEST_CRON", "0 9 * * SUN")]
    assert default_mismatches("PRESALES_DIGEST_CRON", "`0 9 * * SUN`")
