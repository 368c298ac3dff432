"""Who people are in Slack: their timezone, name and email, cached from users.info."""

from __future__ import annotations

from datetime import timedelta

from bot import clock
from bot.deps import Deps
from bot.services import people
from models import Person

PROFILE_MAX_AGE = timedelta(days=1)
PROFILE_RETRY = timedelta(minutes=10)


def refresh_profiles(deps: Deps, persons: list[Person], *, parallel: bool = False) -> dict[int, str | None]:
    """Timezones for ``persons`` (person id -> IANA name), asking users.info for stale ones.
    ``parallel`` uses the send pool: only from threads that are not on it themselves."""
    now = clock.now()
    zones = {p.id: p.tz for p in persons}
    stale = people.people_needing_profile(persons, now=now, max_age=PROFILE_MAX_AGE)
    if not stale:
        return zones
    ask = lambda p: (p, deps.notifier.profile(p.slack_user_id))  # noqa: E731
    profiles = deps.work.map(ask, stale) if parallel else [ask(p) for p in stale]
    with deps.db.session() as session:
        for person, profile in profiles:
            if profile is None:  # Slack said no (or nothing): try again in 10 minutes, not every time
                people.update_profile(session, person_id=person.id, tz=None, name=None, email=None,
                                      now=now - PROFILE_MAX_AGE + PROFILE_RETRY)
                continue
            people.update_profile(session, person_id=person.id, tz=profile.tz, name=profile.name,
                                  email=profile.email, now=now)
            if profile.tz:
                zones[person.id] = profile.tz
    return zones


def refresh_later(deps: Deps, persons: list[Person]) -> None:
    """Queue a users.info refresh for those of ``persons`` whose profile is stale (off the path
    of whatever is being sent now)."""
    stale = people.people_needing_profile(persons, now=clock.now(), max_age=PROFILE_MAX_AGE)
    if stale:
        deps.work.submit(refresh_profiles, deps, stale)


def timezone_of(deps: Deps, team_id: str, user_id: str) -> str:
    """A person's IANA timezone: cached in the database, else users.info, else the default."""
    with deps.db.read() as session:
        person = people.get_person(session, team_id=team_id, user_id=user_id)
    if person is None:  # the first time we see them: the only write here
        with deps.db.session() as session:
            person = people.ensure_person(session, team_id=team_id, user_id=user_id, now=clock.now())
    return refresh_profiles(deps, [person]).get(person.id) or deps.settings.timezone


def cached_timezone(deps: Deps, team_id: str, user_id: str) -> str:
    """For the ack path and before views.open: the stored timezone, no Slack call. A stale
    one is refreshed in the background for next time."""
    with deps.db.read() as session:
        person = people.get_person(session, team_id=team_id, user_id=user_id, with_skills=False)
    if person is None or people.people_needing_profile([person], now=clock.now(), max_age=PROFILE_MAX_AGE):
        deps.work.submit(timezone_of, deps, team_id, user_id)
    return deps.tz(person)
