"""The ledger: one object for every caller, in three parts by concern.

- writing (here): run a command after the work due before it, then let the read models
  and consumers catch up (`settle`); or, for concurrent callers, with others in one
  transaction (`execute_grouped`, `group_commit.py`); run scheduled work (`tick`);
  rebuild the read models;
- reading (`queries.py`, `LedgerQueries`): states, timelines, the journal, reports,
  documents;
- auditing (`audit.py`, `LedgerAudit`): the hash chain and its signed checkpoints.

It is built by `infra/application/bootstrap.py`, the composition root.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from consumers.collector import Collector
from consumers.ports import PaymentProvider
from consumers.privacy_keeper import PrivacyKeeper
from domain import commands as c
from domain.calendar import format_instant, parse_instant, sortable_instant
from domain.errors import ErrorCode, Rejected, invalid
from infra.application.audit import LedgerAudit
from infra.application.group_commit import GroupCommit, log_command
from infra.application.handlers import LedgerApplication, Outcome
from infra.application.queries import LedgerQueries
from infra.application.scheduler import Scheduler
from infra.config import Seller
from infra.persistence.event_chain import Checkpointer
from infra.persistence.extras import RequestMark
from infra.persistence.ledger_store import LedgerStore
from projections.account_view import observe
from projections.isolation import is_transient
from projections.runner import BatchRunner
from projections.scheduled_work import WorkDone

log = structlog.get_logger("subledger")
SETTLE_ROUNDS_MAX = 1000  # consequences of consequences; a bound, never reached in practice


def command_name(command: c.Command) -> str:
    """`record_activity` for `RecordActivity`: the name people type."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(command).__name__).lower()


def read_only_refusal(database: str, what: str) -> Rejected:
    """The typed refusal of a write to a store opened for reading only."""
    return Rejected(
        ErrorCode.READ_ONLY,
        f"{database} is open for reading only (--read-only, or a file this user may not "
        f"write): {what} would write to it, refused; status, events, history, journal, "
        "report and verify answer from what is stored",
    )


