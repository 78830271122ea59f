"""What every workload gets: the backend, the sizes of this run, and shared stores.

Two scales: `--quick` (the test runs it; the whole run stays under two minutes on a
2-core machine) and the full run (the issue's sizes where they fit in ~20 minutes; the
scheduler is scaled down and extrapolated, see `bench/scheduler.py`). Generated stores
are kept for the run so that catch-up and replay can use the same one.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from bench.backends import Backend
from bench.stores import Generated, accounts_for, monthly_card_accounts


@dataclass(frozen=True)
class Scale:
    name: str
    repeats: int  # medians are taken over this many repeats
    command_accounts: int  # per repeat, four commands each
    concurrent_accounts: int  # per client thread and repeat, four commands each
    clients: int
    catchup_events: int  # issue: at least 200k
    catchup_repeats: int
    month_accounts: int  # scheduler: one month boundary (rounds of 250 accounts)
    month_repeats: int
    year_accounts: int  # scheduler: twelve month boundaries, cache kept and cold
    year_repeats: int
    replay_events: tuple[int, int]  # two sizes, to show RSS does not grow; issue: 1M
    replay_repeats: int


QUICK = Scale(
    name="quick",
    repeats=3,
    command_accounts=20,
    concurrent_accounts=4,
    clients=8,
    catchup_events=20_000,
    catchup_repeats=3,
    month_accounts=300,
    month_repeats=3,
    year_accounts=20,
    year_repeats=3,
    replay_events=(20_000, 50_000),
    replay_repeats=2,
)
FULL = Scale(
    name="full",
    repeats=5,
    command_accounts=200,
    concurrent_accounts=30,
    clients=8,
    catchup_events=200_000,
    catchup_repeats=3,
    month_accounts=10_000,
    month_repeats=3,
    year_accounts=1_000,
    year_repeats=2,
    replay_events=(200_000, 1_000_000),
    replay_repeats=2,
)


@dataclass
class Context:
    backend: Backend
    scale: Scale
    stores: dict[int, tuple[str, Generated, float]] = field(default_factory=dict)

    def log(self, message: str) -> None:
        """Progress on stderr, so a long run shows where it is."""
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def history_store(self, events: int) -> tuple[str, Generated, float]:
        """A store of at least `events` events of one-year card histories, made once per
        run; returns (locator, what it holds, seconds it took to generate)."""
        if events not in self.stores:
            locator = self.backend.fresh(f"history-{events}")
            ledger = self.backend.ledger(locator)
            self.log(f"generating a store of >= {events:,} events")
            start = time.perf_counter()
            generated = monthly_card_accounts(ledger, accounts=accounts_for(events), months=12)
            seconds = time.perf_counter() - start
            ledger.close()
            self.stores[events] = (locator, generated, seconds)
        return self.stores[events]
