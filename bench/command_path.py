"""Workload 1: the command path, one command per transaction, one client.

Each account gets the four commands of a realistic life (register, subscribe by card,
record a payment, request cancellation). Measured two ways, because `Ledger.execute`
also runs the scheduler, the projections and the consumers after every command:
- `Ledger.execute` (what a caller waits for, projections included), and
- `LedgerApplication.handle` (the bare application command path, nothing settled).
Baseline: the bare library writing the same events per transaction (`bench.library`).
Each runs on its own fresh database; the three alternate within every repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from bench import library
from bench.context import Context
from bench.measure import Figure, Target, WorkloadResult, rate, timed
from bench.stores import START
from domain import commands as c
from infra.application.ledger import Ledger

NAME = "command_path"
TITLE = "Command path, one transaction per command, single client"
TARGET = Target("events/s >= 1.0x bare library", min_ratio=1.0)
COMMANDS_PER_ACCOUNT = 4
WARMUP_ACCOUNTS = 3


def account_commands(ref: str, at: datetime) -> list[c.Command]:
    """One account's commands, a second apart from `at`."""
    second = timedelta(seconds=1)
    return [
        c.RegisterAccount(at=at, account=ref, name=f"Customer {ref}", email=f"{ref}@example.org"),
        c.Subscribe(
            at=at + second, account=ref, plan="basic", term="monthly", payment_method="card"
        ),
        c.RecordPayment(at=at + 2 * second, account=ref, amount=1000, reference=f"pay-{ref}"),
        c.RequestCancellation(at=at + 3 * second, account=ref),
    ]


class Clock:
    """Hands out instants that only move forward (`Ledger.execute` refuses the past)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def take(self, seconds: int) -> datetime:
        at = self.now
        self.now += timedelta(seconds=seconds)
        return at


def ledger_round(
    ledger: Ledger, run: Callable[[c.Command], object], prefix: str, accounts: int, clock: Clock
) -> int:
    """Runs `accounts` accounts' commands through `run`; returns events recorded."""
    before = ledger.app.recorder.max_notification_id() or 0
    for i in range(accounts):
        for command in account_commands(f"{prefix}{i:06d}", clock.take(COMMANDS_PER_ACCOUNT)):
            run(command)
    return (ledger.app.recorder.max_notification_id() or 0) - before


def bare_round(app: library.BareApplication, prefix: str, accounts: int, clock: Clock) -> int:
    return sum(
        library.account_commands(app, f"{prefix}{i:06d}", clock.take(COMMANDS_PER_ACCOUNT))
        for i in range(accounts)
    )


def run(ctx: Context) -> WorkloadResult:
    backend, scale = ctx.backend, ctx.scale
    executing = backend.ledger(backend.fresh("command-execute"))
    handling = backend.ledger(backend.fresh("command-handle"))
    bare = library.bare_app(backend, backend.fresh("command-bare"))
    clocks = {"execute": Clock(), "handle": Clock(), "bare": Clock()}
    paths: dict[str, Callable[[str, int], int]] = {
        "execute": lambda p, n: ledger_round(executing, executing.execute, p, n, clocks["execute"]),
        "handle": lambda p, n: ledger_round(handling, handling.app.handle, p, n, clocks["handle"]),
        "bare": lambda p, n: bare_round(bare, p, n, clocks["bare"]),
    }
    for name, path in paths.items():  # warm caches and code paths before timing
        path(f"warm-{name}-", WARMUP_ACCOUNTS)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    accounts = scale.command_accounts
    for repeat in range(scale.repeats):
        for name, path in paths.items():
            seconds, events = timed(partial(path, f"r{repeat}-", accounts))
            commands = accounts * COMMANDS_PER_ACCOUNT
            samples[name].append((rate(commands, seconds), rate(events, seconds)))
        ctx.log(f"{NAME}: repeat {repeat + 1}/{scale.repeats}")
    for closing in (executing, handling):
        closing.close()
    bare.close()

    def figure(name: str, label: str, index: int, unit: str, target: Target | None) -> Figure:
        return Figure(
            name=label,
            unit=unit,
            samples=[s[index] for s in samples[name]],
            baseline_label="bare library, same events per transaction",
            baseline_samples=[s[index] for s in samples["bare"]],
            target=target,
        )

    return WorkloadResult(
        name=NAME,
        title=TITLE,
        params={
            "accounts_per_repeat": accounts,
            "commands_per_repeat": accounts * COMMANDS_PER_ACCOUNT,
            "events_per_transaction": list(library.COMMAND_EVENTS),
        },
        figures=[
            figure("execute", "ledger.execute incl. projections", 0, "commands/s", None),
            figure("execute", "ledger.execute incl. projections", 1, "events/s", TARGET),
            figure("handle", "ledger.app.handle (bare command path)", 0, "commands/s", None),
            figure("handle", "ledger.app.handle (bare command path)", 1, "events/s", TARGET),
        ],
        notes=[
            "commands: register, subscribe (card), record_payment, request_cancellation; "
            "one transaction each",
            "ledger.execute also records the collector's PaymentReceived, so its events "
            "per command are 7/4 against 6/4 for app.handle and the baseline",
        ],
    )
