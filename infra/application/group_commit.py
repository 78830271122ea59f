"""Group commit: concurrent commands on different accounts saved in one transaction.

A database commits a log once for everything waiting, not once per writer; this does the
same for the ledger. A caller of `Ledger.execute_grouped` queues its command and waits for
the ledger's lock; whoever holds it takes everything queued (`BATCH_MAX` at most) and runs
it as one batch:

1. each command is timed (when it did not say when) and checked against the scheduler's
   clock, as `Ledger.execute_now` / `execute` would;
2. the work due before the batch's earliest instant runs (`Scheduler.tick`);
3. each command is handled against its own freshly loaded aggregate, its save only noted
   (`LedgerApplication.deferring`); a command refused by the rules raises, notes nothing
   and gets its own error;
4. everything noted is saved in ONE transaction (`save_together`: the events, deadlines,
   payment-reference claims, subject keys and every command's HTTP request mark);
5. the read models and consumers settle once for the batch; each caller gets its outcome.

Why the answers are those of one at a time, in arrival order: an account's log depends
only on the commands on that account, in order, and on the account's own scheduled work
and consequences. A command joins the group only if no earlier command of the batch is on
its account and its account has no work due before its instant still to run (step 2 ran
the rest); commands that could reach other accounts (a price change notifies every
subscriber; a closure may start an e-mail cooldown that a registration reads) end the
group, and so does the first command that cannot join (it and everything after it run
alone). Everything not in the group runs after it, alone, in arrival order, exactly as
`execute` runs it. When the one transaction conflicts (another process wrote one of the
accounts, two registrations of one account, a payment reference claimed twice), nothing of
it is recorded and each command of the group is run again alone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from eventsourcing.persistence import IntegrityError

from domain import commands as c
from domain.account import account_id
from domain.calendar import format_instant, parse_instant, sortable_instant
from infra.application.handlers import Outcome, PendingSave
from infra.persistence.extras import IdempotencyKeyTaken, RequestClaim, RequestMark

if TYPE_CHECKING:
    from infra.application.ledger import Ledger

log = structlog.get_logger("subledger")
BATCH_MAX = 256  # commands per transaction: bounds a batch's memory and its wait
# How long a batch waits for the callers of the last batch to send their next commands
# (they were answered together, and come back together): a database's commit delay.
# Only when the last batch held more than the queue does now; one caller never waits.
GATHER_SECONDS = 0.002
GATHER_POLL = 0.0002
# commands whose effects reach beyond their own account's log (see the module docstring)
ENDS_GROUP: frozenset[type[c.Command]] = frozenset(
    {
        c.AnnouncePriceChange,
        c.RequestAccountClosure,
        c.RequestDataDeletion,
        c.TerminateByVendor,
        c.CancelForNonpayment,
        c.ExportPersonalData,
    }
)


def log_command(command: c.Command, outcome: Outcome) -> None:
    log.info(
        "command",
        command=type(command).__name__,
        account=getattr(command, "account", None),
        at=format_instant(command.at),
        recorded=outcome.recorded,
    )


@dataclass(eq=False)
class Pending:
    """One caller's command, waiting for its batch; `done` when it has its answer."""

    command: c.Command
    mark: RequestMark | None
    timed_by: Callable[[], datetime] | None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None
    error: BaseException | None = None

    def succeed(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class GroupCommit:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._queue: deque[Pending] = deque()
        self._queue_lock = threading.Lock()
        self._turn = threading.Condition(self._queue_lock)
        self._leading = False
        # transactions made for groups and the commands they held: the benchmark's
        # mean group size
        self.transactions = 0
        self.grouped = 0
        self._last_size = 0

    def submit(
        self,
        command: c.Command,
        mark: RequestMark | None,
        timed_by: Callable[[], datetime] | None,
    ) -> tuple[c.Command, Outcome]:
        item = Pending(command, mark, timed_by)
        with self._turn:
            self._queue.append(item)
        while True:
            with self._turn:
                # one caller leads a batch at a time; the others wait for their answer
                # (not for the ledger's lock, which would hand it on one by one)
                self._turn.wait_for(lambda: item.done.is_set() or not self._leading)
                if item.done.is_set():
                    break
                self._leading = True
            try:
                self._lead()
            finally:
                with self._turn:
                    self._leading = False
                    self._turn.notify_all()
        if item.error is not None:
            raise item.error
        assert item.outcome is not None
        return item.command, item.outcome

    def run_together(
        self, commands: list[tuple[c.Command, RequestMark | None]]
    ) -> list[Outcome | Exception]:
        """These commands as one batch, as if their callers were waiting together: each
        one's outcome or error, in order (tests and the benchmark: deterministic
        batches, no threads)."""
        batch = [Pending(command, mark, None) for command, mark in commands]
        with self.ledger._lock:
            self._run(batch)
        answers: list[Outcome | Exception] = []
        for item in batch:
            if isinstance(item.error, Exception):
                answers.append(item.error)
            elif item.error is not None:
                raise item.error
            else:
                assert item.outcome is not None
                answers.append(item.outcome)
        return answers

    def _lead(self) -> None:
        with self.ledger._lock:
            self._gather()
            batch = self._take()
            try:
                self._run(batch)
            except BaseException as e:  # each waiting caller hears of it
                for pending in batch:
                    if not pending.done.is_set():
                        pending.fail(e)

    def _gather(self) -> None:
        """Wait (at most GATHER_SECONDS) until as many commands wait as the last batch held."""
        deadline = time.monotonic() + GATHER_SECONDS
        while len(self._queue) < self._last_size and time.monotonic() < deadline:
            time.sleep(GATHER_POLL)

    def _take(self) -> list[Pending]:
        with self._queue_lock:
            n = min(len(self._queue), BATCH_MAX)
            batch = [self._queue.popleft() for _ in range(n)]
        self._last_size = len(batch)
        return batch

    def _run(self, batch: list[Pending]) -> None:
        if len(batch) <= 1:
            for item in batch:
                self._alone(item)
            return
        ready = self._timed(batch)
        if not ready:
            return
        self.ledger.scheduler.tick(min(item.command.at for item in ready))
        group, later = self._partition(ready)
        if len(group) <= 1:
            for item in [*group, *later]:
                self._alone(item)
            return
        self._together(group)
        for item in later:
            self._alone(item)

    def _timed(self, batch: list[Pending]) -> list[Pending]:
        """Step 1: each command timed (if it did not say when) and checked against the
        scheduler's clock; refused ones answered at once."""
        ran_to = self.ledger.scheduler.clock()
        ready = []
        for item in batch:
            if item.timed_by is not None:
                at = item.timed_by()
                if ran_to is not None and sortable_instant(at) < ran_to:
                    at = parse_instant(ran_to)
                item.command = replace(item.command, at=at)
            try:
                self.ledger.check_after_clock(item.command)
            except Exception as e:
                item.fail(e)
                continue
            ready.append(item)
        return ready

    def _partition(self, ready: list[Pending]) -> tuple[list[Pending], list[Pending]]:
        """(the group, the rest in arrival order): see the module docstring."""
        refs = {getattr(item.command, "account", None) for item in ready}
        ids = {ref: str(account_id(ref)) for ref in refs if isinstance(ref, str)}
        deadlines = self.ledger.store.deadlines_of(sorted(ids.values()))
        group: list[Pending] = []
        later: list[Pending] = []
        seen: set[str] = set()
        ended = False  # a command reaching other accounts came: nothing more joins
        for item in ready:
            ref = getattr(item.command, "account", None)
            reaches_others = type(item.command) in ENDS_GROUP or not isinstance(ref, str)
            due = deadlines.get(ids[ref]) if isinstance(ref, str) else None
            if (
                ended
                or reaches_others
                or ref in seen
                or (due is not None and due < sortable_instant(item.command.at))
            ):
                later.append(item)
                # everything after it waits too: a command run alone may run scheduled
                # work (moving the clock), so none that arrived after it may go first
                ended = True
            else:
                group.append(item)
            if isinstance(ref, str):
                seen.add(ref)
        return group, later

    def _together(self, group: list[Pending]) -> None:
        """Steps 3-5."""
        app = self.ledger.app
        handled: list[tuple[Pending, Outcome]] = []
        saves: list[PendingSave] = []
        for item in group:
            noted: list[PendingSave] = []
            try:
                with app.deferring(noted):
                    outcome = app.handle(item.command, request_mark=item.mark)
            except Exception as e:  # refused: records nothing, spoils nothing
                item.fail(e)
                continue
            handled.append((item, outcome))
            saves += noted
        try:
            if saves:
                app.save_together(saves)
        except (IntegrityError, IdempotencyKeyTaken):  # RecordConflictError included
            # nothing of the group was recorded: a key claimed in it is not written
            log.info("group commit conflicted; its commands run one at a time", size=len(group))
            for item, _ in handled:
                if isinstance(item.mark, RequestClaim):
                    item.mark.written = False
                self._alone(item)
            return
        self.transactions += 1
        self.grouped += len(handled)
        self.ledger.settle()
        for item, outcome in handled:
            log_command(item.command, outcome)
            item.succeed(outcome)

    def _alone(self, item: Pending) -> None:
        """As `Ledger.execute` / `execute_now` run it."""
        try:
            if item.timed_by is not None:
                item.command, outcome = self.ledger.execute_now(
                    item.command, item.timed_by, mark=item.mark
                )
            else:
                outcome = self.ledger.execute(item.command, mark=item.mark)
        except Exception as e:
            item.fail(e)
            return
        item.succeed(outcome)
