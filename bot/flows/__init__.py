"""Use cases that span the database and Slack: what happens after a handler acked, and what
the scheduler does with a due notice. One module per domain:

- ``people``: timezones and profiles from users.info
- ``status``: the request's status message in the deal channel and the experts-channel post
- ``offers``: the broadcast to experts, their DMs, and what a claim, decline or release changes
- ``lifecycle``: a request created, briefed, cancelled or moved
- ``notices``: delivering due notices (reminders, nudges, escalation, follow-ups, expiry)
- ``homes``: the App Home
- ``digests``: the weekly digest

A flow runs on a work pool (never on Bolt's listener threads), takes ``Deps`` as its first
argument, opens short transactions through the services, and speaks to Slack only through
``bot/slack/notify.py`` between them — never inside one. Handlers and the scheduler call flows
the same way.
"""
