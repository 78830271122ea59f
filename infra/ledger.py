"""The composition root: one `Ledger` built from its dependencies, nothing at import.

`build_ledger(config, provider)` wires the application, the read models, the consumers
and the scheduler. Every caller (CLI, scenario runner, demo, tests) goes through it, so
they all exercise the real event store, scheduler and projections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from eventsourcing.persistence import PersistenceError

from consumers.collector import Collector
from consumers.payment_provider import PaymentProvider, SimulatedPaymentProvider
from consumers.privacy_keeper import PrivacyKeeper
from consumers.scheduler import Scheduler
from domain import bounds
from domain import commands as c
from domain.account import Account, account_id
from domain.calendar import add_months, format_instant, parse_instant, sortable_instant
from domain.errors import ErrorCode, Rejected, invalid
from infra.api.idempotency import IdempotencyStore
from infra.api.keys import ApiKeyStore
from infra.application import LedgerApplication, Outcome
from infra.config import LedgerConfig, Seller
from infra.database import (
    SCHEMA_VERSION,
    Database,
    DatabaseNotReadyError,
    ensure_schema,
)
from infra.event_chain import Break, Checkpointer, verify_checkpoints
from infra.event_chain import verify as verify_chain
from infra.keystore import MasterKeyError, PersonalDataErasedError, invoice_key_id
from infra.recorder_extras import REQUEST_MARK
from infra.sqlite_backend import SQLiteViewStore
from projections import mrr_movements, reports
from projections.account_view import fold, invoice_record, new_doc, observe
from projections.documents import (
    AccountDoc,
    AuditRecord,
    JournalLine,
    MrrMovementsRow,
    ObservedState,
    ReportRow,
    VatRow,
)
from projections.event_records import EventRecord, from_notification
from projections.invoice_document import (
    InvoiceDocument,
    SellerNotConfiguredError,
    build_credit_note_document,
    build_invoice_document,
)
from projections.isolation import Failure, ReadModelHaltedError, is_transient
from projections.privacy_audit import audit
from projections.runner import AccountsProjection, ProjectionRunner
from projections.sql import SQLITE, postgres
from projections.store import ViewStore

log = structlog.get_logger("subledger")
SETTLE_ROUNDS_MAX = 1000  # consequences of consequences; a bound, never reached in practice
ACCOUNTS = "accounts"  # the read model of account views and the journal
MONTHLY_REPORTS = ("churn", "revenue", "mrr-movements", "vat")


@dataclass
class Ledger:
    app: LedgerApplication
    store: ViewStore
    projections: ProjectionRunner
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

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self.store, self.app.load, self.app.save,
                                   self.app.price_book, self.settle)

    # ---------------------------------------------------------------- writing
    def execute(self, command: c.Command, *, mark: tuple[str, str] | None = None) -> Outcome:
        """Run due work up to the command's instant, then the command, then its effects.
        `mark`: the HTTP request (API key id, Idempotency-Key) the command answers,
        recorded with the command's events (infra/recorder_extras.py)."""
        with self._lock:
            return self._execute(command, mark)

    def execute_now(self, make: Callable[[datetime], c.Command],
                    clock: Callable[[], datetime], *,
                    mark: tuple[str, str] | None = None) -> tuple[c.Command, Outcome]:
        """A command that did not say when it happened: timed inside the ledger's lock,
        so no other command or tick can run between reading the clock and the command,
        and never before scheduled work already run (another process's clock may be a
        little ahead): "now" is then the instant that work ran up to."""
        with self._lock:
            at = clock()
            ran_to = self.scheduler.clock()
            if ran_to is not None and sortable_instant(at) < ran_to:
                at = parse_instant(ran_to)
            command = make(at)
            return command, self._execute(command, mark)

    def _execute(self, command: c.Command, mark: tuple[str, str] | None) -> Outcome:
        clock = self.scheduler.clock()
        if clock is not None and sortable_instant(command.at) < clock:
            raise invalid(f"at {format_instant(command.at)} is before scheduled work "
                          f"already run up to {clock}", "at")
        self.scheduler.tick(command.at)
        token = REQUEST_MARK.set(mark)
        try:
            outcome = self.app.handle(command)
        finally:
            REQUEST_MARK.reset(token)
        # committed: from here on nothing may turn the answer into a failure (settle
        # records its own trouble; see `settle_failure` and projections/isolation.py)
        self.settle()
        log.info("command", command=type(command).__name__,
                 account=getattr(command, "account", None), at=format_instant(command.at),
                 recorded=outcome.recorded)
        return outcome

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop every read model and fold the whole event log again from position 0. The
        recorded failures are cleared first (after a fix, everything is tried again:
        the consumers from their positions); recorded skips stay skipped."""
        with self._lock:
            for failure in self.store.isolation.clear():
                log.warning("failure cleared for a rebuild", **failure.as_dict())
            self.store.drop_views()
            return self.projections.run(progress)

    def halted(self) -> list[Failure]:
        """The read models and consumers stopped on an event (projections/isolation.py)."""
        return self.store.isolation.failures()

    def tick(self, to: datetime) -> int:
        with self._lock:
            ran = self.scheduler.tick(to)
            self.app.keys.drop_ended_cooldowns(to)  # ACCOUNT-5: the hash goes after it
            return ran

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
                self.projections.run()
                if self.checkpointer is not None:
                    self.checkpointer.run()
                self.privacy.run()
                if not self.inline_collection or not self.collector.run():
                    break
            self._settled_to = self.app.recorder.max_notification_id() or 0
        except Exception as e:
            self.settle_failure = {"error": f"{type(e).__name__}: {e}"[:500],
                                   "transient": str(is_transient(e)).lower()}
            log.warning("catch-up failed; tried again at the next one",
                        error=type(e).__name__, exc_info=not is_transient(e))
            return
        self.settle_failure = None

    # ---------------------------------------------------------------- reading
    def state(self, ref: str, as_of: datetime | None = None) -> ObservedState:
        """The account view; while the account views are halted on an event, the
        account's own events folded from the log instead (the same fold), so answers
        stay true."""
        return observe(self._doc(ref), as_of)

    def _doc(self, ref: str) -> AccountDoc:
        if self.store.isolation.is_halted(ACCOUNTS):
            return self._folded(ref, self.app.recorder.max_notification_id() or 0)
        doc = self.store.doc(ref)
        if doc is None:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        return doc

    def _require_views(self) -> None:
        """Answers read from the account views or the journal need them current."""
        failures = [f for f in self.halted() if f.name == ACCOUNTS]
        if failures:
            raise ReadModelHaltedError(failures)

    def _fold(self, doc: AccountDoc, record: EventRecord, notification: Any) -> None:
        """The projection's fold; an event it cannot fold is the account views'
        failure here too: reported as such (503, exit 1), not a crash."""
        try:
            fold(doc, record)
        except Exception as e:
            raise _unfoldable(notification, e) from e

    def state_at(self, ref: str, position: int, as_of: datetime | None = None) -> ObservedState:
        """The account's observed state as of log position N: its events up to N folded
        through the projection's own `fold` (no second implementation)."""
        return observe(self._folded(ref, position), as_of)

    def _folded(self, ref: str, position: int) -> AccountDoc:
        doc = new_doc(ref)
        found = False
        for notification, record in self._account_records(ref, position):
            self._fold(doc, record, notification)
            found = True
        if not found:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r} at position {position}")
        return doc

    def _account_records(self, ref: str, position: int | None = None) -> Iterator[Any]:
        """(notification, record) of the account's stored events up to a log position
        (default the head), in log order: what every per-account fold reads."""
        upto = position if position is not None else (
            self.app.recorder.max_notification_id() or 0)
        for notification in self._unskipped(
                self.store.account_notifications(account_id(ref), upto)):
            record = self._record(notification)
            if record is not None:
                yield notification, record

    def _unskipped(self, notifications: Any) -> Iterator[Any]:
        """The events the account views fold: all but those an operator skipped."""
        skipped = self.store.isolation.skipped(ACCOUNTS)
        for notification in notifications:
            if notification.id not in skipped:
                yield notification

    def _record(self, notification: Any) -> EventRecord | None:
        try:
            return from_notification(notification, self.app.mapper)
        except Exception as e:  # a stored event no fold can read
            raise _unfoldable(notification, e) from e

    def _log(self, batch: int = 2000) -> Iterator[Any]:
        """The whole notification log, read in pages."""
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start, batch)
            if not page:
                return
            yield from page
            start = page[-1].id + 1

    def verify(self) -> tuple[int, Break | None]:
        """Recompute the hash chain over the whole log (infra/event_chain.py): how many
        events were checked, and the first break, if any."""
        checked = [0]

        def log() -> Iterator[Any]:
            for notification in self._log(1000):
                checked[0] += 1
                yield notification

        def chain() -> Iterator[tuple[int, bytes]]:
            after = 0
            while True:
                with self.store.transaction(commit=False) as c:
                    c.execute(self.store.dialect(
                        "SELECT position, hash FROM {t:event_chain} WHERE position > ? "
                        "ORDER BY position LIMIT 1000"), (after,))
                    rows = [(int(r["position"]), bytes(r["hash"])) for r in c.fetchall()]
                if not rows:
                    return
                yield from rows
                after = rows[-1][0]

        found = verify_chain(log(), chain())
        if found is None and self.checkpointer is not None:
            found = verify_checkpoints(self._checkpoints(), self._chain_hash_at,
                                       self.checkpointer.key.public_key(), self._balanced_at)
        return checked[0], found

    def _checkpoints(self) -> list[tuple[int, bytes, bytes]]:
        with self.store.transaction(commit=False) as c:
            c.execute(self.store.dialect("SELECT position, hash, signature FROM "
                                         "{t:chain_checkpoints} ORDER BY position"))
            return [(int(r["position"]), bytes(r["hash"]), bytes(r["signature"]))
                    for r in c.fetchall()]

    def _chain_hash_at(self, position: int) -> bytes | None:
        with self.store.transaction(commit=False) as c:
            c.execute(self.store.dialect("SELECT hash FROM {t:event_chain} WHERE position=?"),
                      (position,))
            row = c.fetchone()
        return None if row is None else bytes(row["hash"])

    def _balanced_at(self, position: int) -> bool:
        """Every journal line up to the position has two sides and no negative amount:
        debits equal credits there, line by line."""
        with self.store.transaction(commit=False) as c:
            c.execute(self.store.dialect(
                "SELECT COUNT(*) AS bad FROM {t:journal} WHERE position <= ? AND (debit IS "
                "NULL OR credit IS NULL OR debit = credit OR amount < 0)"), (position,))
            return int(c.fetchone()["bad"]) == 0

    def privacy_report(self, as_of: datetime | None = None) -> list[AuditRecord]:
        """GDPR-6 audit of every account (projections/privacy_audit.py)."""
        self._require_views()
        return [audit(doc, as_of) for doc in self.store.docs()]

    def journal(self, ref: str | None = None, *, position: int | None = None,
                as_of: datetime | None = None,
                recognise: bool = False) -> list[JournalLine]:
        """The double-entry journal's lines (projections/journal.py), optionally of one
        account, up to a log position and/or an effective instant. An invoice is posted
        to deferred revenue; with `recognise`, each invoice's share earned by `as_of`
        (day by day over its period) is added as a line from deferred to recognised
        revenue: derived from the invoices, not stored, so it has no position."""
        self._require_views()
        wanted = None if ref is None else str(account_id(ref))
        refs = {str(account_id(r)): r for r in self.store.refs()}
        lines: list[JournalLine] = []
        for pos, line, aid, at, debit, credit, amount, memo in self.store.journal_rows():
            if (wanted is not None and aid != wanted) or (position is not None
                                                          and pos > position):
                continue
            if as_of is not None and parse_instant(at) >= as_of:
                continue  # effective before the instant, as in docs_as_of
            lines.append({"position": pos, "line": line, "account": refs.get(aid, aid),
                          "at": at, "debit": debit, "credit": credit, "amount": amount,
                          "memo": memo})
        if recognise and as_of is not None and position is None:
            for aid, doc in sorted(self.docs_as_of(as_of).items()):
                if wanted is not None and aid != wanted:
                    continue
                for invoice in doc["invoices"]:
                    earned = reports.recognised_by(invoice, as_of)
                    if not invoice["void"] and earned:
                        lines.append({
                            "position": None, "line": invoice["n"], "account": doc["ref"],
                            "at": format_instant(as_of), "debit": "revenue:deferred",
                            "credit": "revenue:recognised", "amount": earned,
                            "memo": f"invoice {invoice['n']} recognised day by day"})
        return lines

    def docs_as_of(self, as_of: datetime) -> dict[str, AccountDoc]:
        """Every account's view as it stood at an instant: its events effective before
        it, folded by the projection's own `fold` (no second implementation). Before,
        not at: work due at an instant runs strictly after it (SPEC section 0), so the
        ledger's own view at T holds exactly the events effective before T."""
        docs: dict[str, AccountDoc] = {}
        for notification in self._unskipped(self._log()):
            record = self._record(notification)
            if record is None or parse_instant(record.at) >= as_of:
                continue
            doc = docs.get(record.originator_id)
            if doc is None:
                doc = docs[record.originator_id] = new_doc(record.get("ref", ""))
            self._fold(doc, record, notification)
        return docs

    def report(self, name: str, *, as_of: datetime,
               month: str | None = None) -> Sequence[ReportRow]:
        """A finance report (projections/reports.py) as of an instant, or for a month."""
        if name not in reports.NAMES:
            raise invalid(f"unknown report {name!r}; reports: {', '.join(reports.NAMES)}",
                          "report")
        if month is not None:
            bounds.month(month)
            if name not in MONTHLY_REPORTS:  # never ignored: a month asked is a month shown
                raise invalid(f"the {name} report is as of an instant (at); only "
                              f"{', '.join(MONTHLY_REPORTS)} are for a month", "month")
        if name == "mrr-movements":
            return [self.mrr_movements(as_of, month)]
        if name in MONTHLY_REPORTS:
            month = month or format_instant(as_of)[:7]
            try:
                first = parse_instant(f"{month}-01T00:00:00Z", "month")
            except Rejected:
                raise invalid("month is YYYY-MM", "month") from None
            after = add_months(first, 1)
            if name == "churn":
                return reports.churn(self.docs_as_of(first), self.docs_as_of(after), month)
            if name == "vat":
                return self._with_vat_ids(reports.vat(self.docs_as_of(after).values(), month))
            return reports.revenue(self.docs_as_of(after).values(), self.journal(), month)
        docs = self.docs_as_of(as_of).values()
        if name == "ageing":
            return reports.ageing(docs, as_of)
        result: Sequence[ReportRow] = getattr(reports, name)(docs)
        return result

    def _with_vat_ids(self, rows: list[VatRow]) -> list[VatRow]:
        """TAX-5: each reverse-charge line lists its customers' VAT ids, as on the
        documents, while the invoice identity is retained (an erased one is left out)."""
        identities: dict[str, dict[int, dict[str, Any] | None]] = {}
        for row in rows:
            found = set()
            for ref, n in row.pop("documents"):
                if ref not in identities:
                    identities[ref] = self.invoice_identities(ref)
                vat_id = (identities[ref].get(n) or {}).get("vat_id")
                if vat_id:
                    found.add(vat_id)
            row["vat_ids"] = sorted(found)
        return rows

    def invoice_identities(self, ref: str) -> dict[int, dict[str, Any] | None]:
        """GDPR-3, TAX-6: for each invoice n of the account, the buyer's invoice identity
        (billing name, address, VAT id) as it stood when n was issued, opened with the
        invoice-identity key; None once that key is destroyed (erased)."""
        key_id = invoice_key_id(str(account_id(ref)))
        sealed, at_issue = "", {}
        for _, record in self._account_records(ref):
            if record.event_type in ("Registered", "PersonalDataUpdated") \
                    and record.get("billing"):
                sealed = record["billing"]
            elif record.event_type == "InvoiceIssued":
                at_issue[int(record["n"])] = sealed
        opened: dict[str, dict[str, Any] | None] = {}
        for blob in set(at_issue.values()):
            try:
                opened[blob] = self.app.keys.open(key_id, blob) if blob else None
            except PersonalDataErasedError:
                opened[blob] = None
        return {n: opened[blob] for n, blob in at_issue.items()}

    def invoice_record(self, ref: str, n: int, *, position: int | None = None) -> dict[str, Any]:
        """Invoice n as its document needs it (TAX-6): the read model's record
        (`account_view.invoice_record`, in clear) and `buyer`, the invoice identity when
        it was issued, or None once erased (GDPR-3). With `position`: as the account's
        events up to that log position leave it (the projection's fold)."""
        if position is None:
            doc = self.store.doc(ref)
        else:
            doc = new_doc(ref)
            for _, stored in self._account_records(ref, position):
                fold(doc, stored)
            doc = doc if doc["currency"] is not None else None
        if doc is None:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        record = invoice_record(doc, n)
        if record is None:
            raise Rejected(ErrorCode.UNKNOWN_INVOICE, f"account {ref} has no invoice {n}")
        return {"account": ref, **record, "buyer": self.invoice_identities(ref).get(n)}

    def mrr_movements(self, as_of: datetime, month: str | None = None) -> MrrMovementsRow:
        """How MRR moved in a month (projections/mrr_movements.py), from the event log:
        the whole month, or up to `as_of` when that falls inside it (month to date)."""
        month = month or format_instant(as_of)[:7]
        try:
            first = parse_instant(f"{month}-01T00:00:00Z", "month")
        except Rejected:
            raise invalid("month is YYYY-MM", "month") from None
        after = add_months(first, 1)
        until = as_of if first < as_of < after else after
        records = (from_notification(n, self.app.mapper) for n in self._log())
        return mrr_movements.movements((r for r in records if r is not None), first, until,
                                       month)

    def invoice_document(self, ref: str, n: int, credit_note: int | None = None, *,
                         position: int | None = None) -> InvoiceDocument:
        """TAX-6: invoice n of the account, or its k-th credit note (`credit_note`, from
        1), as the document an EU invoice must be (`projections.invoice_document`): the
        seller of `[seller]`, the buyer's invoice identity in force when n was issued (shown
        as erased once GDPR-3 erased it; everything else unchanged) and the invoice's
        record. A query: it reads (the read model, or with `position` the account's events
        up to that log position) and records nothing."""
        record = self.invoice_record(ref, n, position=position)
        notes = len(record["credit_notes"])
        if credit_note is not None and not 1 <= credit_note <= notes:
            raise Rejected(ErrorCode.UNKNOWN_INVOICE,
                           f"invoice {n} of account {ref} has no credit note {credit_note} "
                           f"(it has {notes or 'none'})", field="credit_note")
        if self.seller is None:
            raise SellerNotConfiguredError(
                "invoice documents name their issuer: the configuration needs [seller] "
                "with name, address and vat_id")
        seller, buyer = asdict(self.seller), record["buyer"]
        options = {"account": ref, "currency": record["currency"],
                   "seller_country": None if self.app.tax is None
                   else self.app.tax.seller_country}
        if credit_note is None:
            return build_invoice_document(seller, buyer, record, **options)
        return build_credit_note_document(seller, buyer, record, credit_note, **options)

    def history(self, ref: str) -> list[dict[str, Any]]:
        """The account's timeline: each event with its log position, effective and
        recorded times, and the state it left (the projection's own fold, step by step)."""
        doc = new_doc(ref)
        steps = []
        for notification, record in self._account_records(ref):
            self._fold(doc, record, notification)
            state = observe(doc, parse_instant(record.at))
            steps.append({"position": notification.id,
                          "version": notification.originator_version,
                          "event": record.event_type, "at": record.at,
                          "recorded_at": record["timestamp"],
                          "status": state["status"], "access": state["access"],
                          "outstanding": state["balance"]["outstanding"]})
        if not steps:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        return steps

    def ran_past(self, ref: str, at: datetime) -> str | None:
        """The effective time of the account's latest event when it lies after `at`
        (scheduled work already run past it, a command dated later), else None: the
        view then shows a later state than the one at `at`, which only the account's
        history can give."""
        latest = max((parse_instant(r.at) for _, r in self._account_records(ref)),
                     default=None)
        return format_instant(latest) if latest is not None and latest > at else None

    def state_as_of(self, ref: str, as_of: datetime) -> ObservedState:
        """The account's state as it stood at an instant, from its events effective
        before it (the projection's fold; nothing runs, nothing is recorded)."""
        doc = new_doc(ref)
        found = False
        for notification, record in self._account_records(ref):
            if parse_instant(record.at) < as_of:
                self._fold(doc, record, notification)
                found = True
        if not found:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r} before "
                           f"{format_instant(as_of)}")
        return observe(doc, as_of)

    def events(self, ref: str) -> list[Any]:
        aid = account_id(ref)
        events = list(self.app.events.get(aid))
        if not events:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        return events

    def account(self, ref: str) -> Account:
        return self.app.account(ref)

    def export(self, ref: str, at: datetime | None,
               clock: Callable[[], datetime] | None = None) -> dict[str, Any]:
        """GDPR-4: the personal fields, the processing records and the financial history.
        `at` None: now by `clock`, timed inside the lock (see `execute_now`)."""
        if at is None:
            assert clock is not None, "an export without `at` needs a clock"
            command, outcome = self.execute_now(
                lambda when: c.ExportPersonalData(at=when, account=ref), clock)
            at = command.at
        else:
            outcome = self.execute(c.ExportPersonalData(at=at, account=ref))
        doc = self._doc(ref)
        state = observe(doc, at)
        return {**outcome.detail,
                "processing_records": doc.get("privacy", {}).get("records", []),
                "privacy": state["privacy"],
                "subscription": {k: state[k] for k in ("status", "plan", "term",
                                                       "access_until")},
                "export_until": state["export_until"],  # VENDOR-2: the export window
                "balance": state["balance"], "invoices": state["invoices"],
                "refunds": state["refunds"], "notices": state["notices"]}

    def close(self) -> None:
        self.app.close()


