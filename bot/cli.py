"""`presales-bot` (= `python -m bot`): serve | socket | db upgrade | directory import/export.

Every failure a person can fix ends with a non-zero exit and one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, get_settings
from bot.errors import PresalesError

log = logging.getLogger("presales")


class CliError(Exception):
    """One human line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="presales-bot", description="Slack app for pre-sales expert summoning.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="HTTP server (gunicorn): POST /slack/events, GET /healthz")
    serve.add_argument("--port", type=int, default=None, help="port (default: $PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--workers", type=int, default=None,
                       help="gunicorn worker processes (default $WEB_CONCURRENCY, else 1 on SQLite, 2 on PostgreSQL)")
    serve.add_argument("--threads", type=int, default=None,
                       help="threads per worker (default $PRESALES_WEB_THREADS or 16)")
    serve.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler in this process")
    serve.add_argument("--no-migrate", action="store_true", help="skip the automatic migration on SQLite")

    socket = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN): no public URL needed")
    socket.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler in this process")

    sub.add_parser("scheduler", help="run the scheduler alone (the Procfile's clock: process)")
    job = sub.add_parser("run-job", help="run one scheduled job once, now (e.g. sweep_due_work)", add_help=False,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    job.add_argument("-h", "--help", action=_JobsHelp, help="show this help, with every job, and exit")
    job.add_argument("name", help="the job to run (listed below)")

    dig = sub.add_parser("digest", help="print the weekly digest (for export)")
    dig.add_argument("--week", default="last", help="last (default), this, or an ISO week like 2026-W47")
    dig.add_argument("--format", choices=("text", "csv", "json"), default="text")
    dig.add_argument("--tz", default=None, help="timezone of the week (default: PRESALES_TIMEZONE)")
    dig.add_argument("--team", default=None, help="Slack team id (default: the only team in the database)")

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="TASK")
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to the latest")

    directory = sub.add_parser("directory", help="bulk import / export of the expert directory (CSV)")
    dir_sub = directory.add_subparsers(dest="directory_command", required=True, metavar="TASK")
    imp = dir_sub.add_parser("import", help="import experts.csv (user,skills,max_concurrent,timezone)")
    imp.add_argument("file", help="CSV file, or - for stdin")
    imp.add_argument("--dry-run", action="store_true", help="check every row, change nothing")
    imp.add_argument("--team", help="Slack team id (default: asked of Slack); with it only emails need SLACK_BOT_TOKEN")
    exp = dir_sub.add_parser("export", help="write the directory as CSV")
    exp.add_argument("file", nargs="?", default="-", help="output file (default: stdout)")
    exp.add_argument("--team", help="Slack team id (default: asked of Slack); with it, no Slack token is needed")
    return parser


