"""Workload 2: eight clients at once, each on its own accounts.

SQLite lets one writer at a time and Python holds the GIL, so this measures what the
command path does under contention, honestly, not what it could do. The clients share one
ledger, as a server's request threads would, and call `LedgerApplication.handle`:
`Ledger.execute` is not safe to call from several threads (its projection catch-up races;
probed below and reported). Projections are settled after each repeat, untimed.
Baselines: the bare library with the same clients, and the single-client rate of the same
command path (the rate group commit must beat 3x; group commit does not exist yet).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

from bench import library
from bench.command_path import COMMANDS_PER_ACCOUNT, Clock, account_commands
from bench.context import Context
from bench.measure import NOT_AVAILABLE, Figure, Target, WorkloadResult, rate, timed
from bench.stores import START
from infra.application.ledger import Ledger

NAME = "concurrent"
TITLE = "Concurrent command path, 8 clients on distinct accounts"
PROBE_ACCOUNTS = 2  # per client, for the Ledger.execute thread-safety probe


def _in_threads(clients: int, work: Callable[[int], int]) -> tuple[int, list[str]]:
    """Runs work(client) in `clients` threads started together; (total, errors)."""
    totals = [0] * clients
    errors: list[str] = []
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        barrier.wait()
        try:
            totals[k] = work(k)
        except Exception as e:  # reported, not hidden
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals), errors


def _ledger_client(
    ledger: Ledger, run: Callable[..., object], prefix: str, accounts: int
) -> Callable[[int], int]:
    def work(k: int) -> int:
        clock = Clock(START + timedelta(days=k))  # each client its own timeline
        for i in range(accounts):
            for command in account_commands(
                f"{prefix}c{k}-{i:05d}", clock.take(COMMANDS_PER_ACCOUNT)
            ):
                run(command)
        return accounts * COMMANDS_PER_ACCOUNT

    return work


def _bare_client(app: library.BareApplication, prefix: str, accounts: int) -> Callable[[int], int]:
    def work(k: int) -> int:
        clock = Clock(START + timedelta(days=k))
        for i in range(accounts):
            library.account_commands(app, f"{prefix}c{k}-{i:05d}", clock.take(COMMANDS_PER_ACCOUNT))
        return accounts * COMMANDS_PER_ACCOUNT

    return work


def probe_execute(ctx: Context) -> tuple[int, list[str]]:
    """Calls Ledger.execute from every client at once, carrying on after a failure;
    returns (commands tried, one line per command that raised).

    Every command carries the same instant: `Ledger.execute` rightly refuses instants
    before work already scheduled, and clients on their own clocks would trip that."""
    ledger = ctx.backend.ledger(ctx.backend.fresh("concurrent-probe"))
    failures: list[str] = []

    def work(k: int) -> int:
        for i in range(PROBE_ACCOUNTS):
            for command in account_commands(f"probe-c{k}-{i}", START):
                try:
                    ledger.execute(replace(command, at=START))
                except Exception as e:  # counted and reported
                    failures.append(f"{type(e).__name__}: {e}")
        return 0

    try:
        _in_threads(ctx.scale.clients, work)
    finally:
        ledger.close()
    return ctx.scale.clients * PROBE_ACCOUNTS * COMMANDS_PER_ACCOUNT, failures


def run(ctx: Context) -> WorkloadResult:
    backend, scale = ctx.backend, ctx.scale
    ledger = backend.ledger(backend.fresh("concurrent-ledger"))
    bare = library.bare_app(backend, backend.fresh("concurrent-bare"))
    clients, accounts = scale.clients, scale.concurrent_accounts
    events_per_command = sum(library.COMMAND_EVENTS) / COMMANDS_PER_ACCOUNT
    many: list[float] = []
    bare_many: list[float] = []
    single: list[float] = []
    errors: list[str] = []
    for repeat in range(scale.repeats + 1):  # the first round warms up, untimed
        seconds, (done, errs) = timed(
            partial(
                _in_threads,
                clients,
                _ledger_client(ledger, ledger.app.handle, f"r{repeat}-", accounts),
            )
        )
        errors += errs
        ledger.settle()
        bare_seconds, (bare_done, errs) = timed(
            partial(_in_threads, clients, _bare_client(bare, f"r{repeat}-", accounts))
        )
        errors += errs
        single_seconds, single_done = timed(
            partial(
                _ledger_client(ledger, ledger.app.handle, f"s{repeat}-", accounts * clients),
                clients,
            )
        )
        ledger.settle()
        if repeat:
            many.append(rate(done * events_per_command, seconds))
            bare_many.append(rate(bare_done * events_per_command, bare_seconds))
            single.append(rate(single_done * events_per_command, single_seconds))
            ctx.log(f"{NAME}: repeat {repeat}/{scale.repeats}")
    ledger.close()
    bare.close()
    probed, probe_errors = probe_execute(ctx)
    label = f"{clients} clients, ledger.app.handle"
    return WorkloadResult(
        name=NAME,
        title=TITLE,
        params={
            "clients": clients,
            "accounts_per_client": accounts,
            "commands_per_repeat": clients * accounts * COMMANDS_PER_ACCOUNT,
        },
        figures=[
            Figure(
                name=label,
                unit="events/s",
                samples=many,
                baseline_label=f"bare library, {clients} clients",
                baseline_samples=bare_many,
            ),
            Figure(
                name=label,
                unit="events/s",
                samples=many,
                baseline_label="same command path, 1 client (one tx per command)",
                baseline_samples=single,
            ),
            Figure(
                name="group commit",
                unit="events/s",
                status=NOT_AVAILABLE,
                baseline_label="one transaction per command",
                target=Target("group commit >= 3x one-tx-per-command", min_ratio=3.0),
                note="group commit does not exist yet: not measured",
            ),
        ],
        notes=[
            "group commit does not exist yet (several commands' events in one "
            "transaction): nothing to measure; its target stays >= 3x",
            "SQLite serialises writers; every command is its own transaction",
            f"errors from the measured clients: {len(errors)}"
            + (f" (first: {errors[0]})" if errors else ""),
            f"probe: Ledger.execute from {clients} threads at once (every command at the "
            f"same instant): {len(probe_errors)} of {probed} commands raised"
            + (
                ": "
                + "; ".join(
                    f"{n} x {kind}"
                    for kind, n in Counter(
                        re.sub(r"\d+", "N", e)[:100] for e in probe_errors
                    ).most_common(4)
                )
                if probe_errors
                else ""
            ),
            "Ledger.execute runs the scheduler's settle before the command, so a tracking "
            "race there means the command itself never ran (hence 'no account' for later "
            "commands of the same account)",
        ],
    )
