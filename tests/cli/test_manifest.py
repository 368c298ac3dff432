"""manifest.yml and the Procfile: the contract with Slack and with the platform."""

from __future__ import annotations

import json
import os
import re
import runpy
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.config import get_settings
from tests.fakes.slack import specs_dir

REPO = Path(__file__).resolve().parents[2]
CODE_DIRS = ("bot", "handlers")

# Web API method -> the bot scopes Slack requires for it (https://docs.slack.dev/reference/methods).
# A method the code starts calling that is missing here fails the test: add it with its scopes.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.delete": {"chat:write"},
    "users.info": {"users:read"},
    "dnd.info": {"dnd:read"},
    # Slack: an app asking for users:read.email must also ask for users:read.
    "users.lookupByEmail": {"users:read", "users:read.email"},
    "views.open": set(),
    "views.push": set(),
    "views.update": set(),
    "views.publish": set(),
    "conversations.open": {"im:write"},
    "conversations.info": {"channels:read"},
    "reactions.add": {"reactions:write"},
    # client.files_upload_v2 (read as "files.upload" below) = getUploadURLExternal + completeUploadExternal
    "files.upload": {"files:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}

# Scopes no single method call implies.
# chat:write.public: the request's status message is posted in the deal channel where
# /presales was typed, which the bot usually has not been invited to.
EXTRA_SCOPES = {"chat:write.public"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))


def _code() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for d in CODE_DIRS for p in sorted((REPO / d).rglob("*.py"))}


def web_api_methods_called() -> set[str]:
    """`client.chat_postMessage` -> chat.postMessage, `api_call("x.y")` -> x.y, across bot/ and handlers/."""
    methods: set[str] = set()
    for text in _code().values():
        for family, name in re.findall(r"\bclient\.([a-z]+)_([A-Za-z]+)(?:_v2)?\b", text):
            methods.add(f"{family}.{name}")
        methods.update(re.findall(r"api_call\(\s*[\"']([a-z]+\.[A-Za-z.]+)[\"']", text))
    return methods


def test_manifest_validates_against_slack_schema(manifest):
    path = specs_dir() / "manifest.schema.1.0.0.json"
    assert path.is_file(), f"Slack's manifest schema not found at {path} (see tests/data/README.md)"
    schema = json.loads(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(manifest)]
    assert not errors, "manifest.yml breaks Slack's schema:\n" + "\n".join(errors)


def test_presales_command_is_declared_and_escaped(manifest):
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/presales"}
    presales = commands["/presales"]
    # should_escape: mentions arrive as <@U123|name>, which the handlers parse.
    assert presales["should_escape"] is True
    assert presales["url"].endswith("/slack/events")
    assert presales.get("usage_hint") and presales.get("description")


def test_interactivity_events_and_app_home(manifest):
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert "app_home" in manifest["features"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # the DMs experts get
    assert settings.get("socket_mode_enabled") is False  # production is HTTP (the Procfile's gunicorn)
    # Bolt serves one endpoint; every URL Slack is given must be it.
    urls = [
        settings["interactivity"]["request_url"],
        settings["interactivity"].get("message_menu_options_url"),
        settings.get("event_subscriptions", {}).get("request_url"),
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    urls = [u for u in urls if u]
    assert all(u.startswith("https://") and u.endswith("/slack/events") for u in urls), urls
    assert len({u.split("/slack/events")[0] for u in urls}) == 1, f"different hosts in manifest.yml: {urls}"


def test_every_subscribed_event_has_a_listener(manifest):
    subscribed = set(manifest["settings"].get("event_subscriptions", {}).get("bot_events", []))
    listened = {m for text in _code().values() for m in re.findall(r"\.event\(\s*[\"']([a-z_]+)[\"']", text)}
    assert subscribed == listened, f"manifest bot_events {sorted(subscribed)} vs listeners {sorted(listened)}"


def test_bot_scopes_are_exactly_what_the_code_needs(manifest):
    called = web_api_methods_called()
    assert {"chat.postMessage", "users.info"} <= called, f"method scan found too little: {sorted(called)}"
    unknown = sorted(called - set(METHOD_SCOPES))
    assert not unknown, f"add these Web API methods to METHOD_SCOPES with their scopes: {unknown}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called)) | EXTRA_SCOPES
    if manifest["features"].get("slash_commands"):
        needed.add("commands")
    scopes = manifest["oauth_config"]["scopes"]
    declared = scopes["bot"]
    assert len(declared) == len(set(declared)), f"duplicate scopes: {declared}"
    assert set(declared) == needed, (
        f"manifest asks for {sorted(set(declared) - needed)} without a use; "
        f"code needs {sorted(needed - set(declared))} that the manifest lacks"
    )
    assert not scopes.get("user"), "the app acts as its bot only: no user scopes"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (REPO / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            assert name.strip() not in entries, f"process type {name} declared twice"
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_web_runs_gunicorn_and_release_migrates():
    procs = _procfile()
    web = procs["web"].split()
    assert web[0] == "gunicorn", f"web must run gunicorn, not {web[0]!r} (Bolt's dev server is not for production)"
    assert "bot.web:create_app()" in procs["web"].replace("'", "").replace('"', "")
    assert "-c" in web and (REPO / web[web.index("-c") + 1]).is_file()
    assert re.search(r"\b(presales-bot|python -m bot) db upgrade\b", procs["release"]), procs["release"]
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^presales-bot\s*=\s*"bot\.cli:main"', pyproject, re.M), "release needs the presales-bot script"


def test_gunicorn_conf_binds_platform_port(monkeypatch, tmp_path):
    from bot.server import gunicorn_settings

    monkeypatch.chdir(tmp_path)  # no repo .env
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("PRESALES_WEB_THREADS", "7")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "-")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")  # teardown removes the one 3 workers make
    get_settings.cache_clear()
    try:
        conf = runpy.run_path(str(REPO / "gunicorn.conf.py"))
        same = gunicorn_settings(get_settings())  # the metrics directory is named now: settings read as the workers do
    finally:
        get_settings.cache_clear()
    assert conf["bind"] == "0.0.0.0:5123"
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 7, "gthread")
    assert os.path.isdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]), "3 workers share their /metrics counters"
    # one source: the Procfile's gunicorn gets exactly what `presales-bot serve` runs
    assert {k: conf[k] for k in same} == same and "child_exit" in same and "logger_class" in same
    assert callable(conf["worker_exit"])  # lets background work finish on shutdown
    # start-up's objects leave the collector's reach once the worker has loaded the app
    import gc

    assert gc.get_freeze_count() == 0
    conf["post_worker_init"](None)
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
