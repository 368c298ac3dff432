"""The domain. Services take a Session and keyword-only plain values (including ``now``);
they never import slack_sdk or slack_bolt."""
