"""`presales-bot` (python -m bot): exit codes, one-line errors, directory import/export."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.migrate import current_head, upgrade
from tests.cli.conftest import BOT_TOKEN, REPO, Result, snapshot, sqlite_url

GOOD_CSV = (
    "user,skills,max_concurrent,timezone\n"
    'U0KATE,"kubernetes:expert, security",4,Europe/Berlin\n'
    "ann@example.com,fintech:learning,2,\n"
    "U0BOB,rfp:expert,,America/New_York\n"
)
# What `directory export` prints for GOOD_CSV: the email resolved to its user id, default
# capacity filled in, skills sorted and every level spelled out.
GOOD_EXPORT = [
    {"user": "U0ANN", "skills": "fintech:learning", "max_concurrent": "2", "timezone": ""},
    {"user": "U0BOB", "skills": "rfp:expert", "max_concurrent": "3", "timezone": "America/New_York"},
    {"user": "U0KATE", "skills": "kubernetes:expert, security:proficient", "max_concurrent": "4",
     "timezone": "Europe/Berlin"},
]


def assert_one_line_error(result: Result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.err_lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = result.err_lines[0]
    assert line.startswith("presales-bot: "), line
    return line


@pytest.fixture
def migrated(db_file) -> str:
    url = sqlite_url(db_file)
    upgrade(url)
    return url


@pytest.fixture
def ann(slack):
    """The FakeSlack (reset, contract-checked) knowing ann@example.com as U0ANN."""
    slack.add_user("U0ANN", tz="Europe/London", email="ann@example.com")
    return slack


def rows_of(csv_text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(csv_text)))


# ------------------------------------------------------------------ help, db, serve


def test_help(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for word in ("serve", "socket", "db", "directory"):
        assert word in result.stdout
    result = run_cli("directory", "import", "--help")
    assert result.returncode == 0 and "--dry-run" in result.stdout


def test_unknown_command_is_a_usage_error(run_cli):
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_twice_is_idempotent(run_cli, db_file):
    first = run_cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    second = run_cli("db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    assert "Traceback" not in first.stderr + second.stderr
    engine = create_engine(sqlite_url(db_file))
    try:
        assert {"people", "skills", "requests", "offers"} <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert versions == [current_head()]


def test_db_upgrade_unreachable_postgres_is_one_line(run_cli, cli_env):
    env = dict(cli_env, DATABASE_URL="postgresql://nobody:pg-pass-123@127.0.0.1:1/x")
    result = run_cli("db", "upgrade", env=env, timeout=30)
    line = assert_one_line_error(result)
    assert "database" in line
    assert "pg-pass-123" not in result.stderr + result.stdout


def test_db_upgrade_unwritable_sqlite_is_one_line(run_cli, cli_env, tmp_path):
    env = dict(cli_env, DATABASE_URL=sqlite_url(tmp_path / "no" / "such" / "dir" / "x.db"))
    assert_one_line_error(run_cli("db", "upgrade", env=env))


@pytest.mark.parametrize("missing", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])
def test_serve_without_credentials_exits_2_pointing_at_the_manifest(run_cli, cli_env, missing):
    env = {k: v for k, v in cli_env.items() if k != missing}
    result = run_cli("serve", "--port", "1", "--no-scheduler", env=env, timeout=30)
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert missing in line and "manifest.yml" in line


def test_serve_with_env_example_copied_unfilled_names_the_token(run_cli, cli_env, tmp_path, slack):
    """The quick start's `cp .env.example .env` then `make run`, before filling it in: the
    placeholder token is recognised, not sent to Slack (which would answer invalid_auth)."""
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in cli_env.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")}
    slack.valid_tokens = {BOT_TOKEN}  # like Slack: a placeholder sent anyway gets invalid_auth
    result = run_cli("serve", "--host", "127.0.0.1", "--port", "0", "--no-scheduler", env=env, timeout=30)
    assert result.returncode == 2
    assert assert_one_line_error(result).startswith("presales-bot: SLACK_BOT_TOKEN is not set")
    assert not slack.calls, "the placeholder went to Slack"


def test_socket_mode_needs_no_signing_secret(run_cli, cli_env, fake_slack):
    """Slack signs nothing it sends over the socket: `socket` with the bot and app-level tokens
    only gets past the settings to Slack (apps.connections.open, refused here, which is one line)."""
    slack = fake_slack
    slack.reset()  # not the `slack` fixture: the spec file the fake checks predates apps.connections.open
    env = {k: v for k, v in cli_env.items() if k != "SLACK_SIGNING_SECRET"}
    env["SLACK_APP_TOKEN"] = "xapp-1-cli-test"
    slack.fail("apps.connections.open", error="invalid_auth")
    result = run_cli("socket", "--no-scheduler", env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "SLACK_SIGNING_SECRET" not in result.stderr, result.stderr
    assert result.err_lines[-1].startswith("presales-bot: Slack refused SLACK_APP_TOKEN (invalid_auth)"), result.stderr
    assert [c.token for c in slack.calls_to("apps.connections.open")] == ["xapp-1-cli-test"]
    assert "xapp-1-cli-test" not in result.stderr + result.stdout
    assert all(v.startswith("apps.connections.open: not a Slack Web API method") for v in slack.violations)


def test_serve_on_a_busy_port_is_one_line(run_cli, cli_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli("serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler", env=cli_env, timeout=30)
    assert result.returncode == 2
    assert "cannot listen" in assert_one_line_error(result)


def test_serve_with_a_token_slack_refuses_is_one_line(run_cli, cli_env, fake_slack):
    fake_slack.fail("auth.test", error="invalid_auth")
    result = run_cli("serve", "--host", "127.0.0.1", "--port", "0", "--no-scheduler", env=cli_env, timeout=30)
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert "invalid_auth" in line and "xoxb" in line and cli_env["SLACK_BOT_TOKEN"] not in line


def test_scheduler_with_bad_reminder_offsets_fails_at_startup_in_one_line(run_cli, cli_env):
    result = run_cli("scheduler", env=dict(cli_env, PRESALES_REMINDER_OFFSETS="banana"), timeout=30)
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert "PRESALES_REMINDER_OFFSETS" in line and "banana" in line


def test_run_job_runs_one_tick_and_rejects_unknown_jobs(run_cli, cli_env, migrated):
    ok = run_cli("run-job", "sweep_due_work", env=cli_env, timeout=60)
    assert ok.returncode == 0 and '"taken": 0' in ok.stdout
    bad = run_cli("run-job", "frobnicate", env=cli_env, timeout=30)
    assert bad.returncode == 2 and "sweep_due_work" in assert_one_line_error(bad)


def test_run_job_help_lists_every_job_with_what_it_does(run_cli, cli_env):
    import inspect

    from bot.scheduler.jobs import JOBS

    result = run_cli("run-job", "--help", env=cli_env)
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0]: line for line in result.stdout.partition("jobs:\n")[2].splitlines()}
    assert set(listed) == set(JOBS), result.stdout
    for name, job in JOBS.items():
        assert inspect.getdoc(job.run).splitlines()[0] in listed[name], listed[name]
    # ...and only then: every other command starts without importing the jobs (the whole app)
    probe = ("import sys; from bot.cli import _parser; _parser().parse_args(['db', 'upgrade']); "
             "print('bot.scheduler.jobs' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], env=cli_env, capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_bad_setting_is_one_line_naming_the_variable(run_cli, cli_env):
    result = run_cli("db", "upgrade", env=dict(cli_env, PORT="eighty"))
    assert result.returncode == 2
    assert "PORT" in assert_one_line_error(result)


# ------------------------------------------------------------------ directory import / export


def test_directory_import_then_export_round_trips(run_cli, ann, migrated, tmp_path, cli_env, fake_slack):
    (tmp_path / "experts.csv").write_text(GOOD_CSV, encoding="utf-8")
    imported = run_cli("directory", "import", "experts.csv")
    assert imported.returncode == 0, imported.stderr
    assert "imported 3" in imported.stdout
    lookups = ann.calls_to("users.lookupByEmail")
    assert [c.params.get("email") for c in lookups] == ["ann@example.com"]
    assert ann.calls_to("auth.test"), "the team id comes from auth.test"

    exported = run_cli("directory", "export")
    assert exported.returncode == 0, exported.stderr
    assert rows_of(exported.stdout) == GOOD_EXPORT
    assert exported.stdout.splitlines()[0] == "user,skills,max_concurrent,timezone"

    engine = create_engine(migrated)
    try:
        with engine.connect() as conn:
            people = dict(conn.execute(text("SELECT slack_user_id, team_id FROM people")).all())
            email = conn.execute(text("SELECT email FROM people WHERE slack_user_id='U0ANN'")).scalar_one()
    finally:
        engine.dispose()
    assert people == {"U0ANN": "T0001", "U0BOB": "T0001", "U0KATE": "T0001"}
    assert email == "ann@example.com"

    # The export is itself a valid import: into a fresh database and out again, unchanged.
    (tmp_path / "exported.csv").write_text(exported.stdout, encoding="utf-8")
    other = tmp_path / "other.db"
    upgrade(sqlite_url(other))
    env = dict(cli_env, DATABASE_URL=sqlite_url(other))
    again = run_cli("directory", "import", "exported.csv", env=env)
    assert again.returncode == 0, again.stderr
    out_file = tmp_path / "round.csv"
    assert run_cli("directory", "export", str(out_file), env=env).returncode == 0
    assert out_file.read_text(encoding="utf-8") == exported.stdout


def test_directory_import_reads_stdin(cli_main, ann, migrated, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD_CSV))
    result = cli_main("directory", "import", "-", "--team", "T0001")
    assert result.returncode == 0, result.stderr
    assert not ann.calls_to("auth.test"), "--team given: no need to ask Slack"
    assert rows_of(cli_main("directory", "export", "--team", "T0001").stdout) == GOOD_EXPORT


def test_bad_rows_are_all_reported_and_nothing_is_imported(run_cli, ann, migrated, tmp_path):
    (tmp_path / "first.csv").write_text("user,skills\nU0OLD,security:expert\n", encoding="utf-8")
    assert run_cli("directory", "import", "first.csv").returncode == 0
    before = snapshot(migrated)
    assert before["people"], "the setup import should have added U0OLD"

    bad = (
        "user,skills,max_concurrent,timezone\n"
        "U0GOOD,kubernetes,3,Europe/Berlin\n"        # 2: fine
        "U0LVL,kubernetes:guru,3,\n"                 # 3: unknown level
        f"U0LONG,{'k' * 500},3,\n"                   # 4: 500-character skill
        "nobody@example.com,security,3,\n"           # 5: no Slack user has this email
        "U0GOOD,security,2,\n"                       # 6: listed twice
        "U0TZ,security,2,Mars/Olympus_Mons\n"        # 7: not a timezone
        "U0OLD,fintech:expert,5,\n"                  # 8: fine (would change U0OLD)
    )
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    result = run_cli("directory", "import", "bad.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.err_lines
    assert all(line.startswith("presales-bot: ") for line in lines), lines
    for number in (3, 4, 5, 6, 7):
        assert any(f"line {number}:" in line for line in lines), f"no error for line {number}:\n{result.stderr}"
    for number in (2, 8):
        assert not any(f"line {number}:" in line for line in lines), result.stderr
    assert "nobody@example.com" in next(line for line in lines if "line 5:" in line)
    assert "line 2" in next(line for line in lines if "line 6:" in line)  # points at the first listing
    assert any("nothing imported" in line for line in lines)
    numbers = [int(line.split("line ")[1].split(":")[0]) for line in lines if ": line " in line]
    assert numbers == sorted(numbers), "errors are listed in file order"
    assert all(len(line) < 300 for line in lines), "the 500-character skill is not echoed whole"
    assert snapshot(migrated) == before


def test_dry_run_changes_nothing(cli_main, ann, migrated, tmp_path):
    (tmp_path / "experts.csv").write_text(GOOD_CSV, encoding="utf-8")
    before = snapshot(migrated)
    result = cli_main("directory", "import", str(tmp_path / "experts.csv"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "3 experts would be imported" in result.stdout
    assert snapshot(migrated) == before
    assert ann.calls_to("users.lookupByEmail"), "a dry run still checks the emails"


def test_dry_run_reports_problems_too(cli_main, ann, migrated, tmp_path):
    (tmp_path / "bad.csv").write_text("user,skills\nghost@example.com,kubernetes\n", encoding="utf-8")
    result = cli_main("directory", "import", str(tmp_path / "bad.csv"), "--dry-run")
    assert result.returncode == 2 and "line 2:" in result.stderr


def test_missing_file_is_one_line(run_cli, slack, migrated):
    result = run_cli("directory", "import", "nope.csv")
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert "nope.csv" in line


@pytest.mark.parametrize("content, expected", [
    ("", "empty"),
    ("name,skills\nU0X,kubernetes\n", "header"),
])
def test_empty_or_headerless_file(cli_main, slack, migrated, tmp_path, content, expected):
    (tmp_path / "x.csv").write_text(content, encoding="utf-8")
    result = cli_main("directory", "import", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and expected in result.stderr and "line 1:" in result.stderr
    assert snapshot(migrated)["people"] == []


def test_missing_email_scope_is_one_line(cli_main, slack, migrated, tmp_path):
    slack.add_user("U0ANN", email="ann@example.com")
    slack.fail("users.lookupByEmail", "missing_scope")
    (tmp_path / "x.csv").write_text("user,skills\nann@example.com,kubernetes\n", encoding="utf-8")
    result = cli_main("directory", "import", str(tmp_path / "x.csv"))
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert "missing_scope" in line and "users:read.email" in line
    assert snapshot(migrated)["people"] == []


def test_unmigrated_database_is_one_line(cli_main, slack, tmp_path):
    (tmp_path / "x.csv").write_text("user,skills\nU0X,kubernetes\n", encoding="utf-8")
    result = cli_main("directory", "import", str(tmp_path / "x.csv"))
    line = assert_one_line_error(result)
    assert "db upgrade" in line


def test_directory_with_team_needs_a_token_only_to_look_up_emails(cli_main, ann, migrated, tmp_path):
    """--team names the workspace, so nothing is asked of Slack: the export needs no token, nor
    an import of user IDs; an email to look up does, and says so in one line."""
    ids_only = "user,skills\nU0KATE,kubernetes:expert\n"
    (tmp_path / "ids.csv").write_text(ids_only, encoding="utf-8")
    (tmp_path / "emails.csv").write_text(GOOD_CSV, encoding="utf-8")
    no_token = {"SLACK_BOT_TOKEN": None}

    imported = cli_main("directory", "import", str(tmp_path / "ids.csv"), "--team", "T0001", **no_token)
    assert imported.returncode == 0 and "imported 1" in imported.stdout, imported.stderr
    exported = cli_main("directory", "export", "--team", "T0001", **no_token)
    assert exported.returncode == 0, exported.stderr
    assert rows_of(exported.stdout) == [{"user": "U0KATE", "skills": "kubernetes:expert", "max_concurrent": "3",
                                         "timezone": ""}]
    assert not ann.calls, "--team given and no email: Slack is not needed"

    before = snapshot(migrated)
    refused = cli_main("directory", "import", str(tmp_path / "emails.csv"), "--team", "T0001", **no_token)
    line = assert_one_line_error(refused)
    assert "SLACK_BOT_TOKEN is not set" in line and "ann@example.com" in line, line
    assert snapshot(migrated) == before


def test_directory_without_token_is_one_line(cli_main, slack, migrated):
    result = cli_main("directory", "export", SLACK_BOT_TOKEN=None)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in assert_one_line_error(result)