def _unfoldable(notification: Any, error: Exception) -> ReadModelHaltedError:
    """What an answer folded from the log met: an event the account views cannot fold."""
    return ReadModelHaltedError([Failure(
        ACCOUNTS, notification.id,
        f"{notification.originator_id}:{notification.originator_version}",
        notification.topic, f"{type(error).__name__}: {error}"[:500], "")])


def build_ledger(config: LedgerConfig, provider: PaymentProvider | None = None, *,
                 create: bool | None = None, fresh: bool = False) -> Ledger:
    """`create`: make the tables (default: SQLite yes, PostgreSQL only by `db init`);
    `fresh`: refuse a database that already holds a ledger."""
    db = config.db
    if config.master_key is None:
        raise MasterKeyError("no master key configured: `master_key_file` under [ledger] "
                             "or SUBLEDGER_MASTER_KEY (`subledger init` makes one)")
    create = db.is_sqlite if create is None else create
    if create:
        ensure_schema(db)
    store: ViewStore
    if db.is_sqlite:
        app = LedgerApplication(profile=config.profile, currency=config.currency,
                                catalog=config.catalog, env=db.env(create=create), sql=SQLITE,
                                master_key=config.master_key, tax=config.tax)
        store = SQLiteViewStore(app.factory.datastore)
    else:
        from infra.postgres_backend import TRACKING_TABLE, PostgresViewStore

        app = LedgerApplication(profile=config.profile, currency=config.currency,
                                catalog=config.catalog, env=db.env(create=create),
                                sql=postgres(db.schema, TRACKING_TABLE),
                                master_key=config.master_key, tax=config.tax)
        store = PostgresViewStore(app.factory.datastore, app.recorder.events_table_name)
    if fresh and schema_version(store) is not None:
        app.close()
        raise DatabaseNotReadyError(f"{db.describe()} already holds a ledger; a new event "
                                    "store is needed")
    if create:
        store.create_table()
        app.keys.create_tables()
        ApiKeyStore(app.factory.datastore, store.dialect).create_tables()
        IdempotencyStore(app.factory.datastore, store.dialect).create_tables()
        mark_schema_version(store)
    else:
        check_schema_version(store, db)
    try:
        app.keys.check_master_key()
    except MasterKeyError:
        app.close()
        raise
    def subscribers(plan: str, term: str) -> list[UUID]:
        """PRICE-1 notifies every subscriber the account views know: not from views
        stopped on an event, which would miss some."""
        if store.isolation.is_halted(ACCOUNTS):
            raise ReadModelHaltedError([f for f in store.isolation.failures()
                                        if f.name == ACCOUNTS])
        return [UUID(a) for a in store.live_on(plan, term)]

    app.subscribers = subscribers

    runner = ProjectionRunner(app, store, [AccountsProjection(store, app.mapper)])
    provider = provider or SimulatedPaymentProvider()
    checkpointer = None
    if config.signing_key is not None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        checkpointer = Checkpointer(store, Ed25519PrivateKey.from_private_bytes(
            config.signing_key), config.checkpoint_every)
    return Ledger(app=app, store=store, projections=runner, checkpointer=checkpointer,
                  seller=config.seller,
                  inline_collection=not (config.kafka or {}).get("collection", False),
                  collector=Collector(app, store, provider, app.record_collection_outcomes),
                  privacy=PrivacyKeeper(app, store, app.keys), provider=provider)


