"""The expertise directory: people, roles, skills with levels, availability, capacity,
and matching a request to the experts who should hear about it."""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Sequence

from sqlalchemy import and_, case, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot import clock
from bot.errors import InvalidInput, NotAllowed, NotFound, quote
from bot.services.fields import storable, whole_number
from bot.services.sql import elapsed_ms
from models import ExpertSkill, Offer, Person, Request, RequestStatus, Skill, SkillLevel

SKILL_MAX = 40
MAX_SKILLS_PER_EXPERT = 30
MAX_CAPACITY = 50
DEFAULT_CAPACITY = 3
SPEED_WINDOW = timedelta(days=90)
# A claimed request keeps counting as load until its time has passed by this much.
LOAD_GRACE = timedelta(hours=12)

_SKILL_CHARS = re.compile(r"^[a-z0-9][a-z0-9 +#./&-]*$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


# ---------------------------------------------------------------- skills


def normalize_skill(raw: str) -> str:
    """'  Kubernetes ' -> 'kubernetes'; raises InvalidInput with a human sentence."""
    name = re.sub(r"\s+", " ", (raw or "").strip().lower())
    if not name:
        raise InvalidInput("A skill name cannot be empty.")
    if len(name) > SKILL_MAX:
        raise InvalidInput(f"Skill names are at most {SKILL_MAX} characters; '{quote(name, 20)}' has {len(name)}.")
    if not _SKILL_CHARS.match(name):
        raise InvalidInput(
            f"'{quote(name)}' is not a skill name: use letters, digits, spaces and + # . / & - only."
        )
    return name


def parse_level(raw: str | None) -> SkillLevel:
    text = (raw or "").strip().lower()
    if not text:
        return SkillLevel.PROFICIENT
    for level in SkillLevel:
        if level.value.startswith(text) and len(text) >= 3:
            return level
    raise InvalidInput(f"'{quote(raw)}' is not a level: use learning, proficient or expert.")


def parse_skill_list(text: str) -> list[tuple[str, SkillLevel]]:
    """'kubernetes:expert, security, fintech:learning' -> [(name, level), ...] (deduplicated)."""
    items = [part for part in re.split(r"[,;\n]+", text or "") if part.strip()]
    if not items:
        raise InvalidInput("List at least one skill, e.g. `kubernetes:expert, security`.")
    out: dict[str, SkillLevel] = {}
    for item in items:
        name, _, level = item.partition(":")
        out[normalize_skill(name)] = parse_level(level)
    if len(out) > MAX_SKILLS_PER_EXPERT:
        raise InvalidInput(f"At most {MAX_SKILLS_PER_EXPERT} skills per expert ({len(out)} given).")
    return list(out.items())


def format_skill_list(skills: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{name}:{level}" for name, level in skills)


def _skill_ids(session: Session, names: Sequence[str], *, now: datetime, create: bool) -> dict[str, int]:
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    found = dict(session.execute(select(Skill.name, Skill.id).where(Skill.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing and not create:
        raise InvalidInput(f"Unknown skill: {missing[0]}.")
    for name in missing:
        try:
            with session.begin_nested():
                skill = Skill(name=name, created_at=now)
                session.add(skill)
                session.flush()
            found[name] = skill.id
        except IntegrityError:  # created concurrently by someone else
            found[name] = session.execute(select(Skill.id).where(Skill.name == name)).scalar_one()
    return found


def known_skills(session: Session, *, query: str = "", limit: int = 100, with_experts_only: bool = False) -> list[str]:
    """Skill names for pickers: prefix matches first, then substring matches."""
    stmt = select(Skill.name)
    q = (query or "").strip().lower()
    if q:
        stmt = stmt.where(Skill.name.contains(q, autoescape=True))
    if with_experts_only:
        stmt = stmt.where(Skill.id.in_(_active_skill_ids()))
    names = list(session.scalars(stmt.order_by(Skill.name)))
    names.sort(key=lambda n: (not n.startswith(q), n))
    return names[:limit]


def existing_skills(session: Session, names: Sequence[str]) -> set[str]:
    """Which of ``names`` (normalised; unreadable names are skipped) are in the directory."""
    wanted = set()
    for name in names:
        try:
            wanted.add(normalize_skill(name))
        except InvalidInput:
            continue
    if not wanted:
        return set()
    return set(session.scalars(select(Skill.name).where(Skill.name.in_(wanted))))


def _active_skill_ids():
    return (
        select(ExpertSkill.skill_id)
        .join(Person, Person.id == ExpertSkill.person_id)
        .where(Person.is_expert.is_(True))
    )


def related_skill_ids(session: Session, skill_ids: Sequence[int]) -> list[int]:
    """The requested skills plus every skill sharing a word with one of them
    ('kubernetes-security' ~ 'kubernetes', 'aws security')."""
    names = list(session.scalars(select(Skill.name).where(Skill.id.in_(list(skill_ids)))))
    words = {w for name in names for w in re.split(r"[\s/.+#&-]+", name) if len(w) >= 3}
    if not words:
        return list(skill_ids)
    related = set(skill_ids)
    for skill_id, name in session.execute(select(Skill.id, Skill.name)).all():
        if words & set(re.split(r"[\s/.+#&-]+", name)):
            related.add(skill_id)
    return sorted(related)


def closest_skills(session: Session, wanted: Sequence[str], *, limit: int = 5) -> list[str]:
    """Skills that do have active experts, closest in spelling to what was asked for."""
    available = known_skills(session, limit=10_000, with_experts_only=True)
    picks: list[str] = []
    for name in wanted:
        for candidate in difflib.get_close_matches(name, available, n=limit, cutoff=0.5):
            if candidate not in picks:
                picks.append(candidate)
        for candidate in available:
            if (name in candidate or candidate in name) and candidate not in picks:
                picks.append(candidate)
    if not picks:
        picks = available
    return picks[:limit]


# ---------------------------------------------------------------- people and roles


def get_person(session: Session, *, team_id: str, user_id: str, with_skills: bool = True) -> Person | None:
    """The person row, with their skills loaded (usable after the session closes) unless
    ``with_skills=False`` (one query fewer on the ack path; ``person.skills`` then loads on first
    use inside the session)."""
    query = select(Person).where(Person.team_id == team_id, Person.slack_user_id == user_id)
    if with_skills:
        query = query.options(selectinload(Person.skills))
    return session.execute(query).scalar_one_or_none()


def own_skills(session: Session, *, team_id: str, user_id: str) -> tuple[str, int]:
    """The skills form's current values for an expert editing their own entry; NotAllowed for
    anyone who is not an active expert (the form is theirs only)."""
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not person.is_expert:
        raise NotAllowed("Only experts in the directory edit their skills. "
                         "Ask a manager to add you: `/presales expert add @you kubernetes, security`.")
    return format_skill_list((es.skill.name, es.level) for es in person.skills), person.max_concurrent


def ensure_person(session: Session, *, team_id: str, user_id: str, now: datetime, with_skills: bool = True) -> Person:
    """The person row for a Slack user, created on first sight (safe under concurrency)."""
    if not _USER_ID.match(user_id or ""):
        raise InvalidInput(f"'{quote(user_id)}' is not a Slack user ID.")
    person = get_person(session, team_id=team_id, user_id=user_id, with_skills=with_skills)
    if person is not None:
        return person
    try:
        with session.begin_nested():
            person = Person(
                team_id=team_id,
                slack_user_id=user_id,
                is_manager=False,
                is_expert=False,
                max_concurrent=DEFAULT_CAPACITY,
                created_at=now,
                updated_at=now,
            )
            session.add(person)
            session.flush()
        return person
    except IntegrityError:
        person = get_person(session, team_id=team_id, user_id=user_id)
        assert person is not None
        return person


def update_profile(
    session: Session, *, person_id: int, tz: str | None, name: str | None, email: str | None, now: datetime
) -> None:
    """Cache what users.info told us (timezone, display name, email)."""
    values: dict = {"tz_checked_at": now}
    if tz:
        values["tz"] = tz
    if name:
        values["name"] = name[:255]
    if email:
        values["email"] = email[:320]
    session.execute(update(Person).where(Person.id == person_id).values(**values))


def people_needing_profile(people: Iterable[Person], *, now: datetime, max_age: timedelta = timedelta(days=1)):
    return [p for p in people if p.tz is None or p.tz_checked_at is None or now - p.tz_checked_at > max_age]


@dataclass(frozen=True)
class Roles:
    admin: bool
    manager: bool
    expert: bool

    @property
    def can_manage(self) -> bool:
        return self.admin or self.manager


def roles_of(session: Session, *, team_id: str, user_id: str, admins: frozenset[str]) -> Roles:
    person = get_person(session, team_id=team_id, user_id=user_id)
    admin = user_id in admins
    return Roles(
        admin=admin,
        manager=admin or bool(person and person.is_manager),
        expert=bool(person and person.is_expert),
    )


def require_manager(session: Session, *, team_id: str, user_id: str, admins: frozenset[str]) -> Roles:
    roles = roles_of(session, team_id=team_id, user_id=user_id, admins=admins)
    if not roles.can_manage:
        raise NotAllowed("Only managers and admins can do that. Ask an admin to run `/presales manager add @you`.")
    return roles


def require_owner_or_manager(session: Session, *, team_id: str, owner_id: int, user_id: str,
                             admins: frozenset[str], now: datetime, refusal: str) -> Person:
    """The acting person, if they own the thing (the requester) or manage; else NotAllowed."""
    actor = ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    if actor.id != owner_id and not roles_of(session, team_id=team_id, user_id=user_id, admins=admins).can_manage:
        raise NotAllowed(refusal)
    return actor


def set_manager(
    session: Session, *, team_id: str, actor_user_id: str, user_id: str, admins: frozenset[str], grant: bool, now: datetime
) -> Person:
    if actor_user_id not in admins:
        raise NotAllowed("Only admins (PRESALES_ADMINS) can grant or remove the manager role.")
    person = ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    person.is_manager = grant
    person.updated_at = now
    return person


# ---------------------------------------------------------------- experts


def set_expert(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    skills: Sequence[tuple[str, SkillLevel]],
    now: datetime,
    max_concurrent: int | None = None,
    tz: str | None = None,
) -> Person:
    """Add or update an expert: their skill set is replaced by ``skills``."""
    if not skills:
        raise InvalidInput("An expert needs at least one skill.")
    if max_concurrent is not None and not 1 <= max_concurrent <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity must be between 1 and {MAX_CAPACITY} concurrent requests.")
    if tz is not None and clock.zone(tz, fallback="").key != tz:
        raise InvalidInput(f"'{quote(tz)}' is not a timezone like Europe/Berlin.")
    person = ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    ids = _skill_ids(session, [name for name, _ in skills], now=now, create=True)
    wanted = {ids[name]: level.value for name, level in skills}
    current = {es.skill_id: es for es in person.skills}
    for skill_id, es in current.items():
        if skill_id not in wanted:
            person.skills.remove(es)
    for skill_id, level in wanted.items():
        if skill_id in current:
            current[skill_id].level = level
        else:
            person.skills.append(ExpertSkill(skill_id=skill_id, level=level))
    person.is_expert = True
    if max_concurrent is not None:
        person.max_concurrent = max_concurrent
    if tz:
        person.tz = tz
    person.updated_at = now
    session.flush()
    session.refresh(person, ["skills"])
    return person


def remove_expert(session: Session, *, team_id: str, user_id: str, now: datetime) -> Person:
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not person.is_expert:
        raise NotFound("That person is not in the expert directory.")
    person.is_expert = False
    person.updated_at = now
    return person


def set_away(session: Session, *, team_id: str, user_id: str, until: datetime, now: datetime) -> Person:
    if until <= now:
        raise InvalidInput("That date is in the past: say when you will be back, e.g. `/presales away until Dec 3`.")
    if until - now > timedelta(days=366):
        raise InvalidInput("Away for more than a year? Pick a date within the next 12 months.")
    person = ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    person.away_from = now
    person.away_until = until
    person.updated_at = now
    return person


def set_back(session: Session, *, team_id: str, user_id: str, now: datetime) -> Person:
    person = ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    person.away_from = None
    person.away_until = None
    person.updated_at = now
    return person


def _load_subquery(now: datetime):
    """Open claims per expert: claimed requests whose time has not passed."""
    when = func.coalesce(Request.meeting_at, Request.needed_by)
    return (
        select(Request.claimed_by_id.label("person_id"), func.count().label("load"))
        .where(
            Request.status == RequestStatus.CLAIMED.value,
            or_(when.is_(None), when >= now - LOAD_GRACE),
        )
        .group_by(Request.claimed_by_id)
        .subquery("load")
    )


def load_of(session: Session, *, person_id: int, now: datetime) -> int:
    load = _load_subquery(now)
    return int(session.scalar(select(load.c.load).where(load.c.person_id == person_id)) or 0)


@dataclass
class DirectoryEntry:
    person: Person
    skills: list[tuple[str, str]]
    load: int
    away: bool


def directory(session: Session, *, team_id: str, skill: str | None, now: datetime) -> list[DirectoryEntry]:
    load = _load_subquery(now)
    stmt = (
        select(Person, func.coalesce(load.c.load, 0))
        .outerjoin(load, load.c.person_id == Person.id)
        .where(Person.team_id == team_id, Person.is_expert.is_(True))
        .order_by(Person.slack_user_id)
        .options(selectinload(Person.skills))
    )
    if skill:
        name = normalize_skill(skill)
        stmt = stmt.where(
            Person.id.in_(
                select(ExpertSkill.person_id).join(Skill, Skill.id == ExpertSkill.skill_id).where(Skill.name == name)
            )
        )
    out = []
    for person, person_load in session.execute(stmt).all():
        skills = sorted(((es.skill.name, es.level) for es in person.skills), key=lambda s: s[0])
        out.append(DirectoryEntry(person=person, skills=skills, load=int(person_load), away=person.is_away_at(now)))
    return out


# ---------------------------------------------------------------- matching


@dataclass
class Match:
    person: Person
    matched: int
    weight: int
    load: int
    speed_ms: float | None


def match_experts(
    session: Session,
    *,
    request: Request,
    now: datetime,
    limit: int | None = None,
    exclude_person_ids: Iterable[int] = (),
    skill_ids: Sequence[int] | None = None,
) -> list[Match]:
    """Experts for ``request``: at least one requested skill, active, not away at the request's
    time, below capacity; ranked by skills matched (and their levels), then load, then
    recent response speed. The requester is never matched."""
    skill_ids = list(skill_ids) if skill_ids is not None else [s.id for s in request.skills]
    if not skill_ids:
        return []
    at = request.when or now
    level_weight = case(
        (ExpertSkill.level == SkillLevel.EXPERT.value, 3),
        (ExpertSkill.level == SkillLevel.PROFICIENT.value, 2),
        else_=1,
    )
    matched = (
        select(
            ExpertSkill.person_id.label("person_id"),
            func.count().label("matched"),
            func.sum(level_weight).label("weight"),
        )
        .where(ExpertSkill.skill_id.in_(skill_ids))
        .group_by(ExpertSkill.person_id)
        .subquery("matched")
    )
    load = _load_subquery(now)
    speed = (
        select(Offer.expert_id.label("person_id"), func.avg(elapsed_ms(Offer.responded_at, Offer.sent_at)).label("speed"))
        .where(Offer.sent_at >= now - SPEED_WINDOW, Offer.responded_at.is_not(None), Offer.sent_at.is_not(None))
        .group_by(Offer.expert_id)
        .subquery("speed")
    )
    load_col = func.coalesce(load.c.load, 0)
    stmt = (
        select(Person, matched.c.matched, matched.c.weight, load_col, speed.c.speed)
        .join(matched, matched.c.person_id == Person.id)
        .outerjoin(load, load.c.person_id == Person.id)
        .outerjoin(speed, speed.c.person_id == Person.id)
        .where(
            Person.team_id == request.team_id,
            Person.is_expert.is_(True),
            Person.id != request.requester_id,
            load_col < Person.max_concurrent,
            not_(
                and_(
                    Person.away_until.is_not(None),
                    Person.away_until > at,
                    or_(Person.away_from.is_(None), Person.away_from <= at),
                )
            ),
        )
        .order_by(
            matched.c.matched.desc(),
            matched.c.weight.desc(),
            load_col.asc(),
            speed.c.speed.is_(None),
            speed.c.speed.asc(),
            Person.id.asc(),
        )
    )
    excluded = list(exclude_person_ids)
    if excluded:
        stmt = stmt.where(Person.id.not_in(excluded))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Match(person=p, matched=int(m), weight=int(w), load=int(l), speed_ms=float(s) if s is not None else None)
        for p, m, w, l, s in session.execute(stmt).all()
    ]


def was_offered(session: Session, *, request: Request, person: Person) -> bool:
    return session.execute(
        select(Offer.id).where(Offer.request_id == request.id, Offer.expert_id == person.id)
    ).first() is not None


def is_eligible(session: Session, *, request: Request, person: Person) -> bool:
    """May this person claim the request: an active expert of this workspace (not the requester)
    who was offered it, or who has one of its skills (claiming from the experts channel).
    Someone removed from the directory can no longer claim what they were once offered."""
    if request.synthetic:  # a self-test: the person it was sent to, whoever they are
        return person.team_id == request.team_id and was_offered(session, request=request, person=person)
    if person.team_id != request.team_id or person.id == request.requester_id or not person.is_expert:
        return False
    if was_offered(session, request=request, person=person):
        return True
    wanted = {s.id for s in request.skills}
    return any(es.skill_id in wanted for es in person.skills)


def set_own_skills(session: Session, *, team_id: str, user_id: str, skills: Sequence[tuple[str, SkillLevel]],
                   max_concurrent: int, now: datetime) -> Person:
    """An expert edits their own skills and capacity. Joining the directory is a manager's call
    (`/presales expert add`), so nobody makes themselves an expert."""
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not person.is_expert:
        raise NotAllowed("Only experts in the directory edit their skills. "
                         "Ask a manager to add you: `/presales expert add @you kubernetes, security`.")
    return set_expert(session, team_id=team_id, user_id=user_id, skills=skills, max_concurrent=max_concurrent, now=now)


# ---------------------------------------------------------------- CSV import / export

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
            if not (_USER_ID.match(user) or _EMAIL.match(user)):
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
        if _USER_ID.match(row.user):
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
