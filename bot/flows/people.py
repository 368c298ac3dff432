"""Who people are in Slack: their timezone, name and email, cached from users.info."""

from __future__ import annotations

from datetime import timedelta

from bot import clock
from bot.deps import Deps
from bot.services import offers, people
from bot.slack.notify import Profile, dnd_until, profile_of
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
            _store_status(deps, session, person.id, profile, now)
            if profile.tz:
                zones[person.id] = profile.tz
    return zones


def _store_status(deps: Deps, session, person_id: int, profile: Profile, now) -> None:
    """The status Slack shows for them; out of office newly: their unanswered DMs are excused."""
    if people.update_status(session, person_id=person_id, text=profile.status_text, emoji=profile.status_emoji,
                            expiration=profile.status_expiration, emojis=deps.policy.ooo_emoji,
                            words=deps.policy.ooo_words, now=now):
        offers.excuse_unanswered(session, person_id=person_id)


def refresh_availability(deps: Deps, persons: list[Person]) -> int:
    """The backstop behind Slack's events: read status (users.info) and Do Not Disturb
    (dnd.info) again for ``persons``. Returns how many Slack answered for."""
    now = clock.now()
    answers = deps.work.map(lambda p: (p, deps.notifier.profile(p.slack_user_id),
                                       deps.notifier.dnd(p.slack_user_id, now=now)), persons)
    done = 0
    with deps.db.session() as session:
        for person, profile, (known, until) in answers:
            if profile is not None:
                people.update_profile(session, person_id=person.id, tz=profile.tz, name=profile.name,
                                      email=profile.email, now=now)
                _store_status(deps, session, person.id, profile, now)
            if known:
                people.update_dnd(session, person_id=person.id, until=until, now=now)
            done += profile is not None
    return done


def user_changed(deps: Deps, user: dict) -> None:
    """A user_change / user_status_changed event: their status (and profile) as Slack has it now."""
    user_id = user.get("id")
    if not isinstance(user_id, str):
        return
    profile, now = profile_of(user), clock.now()
    with deps.db.session() as session:
        for person in people.by_slack_id(session, user_id=user_id):
            people.update_profile(session, person_id=person.id, tz=profile.tz, name=profile.name,
                                  email=profile.email, now=now)
            _store_status(deps, session, person.id, profile, now)


def dnd_changed(deps: Deps, user_id: str, dnd_status: dict) -> None:
    """A dnd_updated_user event: Do Not Disturb turned on, off, or snoozed."""
    now = clock.now()
    until = dnd_until(dnd_status if isinstance(dnd_status, dict) else {}, now=now)
    with deps.db.session() as session:
        for person in people.by_slack_id(session, user_id=user_id):
            people.update_dnd(session, person_id=person.id, until=until, now=now)


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