class _JobsHelp(argparse.Action):
    """`run-job --help` lists every job with the first line of its docstring. The jobs are
    imported only then: bot.scheduler.jobs brings the whole app (~1.4 s) into every command."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):  # noqa: A002
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import inspect

        from bot.scheduler.jobs import JOBS

        width = max(map(len, JOBS))
        summaries = {name: (inspect.getdoc(job.run) or "").partition("\n")[0] for name, job in JOBS.items()}
        parser.epilog = "jobs:\n" + "\n".join(f"  {name:<{width}}  {line}" for name, line in summaries.items())
        parser.print_help()
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
        from bot.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format)
        return COMMANDS[args.command](args, settings) or 0
    except (ConfigError, CliError, PresalesError) as exc:
        print(f"presales-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# ------------------------------------------------------------------ commands


def cmd_db(args, settings: Settings) -> int:
    if settings.log_level != "DEBUG":
        # Alembic logs its plugin set-up (on import) and dialect at INFO: noise that would bury
        # the one line a failure prints. What was applied is reported below instead.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.migrate import upgrade

    try:
        before = _db_revision(settings.database_url)
        upgrade(settings.database_url)
        after = _db_revision(settings.database_url)
    except Exception as exc:  # connection refused, bad URL: one line, not a traceback
        raise CliError(f"database upgrade failed: {_reason(exc)}") from None
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
    return 0


def _db_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from bot.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    return ",".join(sorted(heads)) or None


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def cmd_serve(args, settings: Settings) -> int:
    from bot.db import is_sqlite

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    port = args.port or settings.port
    _check_port_free(args.host, port)
    _check_token(settings)
    if is_sqlite(settings.database_url) and not args.no_migrate:
        cmd_db(args, settings)
    from bot.server import run_gunicorn

    clock_process = None if args.no_scheduler else _start_scheduler_process()
    try:
        run_gunicorn(settings, host=args.host, port=port, workers=args.workers, threads=args.threads)
    finally:
        _stop(clock_process)
    return 0


def _start_scheduler_process():
    """`serve` runs the scheduler beside gunicorn as its own process: gunicorn forks workers,
    and a scheduler thread must never be forked into (or started by) a web worker."""
    import subprocess

    return subprocess.Popen([sys.executable, "-m", "bot", "scheduler"])


def _stop(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except Exception:
        process.kill()


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None


def _check_token(settings: Settings) -> None:
    """Ask Slack once (auth.test) so a wrong token is one line here, not a worker crash."""
    from slack_sdk.errors import SlackApiError

    from bot.slack.client import make_client

    try:
        make_client(settings, timeout=10).auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else "error"
        raise CliError(f"Slack refused SLACK_BOT_TOKEN ({code}): copy the Bot User OAuth Token (xoxb-...) "
                       "from OAuth & Permissions of the app made from manifest.yml") from None
    except Exception as exc:
        raise CliError(f"cannot reach Slack at {settings.slack_api_url} ({_reason(exc)})") from None


def cmd_socket(args, settings: Settings) -> int:
    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")  # no signing secret: Slack signs nothing on the socket
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app
    from bot.db import is_sqlite

    _check_token(settings)
    if is_sqlite(settings.database_url):
        cmd_db(args, settings)
    app = build_app(settings, socket_mode=True)
    scheduler = None
    if not args.no_scheduler:  # one process, no fork: a background scheduler thread is safe here
        from bot.scheduler.runner import build_scheduler

        scheduler = build_scheduler(app.deps, blocking=False)
        scheduler.start()
    print("presales-bot: connecting to Slack in Socket Mode (Ctrl-C to stop)", file=sys.stderr)
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    except SlackApiError as exc:  # apps.connections.open refused the app-level token
        raise CliError(f"Slack refused SLACK_APP_TOKEN ({_slack_error(exc)}): make an app-level token (xapp-...) "
                       "with connections:write (Basic Information -> App-Level Tokens) of an app whose manifest "
                       "has socket_mode_enabled: true") from None
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
    return 0


def cmd_scheduler(args, settings: Settings) -> int:
    from bot.app import build_deps
    from bot.scheduler.runner import run_forever

    settings.require("SLACK_BOT_TOKEN")
    _check_token(settings)
    run_forever(build_deps(settings))
    return 0


def cmd_run_job(args, settings: Settings) -> int:
    import json

    from bot.app import build_deps
    from bot.scheduler.jobs import JOBS, run_job

    if args.name not in JOBS:
        raise CliError(f"no job named {args.name!r}; jobs: {', '.join(sorted(JOBS))}")
    settings.require("SLACK_BOT_TOKEN")
    deps = build_deps(settings)
    try:
        print(json.dumps(run_job(args.name, deps), default=str))
    finally:
        deps.close()
    return 0


def _team_id(args, slack) -> str:
    if args.team:
        return args.team
    notifier = slack()  # no token: require()'s one line, not "could not ask Slack"
    try:
        return notifier.team_id()
    except Exception as exc:
        raise CliError(f"could not ask Slack which workspace this is ({_reason(exc)}); pass --team T0123") from None


def cmd_directory(args, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    raw = None
    if args.directory_command == "import":  # a missing file is reported before anything else
        raw = _read_import_file(args.file)
    try:
        return _directory(args, settings, raw)
    except SQLAlchemyError as exc:
        raise CliError(f"database error: {_reason(exc)} (has `presales-bot db upgrade` been run?)") from None


def _read_import_file(name: str) -> str:
    try:
        return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = (exc.strerror or type(exc).__name__) if isinstance(exc, OSError) else "not UTF-8 text"
        raise CliError(f"cannot read {name}: {why}") from None


def _slack_error(exc) -> str:
    response = getattr(exc, "response", None)
    try:
        code = response.get("error") if response is not None else None
    except Exception:  # a body that is not JSON
        code = None
    return str(code or f"http_{getattr(response, 'status_code', '?')}")


def _line_number(error: str) -> int:
    match = re.match(r"line (\d+):", error)
    return int(match.group(1)) if match else 0


def _directory(args, settings: Settings, raw: str | None) -> int:
    import functools

    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot import clock
    from bot.db import Database
    from bot.services import directory_csv
    from bot.slack.client import make_client
    from bot.slack.notify import Notifier

    @functools.cache
    def slack() -> Notifier:  # on first use: with --team, export never calls Slack and import only for emails
        settings.require("SLACK_BOT_TOKEN")
        return Notifier(make_client(settings))

    def lookup_email(email: str) -> str | None:
        try:
            notifier = slack()
        except ConfigError as exc:
            raise CliError(f"{exc} (needed to look up {email}; or use Slack user IDs in the file)") from None
        return notifier.lookup_email(email)

    db = Database(settings.database_url)
    try:
        team_id = _team_id(args, slack)
        if args.directory_command == "export":
            with db.session() as session:
                text = directory_csv.export_directory_csv(session, team_id=team_id, now=clock.now())
            if args.file == "-":
                sys.stdout.write(text)
            else:
                try:
                    Path(args.file).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise CliError(f"cannot write {args.file}: {exc.strerror or type(exc).__name__}") from None
                print(f"wrote {text.count(chr(10)) - 1} experts to {args.file}", file=sys.stderr)
            return 0
        report = directory_csv.parse_directory_csv(raw or "")
        # Resolve the rows that parsed even when others did not: every problem in one pass.
        try:
            directory_csv.resolve_users(report, lookup_email)
        except SlackApiError as exc:  # missing_scope, invalid_auth, ratelimited after retries...
            code = _slack_error(exc)
            hint = ("the app needs the users:read.email scope (manifest.yml); reinstall it, or "
                    if code == "missing_scope" else "")
            raise CliError(f"Slack refused users.lookupByEmail ({code}): {hint}"
                           "use Slack user IDs instead of emails in the file") from None
        except (SlackClientError, OSError) as exc:  # Slack unreachable after the client's retries
            raise CliError(f"could not look up emails in Slack ({_reason(exc)})") from None
        if report.errors:
            for line in sorted(report.errors, key=_line_number):
                print(f"presales-bot: {args.file}: {line}", file=sys.stderr)
            print(f"presales-bot: nothing imported ({len(report.errors)} problem(s))", file=sys.stderr)
            return 2
        if args.dry_run:
            print(f"{len(report.rows)} experts would be imported (dry run, nothing changed)")
            return 0
        with db.session() as session:
            count = directory_csv.import_directory(session, team_id=team_id, report=report, now=clock.now())
        print(f"imported {count} experts")
        return 0
    finally:
        db.dispose()


def cmd_digest(args, settings: Settings) -> int:
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from bot import clock
    from bot.db import Database
    from bot.services import digest
    from bot.slack.blocks import digest as digest_ui
    from models import Person

    tz = args.tz or settings.timezone
    if clock.zone(tz, fallback="").key != tz:
        raise CliError(f"--tz {tz!r} is not an IANA timezone such as Europe/Berlin")
    week = digest.parse_week(args.week, tz=tz, now=clock.now())
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            team = args.team
            if team is None:
                teams = list(session.scalars(select(Person.team_id).distinct()))
                if len(teams) > 1:
                    raise CliError(f"several workspaces in the database ({', '.join(sorted(teams))}); pass --team")
                team = teams[0] if teams else ""
            data = digest.compute(session, team_id=team, week=week, due_before=settings.brief_due_before,
                                  now=clock.now())
    except SQLAlchemyError as exc:
        raise CliError(f"cannot read the database ({_reason(exc)}); did you run `presales-bot db upgrade`?") from None
    finally:
        db.dispose()
    render = {"text": digest_ui.as_text, "csv": digest_ui.as_csv, "json": digest_ui.as_json}[args.format]
    sys.stdout.write(render(data))
    return 0


COMMANDS = {"digest": cmd_digest, "serve": cmd_serve, "socket": cmd_socket, "db": cmd_db, "directory": cmd_directory,
            "scheduler": cmd_scheduler, "run-job": cmd_run_job}
