"""The ledger's answers: states (now, as of an instant, at a log position), timelines,
the journal, finance reports, invoice documents and the privacy audit.

Every answer is read from the read models, or folded from the account's own events by
the projection's own `fold` (no second implementation), so answers "as of" and "now"
cannot disagree. Nothing here records anything. `LedgerQueries` is one of the three
parts of `Ledger` (`infra/application/ledger.py`): writing, reading (here), auditing
(`audit.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from consumers.ports import PersonalDataErasedError, invoice_key_id
from domain import bounds
from domain.account import Account, account_id
from domain.calendar import add_months, format_instant, parse_instant
from domain.errors import ErrorCode, Rejected, invalid
from infra.application.handlers import LedgerApplication
from infra.config import Seller
from infra.persistence.ledger_store import LedgerStore
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
from projections.isolation import Failure, ReadModelHaltedError
from projections.privacy_audit import audit
from projections.scheduled_work import WorkDone, work_done

ACCOUNTS = "accounts"  # the read model of account views and the journal
MONTHLY_REPORTS = ("churn", "revenue", "mrr-movements", "vat")


class LedgerQueries:
    app: LedgerApplication
    store: LedgerStore
    seller: Seller | None

    def halted(self) -> list[Failure]:
        """The read models and consumers stopped on an event (projections/isolation.py)."""
        return self.store.isolation.failures()

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
        upto = position if position is not None else (self.app.recorder.max_notification_id() or 0)
        for notification in self._unskipped(
            self.store.account_notifications(account_id(ref), upto)
        ):
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

    def work_since(self, position: int) -> list[WorkDone]:
        """Each account event stored after log position `position`, as a line of what
        scheduled work did (projections/scheduled_work.py), in log order. Another
        process's events stored meanwhile are among them: they happened too."""
        names: dict[str, str] | None = None
        done: list[WorkDone] = []
        start = position + 1
        while True:
            page = self.app.recorder.select_notifications(start, 2000)
            if not page:
                return done
            for notification in page:
                record = self._record(notification)
                if record is None:
                    continue
                if names is None:
                    names = {str(account_id(r)): r for r in self.store.refs()}
                ref = names.get(record.originator_id, record.originator_id)
                done.append(work_done(ref, record))
            start = page[-1].id + 1

    def _log(self, batch: int = 2000) -> Iterator[Any]:
        return notification_log(self.app.recorder, batch)

    def privacy_report(self, as_of: datetime | None = None) -> list[AuditRecord]:
        """GDPR-6 audit of every account (projections/privacy_audit.py)."""
        self._require_views()
        return [audit(doc, as_of) for doc in self.store.docs()]

    def journal(
        self,
        ref: str | None = None,
        *,
        position: int | None = None,
        as_of: datetime | None = None,
        recognise: bool = False,
    ) -> list[JournalLine]:
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
            if (wanted is not None and aid != wanted) or (position is not None and pos > position):
                continue
            if as_of is not None and parse_instant(at) >= as_of:
                continue  # effective before the instant, as in docs_as_of
            lines.append(
                {
                    "position": pos,
                    "line": line,
                    "account": refs.get(aid, aid),
                    "at": at,
                    "debit": debit,
                    "credit": credit,
                    "amount": amount,
                    "memo": memo,
                }
            )
        if recognise and as_of is not None and position is None:
            for aid, doc in sorted(self.docs_as_of(as_of).items()):
                if wanted is not None and aid != wanted:
                    continue
                for invoice in doc["invoices"]:
                    earned = reports.recognised_by(invoice, as_of)
                    if not invoice["void"] and earned:
                        lines.append(
                            {
                                "position": None,
                                "line": invoice["n"],
                                "account": doc["ref"],
                                "at": format_instant(as_of),
                                "debit": "revenue:deferred",
                                "credit": "revenue:recognised",
                                "amount": earned,
                                "memo": f"invoice {invoice['n']} recognised day by day",
                            }
                        )
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

    def report(
        self, name: str, *, as_of: datetime, month: str | None = None
    ) -> Sequence[ReportRow]:
        """A finance report (projections/reports.py) as of an instant, or for a month."""
        if name not in reports.NAMES:
            raise invalid(f"unknown report {name!r}; reports: {', '.join(reports.NAMES)}", "report")
        if month is not None:
            bounds.month(month)
            if name not in MONTHLY_REPORTS:  # never ignored: a month asked is a month shown
                raise invalid(
                    f"the {name} report is as of an instant (at); only "
                    f"{', '.join(MONTHLY_REPORTS)} are for a month",
                    "month",
                )
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

    def report_by_month(
        self, name: str, months: Sequence[str], as_of: datetime
    ) -> list[tuple[str, Sequence[ReportRow]]]:
        """A report for each month (`report --plot`): mrr as it stood at each month's
        end (or `as_of`, within its month), the monthly reports for each month."""
        answers: list[tuple[str, Sequence[ReportRow]]] = []
        for month in months:
            if name == "mrr":
                end = add_months(parse_instant(f"{month}-01T00:00:00Z", "month"), 1)
                answers.append((month, self.report(name, as_of=min(end, as_of))))
            else:
                answers.append((month, self.report(name, as_of=as_of, month=month)))
        return answers

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
            if record.event_type in ("Registered", "PersonalDataUpdated") and record.get("billing"):
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
        return mrr_movements.movements((r for r in records if r is not None), first, until, month)

    def invoice_document(
        self, ref: str, n: int, credit_note: int | None = None, *, position: int | None = None
    ) -> InvoiceDocument:
        """TAX-6: invoice n of the account, or its k-th credit note (`credit_note`, from
        1), as the document an EU invoice must be (`projections.invoice_document`): the
        seller of `[seller]`, the buyer's invoice identity in force when n was issued (shown
        as erased once GDPR-3 erased it; everything else unchanged) and the invoice's
        record. A query: it reads (the read model, or with `position` the account's events
        up to that log position) and records nothing."""
        record = self.invoice_record(ref, n, position=position)
        notes = len(record["credit_notes"])
        if credit_note is not None and not 1 <= credit_note <= notes:
            raise Rejected(
                ErrorCode.UNKNOWN_INVOICE,
                f"invoice {n} of account {ref} has no credit note {credit_note} "
                f"(it has {notes or 'none'})",
                field="credit_note",
            )
        if self.seller is None:
            raise SellerNotConfiguredError(
                "invoice documents name their issuer: the configuration needs [seller] "
                "with name, address and vat_id"
            )
        seller, buyer = asdict(self.seller), record["buyer"]
        options = {
            "account": ref,
            "currency": record["currency"],
            "seller_country": None if self.app.tax is None else self.app.tax.seller_country,
        }
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
            steps.append(
                {
                    "position": notification.id,
                    "version": notification.originator_version,
                    "event": record.event_type,
                    "at": record.at,
                    "recorded_at": record["timestamp"],
                    "status": state["status"],
                    "access": state["access"],
                    "outstanding": state["balance"]["outstanding"],
                }
            )
        if not steps:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        return steps

    def ran_past(self, ref: str, at: datetime) -> str | None:
        """The effective time of the account's latest event when it lies after `at`
        (scheduled work already run past it, a command dated later), else None: the
        view then shows a later state than the one at `at`, which only the account's
        history can give."""
        latest = max((parse_instant(r.at) for _, r in self._account_records(ref)), default=None)
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
            raise Rejected(
                ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r} before {format_instant(as_of)}"
            )
        return observe(doc, as_of)

    def events(self, ref: str) -> list[Any]:
        aid = account_id(ref)
        events = list(self.app.events.get(aid))
        if not events:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}")
        return events

    def head(self) -> int:
        """The log's last position (0 when empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    def account(self, ref: str) -> Account:
        return self.app.account(ref)


def _unfoldable(notification: Any, error: Exception) -> ReadModelHaltedError:
    """What an answer folded from the log met: an event the account views cannot fold."""
    return ReadModelHaltedError(
        [
            Failure(
                ACCOUNTS,
                notification.id,
                f"{notification.originator_id}:{notification.originator_version}",
                notification.topic,
                f"{type(error).__name__}: {error}"[:500],
                "",
            )
        ]
    )


def notification_log(recorder: Any, batch: int = 2000) -> Iterator[Any]:
    """The whole notification log, read in pages."""
    start = 1
    while True:
        page = recorder.select_notifications(start, batch)
        if not page:
            return
        yield from page
        start = page[-1].id + 1
