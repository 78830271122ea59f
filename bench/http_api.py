"""Workload 7: the HTTP API, one client, against `Ledger.execute` in process.

The same four commands per account as workload 1, posted to a real `subledger serve`
process over loopback (keep-alive, bearer key, an Idempotency-Key on each) and run in
process through `Ledger.execute` on another fresh database. The difference is what HTTP
costs a caller: parsing, authentication, the idempotency claim and answer (two more
transactions), JSON in and out. Latency percentiles are per request, as a client sees
them.
"""

from __future__ import annotations

import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.backends import BENCH_MASTER_KEY, CATALOG, CURRENCY, PROFILE
from bench.command_path import COMMANDS_PER_ACCOUNT, WARMUP_ACCOUNTS, account_commands
from bench.context import Context
from bench.measure import Figure, Target, WorkloadResult, rate, timed
from domain import commands as c
from domain.calendar import format_instant
from domain.money import format_amount

NAME = "http_api"
TITLE = "HTTP API, one client, keep-alive, against Ledger.execute in process"
TARGET = Target("commands/s >= 0.7x Ledger.execute in process", min_ratio=0.7)
LISTENING = "subledger API listening on "
ROUTES = {
    c.RegisterAccount: "/accounts",
    c.Subscribe: "/accounts/{a}/subscription",
    c.RecordPayment: "/accounts/{a}/payments",
    c.RequestCancellation: "/accounts/{a}/cancellation",
}


def _body(command: c.Command) -> dict[str, Any]:
    fields = {k: v for k, v in vars(command).items() if k != "at" and v is not None}
    if isinstance(command, c.RecordPayment):
        fields["amount"] = format_amount(command.amount)
    if not isinstance(command, c.RegisterAccount):
        fields.pop("account", None)
    return {**fields, "at": format_instant(command.at)}


class Served:
    """A config directory on the backend's database and `subledger serve` on it."""

    def __init__(
        self, ctx: Context, locator: str, *, tick_every: float = 0, scopes: str = "write"
    ) -> None:
        # a directory of its own (a PostgreSQL locator is a URL, not a place for files)
        self.root = Path(tempfile.mkdtemp(prefix="subledger-bench-served-"))
        (self.root / "subledger.key").write_text(base64.b64encode(BENCH_MASTER_KEY).decode())
        catalog = "\n".join(
            f'{term} = "{format_amount(price)}"' for term, price in CATALOG["basic"].items()
        )
        database = (
            f'database_url = "{locator}"'
            if ctx.backend.name == "postgres"
            else f'database = "{locator}"'
        )
        (self.root / "subledger.toml").write_text(
            f'[ledger]\n{database}\nmaster_key_file = "subledger.key"\n'
            f'profile = "{PROFILE.name}"\ncurrency = "{CURRENCY}"\n\n[catalog.basic]\n'
            f"{catalog}\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
        self.env["SUBLEDGER_CONFIG"] = str(self.root / "subledger.toml")
        if ctx.backend.name == "postgres":
            self._cli("db", "init")
        self.key = orjson.loads(self._cli("apikey", "create", "--scope", scopes, "--json"))["key"]
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "infra.entrypoints.cli",
                "serve",
                "--port",
                "0",
                "--tick-every",
                str(tick_every),
            ],
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith(LISTENING), line
        self.url = line[len(LISTENING) :].strip()
        self.client = httpx.Client(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.key}"}
        )
        self.latencies: list[float] = []

    def _cli(self, *argv: str) -> str:
        return subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "infra.entrypoints.cli", *argv],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def post(self, command: c.Command, key: str | None) -> None:
        path = ROUTES[type(command)].replace("{a}", getattr(command, "account", ""))
        headers = {} if key is None else {"Idempotency-Key": key}
        started = time.perf_counter()
        response = self.client.post(path, json=_body(command), headers=headers)
        if key is not None:
            self.latencies.append(time.perf_counter() - started)
        assert response.status_code in (200, 201), response.text

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def run(ctx: Context) -> WorkloadResult:
    backend, scale = ctx.backend, ctx.scale
    in_process = backend.ledger(backend.fresh("http-baseline"))
    served = Served(ctx, backend.fresh("http-served"))
    # the API takes `at` from up to 400 days back: both clocks start 300 days ago
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=300)
    clocks = {"http": start, "execute": start}  # both HTTP paths share one server
    paths = ("http", "http-no-key", "execute")

    def round_of(path: str, prefix: str, accounts: int) -> None:
        for i in range(accounts):
            clock = "execute" if path == "execute" else "http"
            for n, command in enumerate(account_commands(f"{prefix}{i:06d}", clocks[clock])):
                if path == "http":
                    served.post(command, f"{prefix}{i}-{n}")
                elif path == "http-no-key":
                    served.post(command, None)
                else:
                    in_process.execute(command)
            clocks[clock] += timedelta(seconds=COMMANDS_PER_ACCOUNT)

    try:
        for path in paths:
            round_of(path, f"warm-{path}-", WARMUP_ACCOUNTS)
        served.latencies.clear()
        samples: dict[str, list[float]] = {path: [] for path in paths}
        accounts = scale.command_accounts
        for repeat in range(scale.repeats):
            for path in paths:
                seconds, _ = timed(lambda p=path, r=repeat: round_of(p, f"r{r}-{p}-", accounts))
                samples[path].append(rate(accounts * COMMANDS_PER_ACCOUNT, seconds))
            ctx.log(f"{NAME}: repeat {repeat + 1}/{scale.repeats}")
        latencies = sorted(served.latencies)
    finally:
        served.close()
        in_process.close()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return WorkloadResult(
        name=NAME,
        title=TITLE,
        params={
            "accounts_per_repeat": accounts,
            "commands_per_repeat": accounts * COMMANDS_PER_ACCOUNT,
        },
        figures=[
            Figure(
                name="POST over HTTP (serve, 1 client)",
                unit="commands/s",
                samples=samples["http"],
                baseline_label="Ledger.execute in process",
                baseline_samples=samples["execute"],
                target=TARGET,
            ),
            Figure(
                name="POST without Idempotency-Key",
                unit="commands/s",
                samples=samples["http-no-key"],
                baseline_label="Ledger.execute in process",
                baseline_samples=samples["execute"],
            ),
            Figure(name="request latency p50", unit="ms", samples=[p50]),
            Figure(name="request latency p99", unit="ms", samples=[p99]),
        ],
        notes=[
            "commands: register, subscribe (card), record_payment, request_cancellation; "
            "each with an Idempotency-Key (claimed in the command's own transaction, its "
            "answer kept by one more durable commit), and once more without one",
            "the server's socket has TCP_NODELAY: without it each small answer waited "
            "~40 ms for a delayed ACK",
        ],
    )
