"""The scheduler of deadlines: runs all work due strictly before an instant, in time order.

Deadlines come from the `deadlines` read model (each account's next one, derived by the
domain from its events). One piece of work at a time, globally earliest first (ties by
account id), and the consequences (collections, projections) settle before the next is
chosen. Running a tick twice does nothing twice: done work is no longer a deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain.account import Account
from domain.errors import ErrorCode, Rejected
from domain.pricing import PriceBook
from projections.store import ViewStore

MAX_STEPS_PER_TICK = 10_000_000  # a bound on the loop, far above any real backlog


class Scheduler:
    def __init__(self, store: ViewStore, load: Callable[[UUID], Account],
                 save: Callable[[Account], None], book: Callable[[], PriceBook],
                 settle: Callable[[], None]) -> None:
        self.store = store
        self.load = load
        self.save = save
        self.book = book
        self.settle = settle

    def tick(self, to: datetime) -> int:
        """Run everything due strictly before `to`; returns the pieces of work run."""
        self.settle()
        ran = 0
        for _ in range(MAX_STEPS_PER_TICK):
            aid = self.store.earliest_deadline(before=to)
            if aid is None:
                break
            account = self.load(UUID(aid))
            if account.run_due(before=to, book=self.book()) is None:
                raise Rejected(ErrorCode.CONFLICT,
                               f"deadline index is stale for account {account.ref}")
            self.save(account)
            self.settle()
            ran += 1
        self.store.advance_clock(to)
        return ran
