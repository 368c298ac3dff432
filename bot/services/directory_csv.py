"""The expert directory as CSV: `presales-bot directory import|export`. An import is checked
whole first (every problem with its line number) and applied all or nothing."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

from bot import clock
from bot.errors import InvalidInput
from bot.services.directory import directory, set_expert
from bot.services.fields import storable, whole_number
from bot.services.people import USER_ID, DEFAULT_CAPACITY, MAX_CAPACITY
from bot.services.skills import format_skill_list, parse_skill_list
from models import SkillLevel

CSV_COLUMNS = ["user", "skills", "max_concurrent", "timezone"]


@dataclass
class ImportRow:
    line: int
    user: str
    skills: list[tuple[str, SkillLevel]]
    max_concurrent: int
    tz: str | None
    user_id: str | None = None


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_directory_csv(text: str) -> ImportReport:
    """Parse the directory CSV (columns: user (Slack user ID or email), skills, max_concurrent,
    timezone). Every problem is reported with its line number; nothing is imported if any."""
    report = ImportReport()
    # newline="" as the csv module asks: quoted fields keep their line breaks, and a bare
    # carriage return inside an unquoted field ends a line instead of raising.
    reader = csv.reader(io.StringIO(storable(text), newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        report.errors.append(f"line {reader.line_num}: this is not valid CSV ({exc}); save the file as CSV (UTF-8)")
        return report
    if not rows:
        report.errors.append("line 1: the file is empty; expected a header: " + ",".join(CSV_COLUMNS))
        return report
    header = [h.strip().lower() for h in rows[0]]
    aliases = {"slack_user_id": "user", "email": "user", "user_id": "user", "capacity": "max_concurrent", "tz": "timezone"}
    header = [aliases.get(h, h) for h in header]
    if header[:2] != ["user", "skills"]:
        report.errors.append("line 1: the header must start with user,skills (then max_concurrent, timezone)")
        return report
    col = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in raw):
            continue
        cells = raw + [""] * (len(header) - len(raw))

        def cell(name: str) -> str:
            return cells[col[name]].strip() if name in col else ""

        user = cell("user")
        try:
            if not (USER_ID.match(user) or _EMAIL.match(user)):
                raise InvalidInput(f"'{user[:60]}' is neither a Slack user ID (U…) nor an email address")
            skills = parse_skill_list(cell("skills"))
            capacity_text = cell("max_concurrent")
            if capacity_text:
                capacity = whole_number(capacity_text, 1, MAX_CAPACITY)
                if capacity is None:
                    raise InvalidInput(f"max_concurrent '{capacity_text[:20]}' must be a number from 1 to {MAX_CAPACITY}")
            else:
                capacity = DEFAULT_CAPACITY
            tz = cell("timezone") or None
            if tz and clock.zone(tz, fallback="").key != tz:
                raise InvalidInput(f"'{tz[:40]}' is not a timezone like Europe/Berlin")
            key = user.lower()
            if key in seen:
                raise InvalidInput(f"{user} is listed twice (first on line {seen[key]})")
            seen[key] = number
            report.rows.append(ImportRow(line=number, user=user, skills=skills, max_concurrent=capacity, tz=tz))
        except InvalidInput as exc:
            report.errors.append(f"line {number}: {str(exc).rstrip('.')}")
    return report


def resolve_users(report: ImportReport, lookup_email: Callable[[str], str | None]) -> None:
    """Fill ``user_id`` for each row; emails go through ``lookup_email`` (users.lookupByEmail)."""
    for row in report.rows:
        if USER_ID.match(row.user):
            row.user_id = row.user
            continue
        user_id = lookup_email(row.user)
        if user_id:
            row.user_id = user_id
        else:
            report.errors.append(f"line {row.line}: no Slack user has the email {row.user}")


def import_directory(session: Session, *, team_id: str, report: ImportReport, now: datetime) -> int:
    """Apply a fully resolved import in the caller's transaction (all rows or none)."""
    if report.errors:
        raise InvalidInput("; ".join(report.errors))
    for row in report.rows:
        if not row.user_id:
            raise InvalidInput(f"line {row.line}: the user was not resolved")
        person = set_expert(
            session, team_id=team_id, user_id=row.user_id, skills=row.skills, max_concurrent=row.max_concurrent,
            tz=row.tz, now=now,
        )
        if _EMAIL.match(row.user):
            person.email = row.user
    return len(report.rows)


def export_directory_csv(session: Session, *, team_id: str, now: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in directory(session, team_id=team_id, skill=None, now=now):
        writer.writerow([
            entry.person.slack_user_id,
            format_skill_list(entry.skills),
            entry.person.max_concurrent,
            entry.person.tz or "",
        ])
    return out.getvalue()
