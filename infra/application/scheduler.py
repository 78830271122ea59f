"""The scheduler of deadlines: runs all work due strictly before an instant, in time order.

Each account's next deadline is written with its events (infra/persistence/extras.py) and
read back from the ledger's store (`LedgerStore.due_accounts`), so the index is never
stale. Time-driven work is the application's, not a consumer of events: it lives here,
beside the handlers. A round takes the accounts whose deadlines are earliest (ties by
account id), runs one piece of work on each, saves them together and lets the
consequences (collections, projections) settle before the next round. Work within an
account always runs in time order; accounts never depend on each other's scheduled work
(prices change only by commands, which run between ticks), so a round may hold accounts
at different instants. Running a tick twice does nothing twice: done work is no longer a
deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog
from eventsourcing.persistence import RecordConflictError

from domain.account import Account
from domain.calendar import sortable_instant
from domain.errors import ErrorCode, Rejected
from domain.pricing import PriceBook
from infra.persistence.ledger_store import LedgerStore

log = structlog.get_logger("subledger.scheduler")
ROUND_SIZE = 250  # accounts saved per transaction: amortises the commit, bounds memory
CONFLICT_RETRIES = 12
MAX_ROUNDS_PER_TICK = 10_000_000  # a bound on the loop, far above any real backlog


class Scheduler:
    def __init__(
        self,
        store: LedgerStore,
        load: Callable[[UUID], Account],  # the account to change, the scheduler's own
        save: Callable[..., object],
        book: Callable[[], PriceBook],
        settle: Callable[[], None],
    ) -> None:
        self.store = store
        self.load = load
        self.save = save
        self.book = book
        self.settle = settle
        self._clock: str | None = None

    def clock(self) -> str | None:
        """How far scheduled work has run (cached; only this process moves it forward)."""
        stored = self.store.clock()
        if self._clock is None or (stored is not None and stored > self._clock):
            self._clock = stored
        return self._clock

    def tick(self, to: datetime) -> int:
        """Run everything due strictly before `to`; returns the pieces of work run."""
        self.settle()
        ran = 0
        for _ in range(MAX_ROUNDS_PER_TICK):
            due = self.store.due_accounts(before=to, limit=ROUND_SIZE)
            if not due:
                break
            ran += self._round(due, to)
            self.settle()
        mark = sortable_instant(to)
        if self._clock is None or mark > self._clock:
            # Persisted only when work ran: backdating is harmful only before work already
            # done, and a tick that ran nothing then costs no write.
            if ran:
                self.store.advance_clock(to)
            self._clock = mark
        return ran

    def _round(self, due: list[str], to: datetime) -> int:
        """Run one piece of due work on each account; returns how many ran here."""
        book = self.book()
        try:
            accounts = [a for a in (self._run_one(aid, to, book) for aid in due) if a]
            self.save(*accounts)
            return len(accounts)
        except RecordConflictError:
            pass
        # another writer touched one of them: one account at a time, each retried
        ran = 0
        for aid in due:
            for _ in range(CONFLICT_RETRIES):
                try:
                    # read again: the conflict may be a price change another process made
                    account = self._run_one(aid, to, self.book())
                    if account is not None:
                        self.save(account)
                        ran += 1
                    break
                except RecordConflictError:
                    continue
        return ran

    def _run_one(self, aid: str, to: datetime, book: PriceBook) -> Account | None:
        """The account with its earliest due work done; None when another process has
        just done it (the index row read before that process committed)."""
        account = self.load(UUID(aid))
        if account.run_due(before=to, book=book) is None:
            due = account.next_deadline()
            if due is None or due >= to:
                return None
            raise Rejected(ErrorCode.CONFLICT, f"deadline index is stale for account {account.ref}")
        return account


def tick_until(
    stop: threading.Event,
    tick: Callable[[datetime], int],
    clock: Callable[[], datetime],
    every: float,
    after: Callable[[datetime, int], None] | None = None,
) -> int:
    """Tick on the clock every `every` seconds until `stop` is set; the pieces of work
    run. A failed tick (a conflict, the database away) is logged and tried again at the
    next one: a long-running scheduler outlives a database restart. `after` hears of each
    tick (the CLI reports, the API server prunes its idempotency keys)."""
    total = 0
    while not stop.is_set():
        at = clock()
        try:
            ran = tick(at)
            if after is not None:
                after(at, ran)
        except Rejected as e:
            log.warning("tick refused", code=e.code.value, message=e.message)
            ran = 0
        except Exception as e:  # logged and tried again at the next tick
            log.error("tick failed", error=type(e).__name__, exc_info=e)
            ran = 0
        total += ran
        if stop.wait(every):
            break
    return total
