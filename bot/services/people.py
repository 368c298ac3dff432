"""People: who someone is (their Slack id, cached profile and timezone), their roles (admin,
manager, expert) and their availability (away until ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.errors import InvalidInput, NotAllowed, quote
from bot.services import availability
from models import Person


def get(session: Session, *, person_id: int) -> Person | None:
    return session.get(Person, person_id)


def by_ids(session: Session, person_ids: Sequence[int]) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.id.in_(list(person_ids))).order_by(Person.id)))


MAX_CAPACITY = 50
DEFAULT_CAPACITY = 3
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def get_person(session: Session, *, team_id: str, user_id: str, with_skills: bool = True) -> Person | None:
    """The person row, with their skills loaded (usable after the session closes) unless
    ``with_skills=False`` (one query fewer on the ack path; ``person.skills`` then loads on first
    use inside the session)."""
    query = select(Person).where(Person.team_id == team_id, Person.slack_user_id == user_id)
    if with_skills:
        query = query.options(selectinload(Person.skills))
    return session.execute(query).scalar_one_or_none()


def ensure_person(session: Session, *, team_id: str, user_id: str, now: datetime, with_skills: bool = True) -> Person:
    """The person row for a Slack user, created on first sight (safe under concurrency)."""
    if not USER_ID.match(user_id or ""):
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


def ensure_admins(session: Session, *, team_id: str, admins: frozenset[str], now: datetime) -> list[Person]:
    """The people rows of the admins (PRESALES_ADMINS) in ``team_id``, created on first need, so
    an escalation, a no-match alert or a digest meant for them reaches them even if they never
    used the bot (their profile is read from users.info when they are next rendered for)."""
    return [ensure_person(session, team_id=team_id, user_id=user_id, now=now, with_skills=False)
            for user_id in sorted(admins)]


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


def update_status(session: Session, *, person_id: int, text: str | None, emoji: str | None,
                  expiration: datetime | None, emojis: frozenset[str], words: tuple[str, ...], now: datetime) -> bool:
    """Cache a person's Slack status and whether it reads as out of office (until it expires).
    True when it newly says out of office."""
    ooo = availability.reads_as_ooo(text, emoji, emojis=emojis, words=words) and (expiration is None or expiration > now)
    before = session.scalar(select(Person.out_of_office).where(Person.id == person_id))
    session.execute(update(Person).where(Person.id == person_id).values(
        status_text=(text or None) and text[:100], status_emoji=(emoji or None) and emoji[:64],
        out_of_office=ooo, ooo_until=expiration if ooo else None, availability_checked_at=now))
    return ooo and not before


def update_dnd(session: Session, *, person_id: int, until: datetime | None, now: datetime) -> None:
    session.execute(update(Person).where(Person.id == person_id).values(dnd_until=until, availability_checked_at=now))


def by_slack_id(session: Session, *, user_id: str) -> list[Person]:
    """The person rows of one Slack user (one per workspace they are known in)."""
    return list(session.scalars(select(Person).where(Person.slack_user_id == user_id)))


def stale_availability(session: Session, *, older_than: datetime, limit: int) -> list[Person]:
    """Experts whose status and DND were last read before ``older_than`` (oldest first)."""
    return list(session.scalars(
        select(Person).where(Person.is_expert.is_(True),
                             (Person.availability_checked_at.is_(None)) | (Person.availability_checked_at < older_than))
        .order_by(Person.availability_checked_at.is_not(None), Person.availability_checked_at, Person.id).limit(limit)))


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
