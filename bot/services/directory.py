"""The expert directory: who is an expert, with which skills at which levels, and how much they
can take at once. People and roles are bot/services/people.py, skill names bot/services/skills.py,
matching a request bot/services/matching.py, CSV import/export bot/services/directory_csv.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot import clock
from bot.errors import InvalidInput, NotAllowed, NotFound, quote
from bot.services import availability
from bot.services.fields import Field, whole_number
from bot.services.matching import load_subquery
from bot.services.people import MAX_CAPACITY, ensure_person, get_person
from bot.services.skills import format_skill_list, normalize_skill, parse_skill_list, skill_ids
from models import ExpertSkill, Person, Skill, SkillLevel


@dataclass
class DirectoryEntry:
    person: Person
    skills: list[tuple[str, str]]
    load: int
    away: bool


def directory(session: Session, *, team_id: str, skill: str | None, now: datetime) -> list[DirectoryEntry]:
    load = load_subquery(now)
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


@dataclass(frozen=True)
class OwnEntry:
    """An expert's own entry as the skills form shows and returns it."""

    skills: list[tuple[str, SkillLevel]]
    capacity: int
    hours: availability.Hours

    @property
    def skills_text(self) -> str:
        return format_skill_list((name, level.value if isinstance(level, SkillLevel) else level)
                                 for name, level in self.skills)


def own_entry(session: Session, *, team_id: str, user_id: str, default_hours: availability.Hours) -> OwnEntry:
    """The skills form's current values for an expert editing their own entry; NotAllowed for
    anyone who is not an active expert (the form is theirs only)."""
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not person.is_expert:
        raise NotAllowed("Only experts in the directory edit their skills. "
                         "Ask a manager to add you: `/presales expert add @you kubernetes, security`.")
    return OwnEntry(skills=[(es.skill.name, es.level) for es in person.skills], capacity=person.max_concurrent,
                    hours=availability.hours_of(person, default_hours))


def read_own_entry(*, skills_text: str, capacity_text: str, days_text: str, hours_text: str) -> OwnEntry:
    """The skills form as typed -> an entry, or InvalidInput with a message per field."""
    errors: dict[str, str] = {}
    skills: list = []
    hours: tuple[int, int] | None = None
    days: frozenset[int] = frozenset()
    for field_, read in ((Field.EXPERT_SKILLS, lambda: parse_skill_list(skills_text)),
                         (Field.WORK_DAYS, lambda: availability.parse_days(days_text)),
                         (Field.WORK_HOURS, lambda: availability.parse_hours(hours_text))):
        try:
            value = read()
        except InvalidInput as exc:
            errors[field_.value] = str(exc)
            continue
        if field_ == Field.EXPERT_SKILLS:
            skills = value
        elif field_ == Field.WORK_DAYS:
            days = value
        else:
            hours = value
    capacity = whole_number(capacity_text.strip(), 1, MAX_CAPACITY)
    if capacity is None:
        errors[Field.CAPACITY.value] = f"A whole number from 1 to {MAX_CAPACITY}."
    if errors:
        raise InvalidInput(fields=errors)
    return OwnEntry(skills=skills, capacity=capacity, hours=availability.Hours(days=days, start=hours[0], end=hours[1]))


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
    ids = skill_ids(session, [name for name, _ in skills], now=now, create=True)
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


def set_own_skills(session: Session, *, team_id: str, user_id: str, skills: Sequence[tuple[str, SkillLevel]],
                   max_concurrent: int, now: datetime, hours: availability.Hours | None = None) -> Person:
    """An expert edits their own skills, capacity and working days and hours. Joining the
    directory is a manager's call (`/presales expert add`), so nobody makes themselves an expert."""
    person = get_person(session, team_id=team_id, user_id=user_id)
    if person is None or not person.is_expert:
        raise NotAllowed("Only experts in the directory edit their skills. "
                         "Ask a manager to add you: `/presales expert add @you kubernetes, security`.")
    person = set_expert(session, team_id=team_id, user_id=user_id, skills=skills, max_concurrent=max_concurrent,
                        now=now)
    if hours is not None:
        person.work_days = availability.days_code(hours.days)
        person.work_start, person.work_end = hours.start, hours.end
    return person
