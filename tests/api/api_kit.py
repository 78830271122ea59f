"""A real `subledger serve` process on loopback, its config, its keys and a client.

Every API test talks HTTP to a server process started the way an operator starts it
(`subledger init`, `db init` on PostgreSQL, `apikey create`, `serve --port 0`); nothing
runs in the test's own process but the client.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from backends import Backend

from infra.interface.answers import REPORT_MONEY, decimal_rows, journal_money

LISTENING = "subledger API listening on "
# Commands are dated in the recent past (the API refuses the future and what is more
# than 400 days back): day 0 is 200 days ago, at midnight.
DAY0 = (datetime.now(UTC) - timedelta(days=200)).replace(hour=0, minute=0, second=0, microsecond=0)


def day(n: float) -> str:
    """The instant `n` days after day 0, as the API takes it."""
    return (DAY0 + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def subledger(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.entrypoints.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Installation:
    """A config directory (subledger.toml, subledger.key) on one of the two stores."""

    root: Path
    backend: Backend
    profile: str = "monthly-autorenew"
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
        self.env["SUBLEDGER_CONFIG"] = str(self.root / "subledger.toml")
        if self.backend.kind == "postgres":
            self.env["SUBLEDGER_DATABASE_URL"] = self.backend.url("api")
        self.run("init", "--profile", self.profile)
        if self.backend.kind == "postgres":
            self.run("db", "init")

    def run(self, *argv: str) -> str:
        done = subledger(*argv, cwd=self.root, env=self.env)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done.stdout

    def json(self, *argv: str) -> Any:
        return json.loads(self.run(*argv, "--json"))

    def key(self, *scopes: str, label: str = "test") -> str:
        created = self.json(
            "apikey", "create", "--scope", ",".join(scopes) or "read", "--label", label
        )
        assert created["key"].startswith("slk_") and set(created["scopes"]) == set(scopes)
        return str(created["key"])


@dataclass
class Server:
    """`subledger serve` as a child process; `stop()` sends SIGTERM and keeps its logs."""

    installation: Installation
    log_level: str = "info"
    tick_every: float = 0  # no scheduler thread unless a test asks for one
    args: tuple[str, ...] = ()  # more `serve` options
    open_files: int | None = None  # the soft limit of open files the server starts with
    process: subprocess.Popen[str] | None = None
    url: str = ""
    stderr: str = ""
    log_file: Path = Path()

    def start(self) -> Server:
        env = {**self.installation.env, "SUBLEDGER_LOG_LEVEL": self.log_level}
        # the logs go to a file: a pipe nobody reads until the end would fill up and
        # stall the server on its next log line
        self.log_file = self.installation.root / f"serve-{time.monotonic_ns()}.log"
        limit = self.open_files

        def start_with_limit() -> None:
            if limit is not None:
                resource.setrlimit(
                    resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
                )

        with self.log_file.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "infra.entrypoints.cli",
                    "serve",
                    "--port",
                    "0",
                    "--tick-every",
                    str(self.tick_every),
                    *self.args,
                ],
                cwd=self.installation.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=start_with_limit,  # noqa: PLW1509 - setrlimit only, before exec
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(LISTENING):
            self.process.kill()
            raise AssertionError(f"serve did not start: {line!r} {self.log_file.read_text()}")
        self.url = line[len(LISTENING) :].strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("serve never became healthy")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        self.stderr = self.log_file.read_text()
        return self.process.returncode

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def events_of(installation: Installation, account: str) -> list[dict[str, Any]]:
    """The account's stored events, read by the CLI (another process than the server)."""
    return list(installation.json("events", account)["events"])


def in_cli_form(kind: str, api: Any, **asked: Any) -> dict[str, Any]:
    """An HTTP answer as the CLI's `--json` gives the same content (README "Output:
    money, JSON, instants"): named by `kind`, with what was asked, money as decimal
    strings beside the currency. The HTTP API keeps its own contract; one implementation
    answers both."""
    doc: dict[str, Any] = {"kind": kind, **asked}
    if kind == "journal":
        return {**doc, "currency": "EUR", **journal_money(api)}
    if kind == "report":
        rows = decimal_rows(api["rows"], REPORT_MONEY[api["report"]])
        return {**doc, "report": api["report"], "as_of": api["as_of"], **asked,
                "currency": "EUR", "rows": rows}  # fmt: skip
    if kind == "history":
        return {**doc, "currency": "EUR", "steps": api}
    if kind == "account_status":
        return {**doc, "currency": "EUR", **api}
    return {**doc, **api}  # invoice: the document itself


def stored_bytes(installation: Installation) -> bytes:
    """Every byte of a SQLite installation's database files (the file, its WAL, ...)."""
    return b"".join(p.read_bytes() for p in sorted(installation.root.glob("subledger.db*")))
