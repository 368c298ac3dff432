"""The real deployment shape on one machine, for the topology test and the benches.

- PostgreSQL: a scratch database (dropped and created) on 127.0.0.1:5432, migrated with
  ``python -m bot db upgrade``; the app processes reach it through :class:`TcpProxy` so the
  database can be "stopped" without touching the server (SQLite: a temp file, no proxy).
- Slack: :class:`TopologyFake` (the test suite's ``FakeSlack``, contract checks on) in this
  process, optionally with chaos on ``chat.postMessage`` and a few ms of latency.
- web: N × ``gunicorn -c gunicorn.conf.py 'bot.web:create_app()'`` (the Procfile's line),
  each on its own ``PORT``; clock: M × ``python -m bot scheduler``.

Every subprocess runs in its own process group and is killed (the whole group) in
``Deployment.close()``, by an ``atexit`` hook and on SIGTERM/SIGHUP, whatever happens.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.signing import SlackDriver  # noqa: E402
from tests.fakes.slack import (  # noqa: E402
    Call,
    FakeSlack,
    restore_content_checks,
    skip_content_checks,
    text_of,
)
from tests.procs import db_upgrade, free_port, healthz, kill_all, kill_process, popen, run_bot  # noqa: E402
from tests.topology.proxy import TcpProxy  # noqa: E402

TEAM = "T0001"
TOKEN = "xoxb-topology-token"
SECRET = "topology-signing-secret"
ADMIN = "U0ADMIN"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
APP = "bot.web:create_app()"

def pg_answers(host: str = PG_HOST, port: int = PG_PORT, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn workers of a master), from /proc."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            except OSError:
                continue
            out += [int(x) for x in text.split()]
    except OSError:
        pass
    return sorted(set(out))


def rss_kb(pid: int) -> int | None:
    """VmRSS of ``pid`` in kB (None when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------------------
# the fake Slack, with indexes the scenario waits on
# --------------------------------------------------------------------------------------


class TopologyFake(FakeSlack):
    """``FakeSlack`` plus cheap indexes (filled as calls are recorded): the modal each
    trigger_id opened, and what each response_url received."""

    def __init__(self, **kwargs: Any) -> None:
        self.views_by_trigger: dict[str, str] = {}
        self.responses: dict[str, list[dict]] = defaultdict(list)
        self.ok_posts = 0
        self.served: list[tuple[str, float, float]] = []  # (method, arrived, answered) per Web API call
        self.trigger_ages: list[tuple[float, float, str]] = []  # views.open: (age on arrival, age answered, outcome)
        super().__init__(**kwargs)

    def _record(self, call: Call) -> None:
        answered = time.monotonic()
        super()._record(call)
        self.served.append((call.method, call.at, answered))
        if call.method in ("views.open", "views.push"):
            issued = self.workspace.triggers.get(str(call.params.get("trigger_id")))
            if issued is not None:
                self.trigger_ages.append((call.at - issued[0], answered - issued[0], call.outcome))
        if call.method == "views.open" and call.outcome == "ok" and isinstance(call.response, dict):
            self.views_by_trigger[str(call.params.get("trigger_id"))] = call.response["view"]["id"]
        elif call.method == "response_url":
            self.responses[call.path.rsplit("/", 1)[-1]].append(call.params or {})
        elif call.method == "chat.postMessage" and call.outcome == "ok":
            self.ok_posts += 1

    def response_texts(self, response_url: str | None) -> list[str]:
        if not response_url:
            return []
        token = response_url.rsplit("/", 1)[-1]
        return [text_of(p) for p in list(self.responses.get(token, ()))]

    def wait_view(self, trigger_id: str, timeout: float = 10.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view_id = self.views_by_trigger.get(trigger_id)
            if view_id:
                return view_id
            time.sleep(0.02)
        return None




# --------------------------------------------------------------------------------------
# the deployment
# --------------------------------------------------------------------------------------


@dataclass
class Config:
    database: str = "postgresql"  # or "sqlite"
    db_name: str = "presales_topology"
    proxy: bool = True  # PostgreSQL only: app processes connect through the TCP proxy
    web_processes: int = 2
    web_concurrency: int = 2  # WEB_CONCURRENCY: gunicorn workers per web process
    web_threads: int = 16  # PRESALES_WEB_THREADS
    schedulers: int = 2
    fake_latency: float = 0.003
    chaos: bool = False  # chat.postMessage: 20% 429 (Retry-After 1), 5% 500
    chaos_seed: int = 1
    strict_fake: bool = True  # the fake's Block Kit checks (slack_sdk models) on every message/view
    log_level: str = "INFO"
    app: str = APP  # the WSGI factory gunicorn serves (benches compare with a bare Bolt app)
    env: dict[str, str] = field(default_factory=dict)  # PRESALES_* timings and the like
    keep: bool = False


class Process:
    """One app process we started (a gunicorn master with its workers, or a scheduler)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "Process":
        self.proc = popen(self.args, env=self.env, log=self.log)
        self.starts += 1
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """SIGKILL (default): the process dies at once, no finally, no shutdown hook."""
        if self.proc is None:
            return
        if sig == signal.SIGKILL:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)  # the process itself: a crash, not a group stop
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        kill_process(self.proc, grace=20.0 if sig == signal.SIGTERM else 1.0, sig=sig)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            kill_process(self.proc, grace=3.0)
            self.proc = None

    def pids(self) -> dict[str, int]:
        """{label: pid} of this process and its children (gunicorn workers)."""
        if not self.alive():
            return {}
        out = {self.name + (" (master)" if self.name.startswith("web") else ""): self.pid}
        for k, child in enumerate(children(self.pid)):
            out[f"{self.name} worker {k + 1}"] = child
        return out

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Deployment:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.tmp = Path(tempfile.mkdtemp(prefix="presales-topology-"))
        self.fake: TopologyFake | None = None
        self.proxy: TcpProxy | None = None
        self.webs: list[Process] = []
        self.schedulers: list[Process] = []
        self.direct_url = ""  # what this process uses (never through the proxy)
        self.app_url = ""  # what the app processes use
        self._db = None
        self._saved_checks = None

    # ---------------------------------------------------------------- start / stop

    def start(self) -> "Deployment":
        cfg = self.config
        if not cfg.strict_fake:
            self._saved_checks = skip_content_checks()
        self.fake = TopologyFake().start()
        self.fake.latency = cfg.fake_latency
        if cfg.chaos:
            self.fake.chaos("chat.postMessage", rate_limit=0.2, server_error=0.05, seed=cfg.chaos_seed, retry_after=1)
        self._database()
        self.migrate()
        return self

    def start_processes(self) -> "Deployment":
        cfg = self.config
        for i in range(cfg.web_processes):
            env = {**self.env(), "PORT": str(free_port())}
            web = Process(f"web{i + 1}", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", cfg.app], env,
                          self.tmp / f"web{i + 1}-{len(self.webs) + i}.log")
            self.webs.append(web.start())
        for i in range(cfg.schedulers):
            self.schedulers.append(Process(f"scheduler{i + 1}", [sys.executable, "-m", "bot", "scheduler"], self.env(),
                                           self.tmp / f"scheduler{i + 1}.log").start())
        self.wait_healthy()
        return self

    def stop_processes(self) -> None:
        """Stop every web and scheduler process (SIGTERM, then SIGKILL after 3 s)."""
        for proc in [*self.webs, *self.schedulers]:
            proc.stop()
        self.webs.clear()
        self.schedulers.clear()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.webs)
        while pending and time.monotonic() < deadline:
            for web in list(pending):
                if not web.alive():
                    raise RuntimeError(f"{web.name} exited ({web.proc.returncode}):\n{web.tail()}")
                if healthz(self.web_url(web)) == 200:
                    pending.remove(web)
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"{pending[0].name} did not answer GET /healthz 200 in {timeout:.0f}s:\n"
                               f"{pending[0].tail()}")
        for sched in self.schedulers:
            if not sched.alive():
                raise RuntimeError(f"{sched.name} exited ({sched.proc.returncode}):\n{sched.tail()}")

    def close(self) -> None:
        for proc in [*self.webs, *self.schedulers]:
            try:
                proc.stop()
            except Exception:
                pass
        kill_all()
        if self._db is not None:
            self._db.dispose()
            self._db = None
        if self.proxy is not None:
            self.proxy.close()
        if self.fake is not None:
            self.fake.stop()
        if self._saved_checks is not None:
            restore_content_checks(self._saved_checks)
            self._saved_checks = None
        if not self.config.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- database

    def _database(self) -> None:
        cfg = self.config
        if cfg.database == "sqlite":
            self.direct_url = self.app_url = f"sqlite:///{self.tmp / 'presales.db'}"
            return
        recreate_database(cfg.db_name)
        self.direct_url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{cfg.db_name}"
        if cfg.proxy:
            self.proxy = TcpProxy((PG_HOST, PG_PORT)).start()
            self.app_url = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.proxy.port}/{cfg.db_name}"
        else:
            self.app_url = self.direct_url

    def migrate(self) -> None:
        db_upgrade(self.env(), self.tmp / "migrate.log")

    @property
    def db(self):
        """bot.db.Database on the direct URL (this process reads through it, never the proxy)."""
        if self._db is None:
            from bot.db import Database

            self._db = Database(self.direct_url)
        return self._db

    def stop_database(self) -> int:
        assert self.proxy is not None, "the database can only be stopped behind the proxy"
        return self.proxy.stop()

    def start_database(self) -> None:
        assert self.proxy is not None
        self.proxy.start()

    # ---------------------------------------------------------------- processes

    def env(self) -> dict[str, str]:
        cfg = self.config
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PRESALES_", "SLACK_")) and k not in ("DATABASE_URL", "PORT", "WEB_CONCURRENCY")}
        assert self.fake is not None
        env.update({
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.fake.api_url,
            "DATABASE_URL": self.app_url,
            "WEB_CONCURRENCY": str(cfg.web_concurrency),
            "PRESALES_WEB_THREADS": str(cfg.web_threads),
            "PRESALES_ADMINS": ADMIN,
            # Slack's rate tiers are not modelled by the fake (it injects 429s instead): a load run
            # paced to them would measure the tiers, not the app (tests/flows/test_pacing.py does).
            "PRESALES_SLACK_PACE": "off",
            # runs at any hour of any day: every expert is inside working hours, so a run measures the
            # same fan-out whenever it runs (routing by availability is tests/flows/test_availability.py)
            "PRESALES_WORKING_DAYS": "Mon-Sun",
            "PRESALES_WORKING_HOURS": "00:00-24:00",
            # every request's meeting is at about the same time and every expert claims some: with
            # overlaps counted, each expert would drop out of the others; the run checks that every
            # expert gets every DM once, so overlapping claims do not exclude here
            "PRESALES_MEETING_BUFFER": "off",
            "LOG_LEVEL": cfg.log_level,
            "PYTHONUNBUFFERED": "1",
        })
        env.update(cfg.env)
        return env

    def web_url(self, web: Process | int) -> str:
        web = self.webs[web] if isinstance(web, int) else web
        return f"http://127.0.0.1:{web.env['PORT']}"

    def drivers(self) -> list[SlackDriver]:
        return [SlackDriver(self.web_url(w), SECRET, team_id=TEAM, fake=self.fake) for w in self.webs]

    def processes(self) -> dict[str, int]:
        """{label: pid} of every app process now (masters, workers, schedulers)."""
        out: dict[str, int] = {}
        for proc in [*self.webs, *self.schedulers]:
            out.update(proc.pids())
        return out

    def run_cli(self, *args: str, timeout: float = 60.0, direct: bool = True) -> tuple[int, str]:
        """``python -m bot ARGS`` with the deployment's environment; (exit code, output)."""
        env = self.env()
        if direct:
            env["DATABASE_URL"] = self.direct_url
        log = self.tmp / f"cli-{secrets.token_hex(3)}.log"
        code = run_bot(args, env=env, log=log, timeout=timeout)
        return code, log.read_text(errors="replace")


def recreate_database(name: str) -> None:
    """DROP (forcing other sessions off) and CREATE ``name`` on the local server."""
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                         connect_timeout=5) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                     "pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                             connect_timeout=5) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                         "pg_backend_pid()", (name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    except Exception:
        pass