def mark_schema_version(store: ViewStore) -> None:
    with store.transaction(commit=True) as c:
        c.execute(store.dialect("INSERT INTO {t:subledger_meta} VALUES ('schema_version', ?) "
                                "ON CONFLICT (name) DO UPDATE SET value=excluded.value"),
                  (str(SCHEMA_VERSION),))
    ledger_identity(store)


def ledger_identity(store: ViewStore) -> str:
    """A UUID naming this ledger, made once with its schema (or the first time it is
    asked, for a ledger older than it): the CloudEvents `source` of its events, so that
    two ledgers publishing to one broker never give two events the same source and id."""
    with store.transaction(commit=True) as c:
        c.execute(store.dialect("INSERT INTO {t:subledger_meta} VALUES ('ledger_id', ?) "
                                "ON CONFLICT (name) DO NOTHING"), (str(uuid4()),))
        c.execute(store.dialect("SELECT value FROM {t:subledger_meta} "
                                "WHERE name='ledger_id'"))
        return str(c.fetchone()["value"])


def schema_version(store: ViewStore) -> int | None:
    """The schema version written by `db init`, None when there is no ledger schema."""
    try:
        with store.transaction(commit=False) as c:
            c.execute(store.dialect("SELECT value FROM {t:subledger_meta} "
                                    "WHERE name='schema_version'"))
            row = c.fetchone()
    except PersistenceError as e:
        if "does not exist" in str(e) or "no such table" in str(e):
            return None
        raise
    return None if row is None else int(row["value"])


def check_schema_version(store: ViewStore, db: Database) -> None:
    found = schema_version(store)
    if found is None:
        raise DatabaseNotReadyError(f"{db.describe()} holds no subledger schema; "
                                    "run `subledger db init` first")
    if found != SCHEMA_VERSION:
        raise DatabaseNotReadyError(f"{db.describe()} has schema version {found}, this "
                                    f"subledger needs {SCHEMA_VERSION}")