@dataclass
class Ledger(LedgerQueries, LedgerAudit):
    app: LedgerApplication
    store: LedgerStore
    projections: BatchRunner
    collector: Collector
    privacy: PrivacyKeeper
    provider: PaymentProvider
    inline_collection: bool = True  # False when a Kafka consumer collects ([kafka])
    checkpointer: Checkpointer | None = None  # signs chain checkpoints ([audit])
    seller: Seller | None = None  # [seller]: the issuer its invoice documents name (TAX-6)
    _settled_to: int = -1  # the log's head when everything last caught up with it
    # why the last catch-up failed (the database, not an event: those are isolated), or
    # None; `/health` shows it until a catch-up succeeds
    settle_failure: dict[str, str] | None = None
    # One writer at a time within a process: catch-up and consumers keep positions that
    # two threads would race on. Other processes are kept apart by the store's checks.
    _lock: threading.RLock = field(default_factory=threading.RLock)
    scheduler: Scheduler = field(init=False)
    # opened for reading only (issue 19): commands, ticks and catch-ups are refused or
    # skipped, and answers come from what is stored
    read_only: bool = False
    database: str = "the database"  # for messages: `Database.describe()`, no password
    group: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(
            self.store, self.app.take, self.app.save, self.app.price_book, self.settle
        )
        self.group = GroupCommit(self)

    # ---------------------------------------------------------------- writing
    def execute(self, command: c.Command, *, mark: RequestMark | None = None) -> Outcome:
        """Run due work up to the command's instant, then the command, then its effects.
        `mark`: the HTTP request (API key id, Idempotency-Key) the command answers,
        recorded with the command's events (infra/persistence/extras.py)."""
        self._writable(command_name(command))
        with self._lock:
            return self._execute(command, mark)

    def execute_now(
        self, command: c.Command, clock: Callable[[], datetime], *, mark: RequestMark | None = None
    ) -> tuple[c.Command, Outcome]:
        """A command that did not say when it happened: timed inside the ledger's lock,
        so no other command or tick can run between reading the clock and the command,
        and never before scheduled work already run (another process's clock may be a
        little ahead): "now" is then the instant that work ran up to. The command is
        parsed already: only its `at` is set here."""
        self._writable(command_name(command))
        with self._lock:
            at = clock()
            ran_to = self.scheduler.clock()
            if ran_to is not None and sortable_instant(at) < ran_to:
                at = parse_instant(ran_to)
            command = replace(command, at=at)
            return command, self._execute(command, mark)

    def execute_grouped(
        self,
        command: c.Command,
        *,
        mark: RequestMark | None = None,
        timed_by: Callable[[], datetime] | None = None,
    ) -> tuple[c.Command, Outcome]:
        """`execute` (or `execute_now` with `timed_by`), but sharing one transaction with
        the commands other threads are waiting to run (infra/application/group_commit.py):
        for many concurrent callers, as `serve` has. The command as run (its `at` set when
        timed here) and its own outcome, or its own error, as one at a time would give."""
        self._writable(command_name(command))
        return self.group.submit(command, mark, timed_by)

    def check_after_clock(self, command: c.Command) -> None:
        """A command may not be dated before scheduled work already run."""
        clock = self.scheduler.clock()
        if clock is not None and sortable_instant(command.at) < clock:
            raise invalid(
                f"at {format_instant(command.at)} is before scheduled work "
                f"already run up to {format_instant(parse_instant(clock).replace(microsecond=0))}",
                "at",
            )

    def _execute(self, command: c.Command, mark: RequestMark | None) -> Outcome:
        self.check_after_clock(command)
        self.scheduler.tick(command.at)
        outcome = self.app.handle(command, request_mark=mark)
        # committed: from here on nothing may turn the answer into a failure (settle
        # records its own trouble; see `settle_failure` and projections/isolation.py)
        self.settle()
        log_command(command, outcome)
        return outcome

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop every read model and fold the whole event log again from position 0. The
        recorded failures are cleared first (after a fix, everything is tried again:
        the consumers from their positions); recorded skips stay skipped."""
        self._writable("a rebuild of the read models")
        with self._lock:
            for failure in self.store.isolation.clear():
                log.warning("failure cleared for a rebuild", **failure.as_dict())
            self.store.drop_views()
            return self.projections.run(progress)

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise read_only_refusal(self.database, what)

    def tick(self, to: datetime) -> int:
        self._writable("scheduled work")
        with self._lock:
            ran = self.scheduler.tick(to)
            self.app.keys.drop_ended_cooldowns(to)  # ACCOUNT-5: the hash goes after it
            return ran

    def tick_and_say(self, to: datetime) -> tuple[int, list[WorkDone]]:
        """`tick`, and what it did: the events it recorded, read back from the log
        (issue 19: `subledger tick` says per account what ran)."""
        with self._lock:
            self.settle()
            head = self.app.recorder.max_notification_id() or 0
            ran = self.tick(to)
            # per account, each in the order it happened (rounds interleave accounts)
            return ran, sorted(self.work_since(head), key=lambda w: w["account"])

    @property
    def settled_to(self) -> int:
        """The log position everything had caught up with at the last settle."""
        return self._settled_to

    def settle(self) -> None:
        """Let projections and consumers catch up until nothing new happens.

        Only the collector records new events (the provider's answers), so a round in
        which it did nothing is the last one. When the log has not grown since the last
        settle, there is nothing to do and nothing is read but the log's head.
        """
        if self.read_only:  # nothing may be written: answers come from what is stored
            return
        with self._lock:
            self._settle()

    def _settle(self) -> None:
        """Never raises: an event that a read model or consumer cannot handle stops that
        one only (projections/isolation.py), and a failure of the database is logged,
        kept in `settle_failure` (shown by `/health`) and tried again next time. What
        is committed stays committed, and its caller gets its answer."""
        try:
            head = self.app.recorder.max_notification_id() or 0
            if head == self._settled_to:
                return
            for _ in range(SETTLE_ROUNDS_MAX):
                # the head before the round: what the round is sure to have caught up
                # with. Read after it, it would also count events another process
                # committed meanwhile, which no follower has seen: the next settle would
                # then skip them (and `project --follow` ignore their notifications)
                reached = self.app.recorder.max_notification_id() or 0
                self.projections.run()
                if self.checkpointer is not None:
                    self.checkpointer.run()
                self.privacy.run()
                if not self.inline_collection or not self.collector.run():
                    break
            self._settled_to = reached
        except Exception as e:
            self.settle_failure = {
                "error": f"{type(e).__name__}: {e}"[:500],
                "transient": str(is_transient(e)).lower(),
            }
            log.warning(
                "catch-up failed; tried again at the next one",
                error=type(e).__name__,
                exc_info=not is_transient(e),
            )
            return
        self.settle_failure = None

    # ---------------------------------------------------------------- reading
    def export(
        self, ref: str, at: datetime | None, clock: Callable[[], datetime] | None = None
    ) -> dict[str, Any]:
        """GDPR-4: the personal fields, the processing records and the financial history.
        `at` None: now by `clock`, timed inside the lock (see `execute_now`)."""
        if at is None:
            assert clock is not None, "an export without `at` needs a clock"
            command, outcome = self.execute_now(
                c.ExportPersonalData(at=clock(), account=ref), clock
            )
            at = command.at
        else:
            outcome = self.execute(c.ExportPersonalData(at=at, account=ref))
        doc = self._doc(ref)
        state = observe(doc, at)
        return {
            **outcome.detail,
            "processing_records": doc.get("privacy", {}).get("records", []),
            "privacy": state["privacy"],
            "subscription": {k: state[k] for k in ("status", "plan", "term", "access_until")},
            "export_until": state["export_until"],  # VENDOR-2: the export window
            "balance": state["balance"],
            "invoices": state["invoices"],
            "refunds": state["refunds"],
            "notices": state["notices"],
        }

    def close(self) -> None:
        self.app.close()
