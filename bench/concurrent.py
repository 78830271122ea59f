"""Workload 2: eight clients at once, each on its own accounts.

SQLite lets one writer at a time and Python holds the GIL, so this measures what the
command path does under contention, honestly, not what it could do. The clients share one
ledger, as a server's request threads would, and call `LedgerApplication.handle`:
`Ledger.execute` is not safe to call from several threads (its projection catch-up races;
probed below and reported). Projections are settled after each repeat, untimed.
Baselines: the bare library with the same clients, and the single-client rate of the same
command path.

Group commit (issue 16, lever 2): 8 clients calling `Ledger.execute_grouped` (what `serve`
does for each request: the commands waiting are handled together and saved in one
transaction, the read models settled once per batch) against 1 client calling
`Ledger.execute_now` (one transaction per command, read models settled after each), both
timed by one shared clock, as the API times commands that do not say when.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from bench import library
from bench.command_path import COMMANDS_PER_ACCOUNT, Clock, account_commands
from bench.context import Context
from bench.measure import Figure, Target, WorkloadResult, rate, timed
from bench.stores import START
from domain import commands as c
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


class SharedClock:
    """One clock for every client, a second per reading: instants only move forward."""

    def __init__(self) -> None:
        self._seconds = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return START + timedelta(seconds=next(self._seconds))


def _timed_client(
    run: Callable[..., object], clock: SharedClock, prefix: str, accounts: int
) -> Callable[[int], int]:
    def work(k: int) -> int:
        for i in range(accounts):
            for command in account_commands(f"{prefix}c{k}-{i:05d}", START):
                run(command, clock)
        return accounts * COMMANDS_PER_ACCOUNT

    return work


def group_commit(ctx: Context, events_per_command: float) -> tuple[Figure, list[str]]:
    """8 clients through `execute_grouped` against 1 through `execute_now`, each on its
    own fresh ledger, alternating within every repeat; the figure and its notes."""
    backend, scale = ctx.backend, ctx.scale
    clients, accounts = scale.clients, scale.concurrent_accounts
    grouped = backend.ledger(backend.fresh("concurrent-grouped"))
    alone = backend.ledger(backend.fresh("concurrent-alone"))
    grouped_clock, alone_clock = SharedClock(), SharedClock()
    errors: list[str] = []

    def run_grouped(command: c.Command, clock: SharedClock) -> None:
        grouped.execute_grouped(command, timed_by=clock)

    def run_alone(command: c.Command, clock: SharedClock) -> None:
        alone.execute_now(command, clock)

    many: list[float] = []
    single: list[float] = []
    for repeat in range(scale.repeats + 1):  # the first round warms up, untimed
        seconds, (done, errs) = timed(
            partial(
                _in_threads,
                clients,
                _timed_client(run_grouped, grouped_clock, f"g{repeat}-", accounts),
            )
        )
        errors += errs
        single_seconds, single_done = timed(
            partial(
                _timed_client(run_alone, alone_clock, f"s{repeat}-", accounts * clients),
                clients,
            )
        )
        if repeat:
            many.append(rate(done * events_per_command, seconds))
            single.append(rate(single_done * events_per_command, single_seconds))
            ctx.log(f"{NAME}: group commit repeat {repeat}/{scale.repeats}")
    batches, commands = grouped.group.transactions, grouped.group.grouped
    grouped.close()
    alone.close()
    figure = Figure(
        name=f"group commit, {clients} clients, Ledger.execute_grouped",
        unit="events/s",
        samples=many,
        baseline_label="1 client, Ledger.execute_now (one transaction per command)",
        baseline_samples=single,
        target=Target("group commit >= 3x one-tx-per-command", min_ratio=3.0),
    )
    notes = [
        f"group commit: {commands} commands saved in {batches} group transactions "
        f"(mean {commands / batches if batches else 0:.1f} per transaction; the rest, a "
        "batch of one, ran alone); read models settled once per transaction",
        f"group commit: errors from the measured clients: {len(errors)}"
        + (f" (first: {errors[0]})" if errors else ""),
    ]
    return figure, notes


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
    grouped_figure, grouped_notes = group_commit(ctx, events_per_command)
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
            grouped_figure,
        ],
        notes=[
            *grouped_notes,
            "app.handle from threads: SQLite serialises writers; every command is its own "
            "transaction",
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
