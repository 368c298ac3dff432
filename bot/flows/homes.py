"""The App Home: rendered per person (their roles decide the sections), published when they
open it and refreshed after a change to a request it shows."""

from __future__ import annotations

from datetime import timedelta

from bot import clock
from bot.deps import Deps
from bot.flows.digests import digest_data
from bot.flows.people import refresh_profiles
from bot.services import digest, home, people
from bot.slack.blocks import digest as digest_ui
from bot.slack.blocks import home as home_ui
from bot.slack.notify import Posted

HOME_WATCH = timedelta(days=7)


def publish_home(deps: Deps, team_id: str, user_id: str, *, opened: bool = False) -> Posted:
    """Render and publish one person's Home (their roles decide the sections)."""
    now = clock.now()
    with deps.db.session() if opened else deps.db.read() as session:
        person = people.get_person(session, team_id=team_id, user_id=user_id)
        if opened:
            person = person or people.ensure_person(session, team_id=team_id, user_id=user_id, now=now)
            home.seen(session, person=person, now=now)
    if person is None:
        return Posted(ok=False, error="unknown_person")
    tz = refresh_profiles(deps, [person]).get(person.id) or deps.settings.timezone
    with deps.db.read() as session:
        person = people.get(session, person_id=person.id)
        data = home.load(session, person=person, admins=deps.settings.admins, now=now,
                         default_hours=deps.policy.hours)
    headline = None
    if data.roles.can_manage:
        week = digest.week_of(clock.to_local(now, tz).date(), tz)
        headline = digest_ui.headline(digest_data(deps, team_id, week))
    return deps.notifier.publish_home(user_id, home_ui.view(data, tz, headline=headline), urgent=opened)


def refresh_homes(deps: Deps, request_id: int) -> None:
    """After a request changed: the Homes that show it, of people who looked at their Home
    this week, queued off the request path on the views.publish lane (paced to Tier 4,
    RELIABILITY 56). A refresh already queued for someone is not repeated: the Home is
    rendered when its turn comes, with everything that changed by then."""
    with deps.db.read() as session:
        watchers = home.watchers(session, request_id=request_id, since=clock.now() - HOME_WATCH)
    for person in watchers:
        key = (person.team_id, person.slack_user_id)
        deps.work.paced("views.publish", key, lambda key=key: publish_home(deps, *key))
