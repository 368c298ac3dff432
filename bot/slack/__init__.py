"""Everything that speaks Slack but is not a listener."""
