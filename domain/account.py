"""The `Account` aggregate: one customer's contract, money and personal-data lifecycle.

The account is the consistency boundary of every rule in SPEC sections 1-7: allocation
(PAY-4) spans all of an account's invoices, status precedence (section 8) spans its trial,
subscription and arrears. Public command methods validate and compute (allocations,
refunds, deadlines), then record through private `@event` methods whose bodies only
mutate: they re-run on every replay, so they hold no rule that could change.

Time never comes from a clock here: commands carry `at`, scheduled work is recorded with
the instant it was due (SPEC section 0), whenever the scheduler happens to run it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.account_state import Charge, Invoice, Prepaid, Subscription, Trial
from domain.allocation import Owed, allocate
from domain.bounds import LATEST_INSTANT
from domain.calendar import add_days, add_months, add_years_to_date, started_months
from domain.errors import ErrorCode, Rejected, invalid
from domain.money import percent_of
from domain.pricing import PriceBook
from domain.profiles import STORED_METHODS, TERM_MONTHS, ContractProfile, profile_from_record

ADULT_AGE_YEARS = 18  # ACCOUNT-2

# Order of scheduled work that falls on the same instant: the term boundary first (a
# renewal issues the invoice whose collection settles it), then dunning, then privacy.
_TRIAL_END, _PREPAID, _TERM_END, _REMINDER, _OVERDUE, _INTEREST, _SUSPEND, _INACTIVE, \
    _DELETION, _RETENTION = range(10)


def account_id(ref: str) -> UUID:
    """Account ids are derived from the customer's reference, so duplicates collide."""
    return uuid5(NAMESPACE_URL, f"subledger:/accounts/{ref}")


def _reject(code: ErrorCode, message: str) -> Rejected:
    return Rejected(code, message)


class Account(Aggregate):
    class_version = 1

    # ----------------------------------------------------------------- events
    class Registered(Aggregate.Created):
        class_version = 1
        ref: str
        profile: dict[str, Any]
        currency: str
        at: datetime
        personal: str  # contact: name, email, phone, birth date (sealed)
        billing: str  # invoice identity: billing name and address (sealed), GDPR-3

    class TrialStarted(Aggregate.Event):
        class_version = 1
        plan: str
        at: datetime
        ends_at: datetime

    class TrialEnded(Aggregate.Event):
        class_version = 1
        at: datetime
        outcome: str

    class Subscribed(Aggregate.Event):
        class_version = 1
        plan: str
        term: str
        method: str
        at: datetime
        term_end: datetime
        renews: bool
        discount_percent: str | None

    class InvoiceIssued(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        due_at: datetime
        amount: int
        list_price: int
        discount: int
        kind: str
        period_start: datetime
        period_end: datetime
        collect: bool

    class CollectionRequested(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        amount: int
        reference: str
        method: str

    class CollectionFailed(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        reference: str
        due_at: datetime

    class PaymentReceived(Aggregate.Event):
        class_version = 1
        at: datetime
        amount: int
        reference: str
        via: str
        allocations: list[list[Any]]
        to_credit: int

    class CreditApplied(Aggregate.Event):
        class_version = 1
        at: datetime
        allocations: list[list[Any]]

    class InvoiceOverdue(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime

    class CompensationCharged(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        cid: str
        amount: int

    class InterestCharged(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        cid: str
        amount: int
        month: int
        principal: int

    class CollectionCostRecorded(Aggregate.Event):
        class_version = 1
        at: datetime
        cid: str
        amount: int

    class AccessSuspended(Aggregate.Event):
        class_version = 1
        at: datetime

    class ArrearsCleared(Aggregate.Event):
        class_version = 1
        at: datetime

    class InvoiceDisputed(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        reason: str

    class CancellationRequested(Aggregate.Event):
        class_version = 1
        at: datetime
        ends_at: datetime
        stops_renewal: bool
        rule: str

    class CreditNoteIssued(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        amount: int
        reason: str

    class RefundIssued(Aggregate.Event):
        """`returns` says what the money was: "overpayment" (received on an invoice beyond
        its amount after a credit note; the invoice's paid part goes down) or "proration"
        (CANCEL-3: revenue given back, the invoice untouched)."""

        class_version = 1
        at: datetime
        amount: int
        n: int
        reason: str
        returns: str

    class Renewed(Aggregate.Event):
        class_version = 1
        at: datetime
        term_index: int
        term_end: datetime

    class SubscriptionEnded(Aggregate.Event):
        class_version = 1
        at: datetime
        reason: str

    class PrepaidPurchased(Aggregate.Event):
        class_version = 1
        plan: str
        months: int
        at: datetime
        starts_at: datetime
        ends_at: datetime
        queued: bool
        n: int

    class PrepaidStarted(Aggregate.Event):
        class_version = 1
        at: datetime
        index: int

    class PrepaidEnded(Aggregate.Event):
        class_version = 1
        at: datetime
        index: int

    class QueuedPrepaidCancelled(Aggregate.Event):
        class_version = 1
        at: datetime
        index: int

    class NoticeSent(Aggregate.Event):
        class_version = 1
        kind: str
        at: datetime
        effective_at: datetime
        channel: str
        details: dict[str, Any]

    class NoticeDelivered(Aggregate.Event):
        """A notice (or invoice, refund, dunning letter) left for the customer: which
        event it announced, and how it went. No address: that is personal data."""

        class_version = 1
        notice_id: str
        kind: str
        at: datetime
        channel: str
        outcome: str

    class ActivityRecorded(Aggregate.Event):
        class_version = 1
        at: datetime

    class PersonalDataUpdated(Aggregate.Event):
        class_version = 1
        at: datetime
        personal: str
        billing: str  # "" when the invoice identity did not change

    class InvoiceIdentityRetained(Aggregate.Event):
        """GDPR-3: the contact data is gone, the billing name and address stay on the
        invoices until `until` (the retention of financial records), for `reason`."""

        class_version = 1
        at: datetime
        until: datetime
        reason: str

    class InvoiceIdentityErased(Aggregate.Event):
        class_version = 1
        at: datetime

    class AccountClosed(Aggregate.Event):
        class_version = 1
        at: datetime
        reason: str

    class DataDeletionRequested(Aggregate.Event):
        class_version = 1
        at: datetime
        due_at: datetime

    class ErasureScheduled(Aggregate.Event):
        class_version = 1
        at: datetime
        erase_at: datetime
        reason: str

    class ErasureCancelled(Aggregate.Event):
        class_version = 1
        at: datetime

    class PersonalDataSoftDeleted(Aggregate.Event):
        class_version = 1
        at: datetime
        anonymise_at: datetime

    class PersonalDataAnonymised(Aggregate.Event):
        class_version = 1
        at: datetime

    class PersonalDataErased(Aggregate.Event):
        class_version = 1
        at: datetime
        reason: str

    class PersonalDataExported(Aggregate.Event):
        class_version = 1
        at: datetime

    # ----------------------------------------------------------- registration
    @staticmethod
    def create_id(ref: str, **_: Any) -> UUID:
        return account_id(ref)

    @classmethod
    def register(cls, *, ref: str, profile: ContractProfile, currency: str, at: datetime,
                 personal: str, birth_date: date | None, billing: str = "") -> Account:
        """ACCOUNT-1/2: `personal` (contact) and `billing` (invoice identity) arrive sealed
        under two keys (GDPR-5, GDPR-3); the birth date only for the check."""
        if birth_date is not None:
            if birth_date > at.date():
                raise invalid("birth_date is after the registration date", "birth_date")
            if add_years_to_date(birth_date, ADULT_AGE_YEARS) > at.date():
                raise _reject(ErrorCode.UNDERAGE,
                              f"registrants must be {ADULT_AGE_YEARS} or older")
        return cls(ref=ref, profile=profile.as_dict(), currency=currency, at=at,
                   personal=personal, billing=billing)

    @event(Registered)
    def __init__(self, ref: str, profile: dict[str, Any], currency: str, at: datetime,
                 personal: str, billing: str) -> None:
        self.ref = ref
        self.profile: ContractProfile = profile_from_record(profile)
        self.currency = currency
        self.registered_at = at
        self.last_activity_at = at
        self.personal = personal
        self.personal_state = "present"
        self.billing = billing
        self.billing_state = "present" if billing else "none"  # "retained", "erased"
        self.billing_erase_at: datetime | None = None
        self.trial: Trial | None = None
        self.subscription: Subscription | None = None
        self.prepaid: list[Prepaid] = []
        self.invoices: dict[int, Invoice] = {}
        self.charges: dict[str, Charge] = {}
        self.charge_seq = 0
        self.credit = 0
        self.references: dict[str, str] = {}
        self.past_due_since: datetime | None = None
        self.suspended = False
        self.price_notices: list[tuple[datetime, datetime]] = []  # (sent_at, effective_at)
        self.closed_at: datetime | None = None
        self.deletion_due_at: datetime | None = None
        self.erase_at: datetime | None = None
        self.anonymise_at: datetime | None = None
        self.delivered: set[str] = set()  # ids of the events whose notice went out

    # ------------------------------------------------------------ queries
    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def new_references(self) -> list[tuple[str, str]]:
        """Outside payment references booked by the events not yet saved, as (reference,
        via): what the application claims in the same transaction
        (domain/reference_claim.py). A collection's reference is made by the ledger, one
        per invoice, and booked under the account's own version check."""
        return [(pending.reference, pending.via) for pending in self.pending_events
                if isinstance(pending, Account.PaymentReceived)
                and pending.via != "collection"]

    def live_subscription(self) -> Subscription | None:
        sub = self.subscription
        return sub if sub is not None and sub.live else None

    def active_prepaid(self) -> Prepaid | None:
        return next((p for p in self.prepaid if p.state == "active"), None)

    def queued_prepaid(self) -> list[Prepaid]:
        return [p for p in self.prepaid if p.state == "queued"]

    def live_trial(self) -> Trial | None:
        return self.trial if self.trial is not None and self.trial.live else None

    def has_live_contract(self) -> bool:
        return self.live_subscription() is not None or self.active_prepaid() is not None

    def outstanding(self) -> int:
        return sum(i.unpaid for i in self.invoices.values()) + \
            sum(c.unpaid for c in self.charges.values())

    def overdue_owed(self) -> int:
        """PAY-2: what must be paid for access to come back."""
        return sum(i.unpaid for i in self.invoices.values() if i.overdue) + \
            sum(c.unpaid for c in self.charges.values())

    def open_disputes(self) -> list[int]:
        return [i.n for i in self.invoices.values()
                if i.disputed and i.unpaid > 0 and not i.void]

    # ------------------------------------------------------------ guards
    def ensure_open(self) -> None:
        """ACCOUNT-6: every command on a closed account is refused."""
        if self.is_closed:
            raise _reject(ErrorCode.ACCOUNT_CLOSED, f"account {self.ref} is closed")

    # ------------------------------------------------------------ trials
    def start_trial(self, *, plan: str, at: datetime, book: PriceBook) -> None:
        self.ensure_open()
        days = self.profile.trial_days
        if days is None:  # TRIAL-2
            raise _reject(ErrorCode.TRIAL_NOT_OFFERED,
                          f"the {self.profile.name} contract offers no trial")
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        if self.trial is not None:  # TRIAL-1
            raise _reject(ErrorCode.TRIAL_ALREADY_USED, "this account has had its one trial")
        if self.has_live_contract():
            raise _reject(ErrorCode.ALREADY_SUBSCRIBED, "the account already has a subscription")
        self._trial_started(plan=plan, at=at, ends_at=add_days(at, days))

    @event(TrialStarted)
    def _trial_started(self, plan: str, at: datetime, ends_at: datetime) -> None:
        self.trial = Trial(plan=plan, started_at=at, ends_at=ends_at)
        self.last_activity_at = at

    @event(TrialEnded)
    def _trial_ended(self, at: datetime, outcome: str) -> None:
        if self.trial is not None:
            self.trial.live = False
            if outcome in ("converted", "cancelled", "closed"):
                self.trial.ends_at = min(self.trial.ends_at, at)
        if outcome == "cancelled":  # the customer's own command (ACCOUNT-3 activity)
            self.last_activity_at = at

    # ---------------------------------------------------------- subscribing
    def subscribe(self, *, plan: str, term: str, method: str, at: datetime, book: PriceBook,
                  discount_percent: Decimal | None = None) -> None:
        """TERM-1..5, TRIAL-4: the first term and its invoice start at `at`."""
        self.ensure_open()
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        price = book.price(plan, term, at)
        if not self.profile.offers_term(term) or price is None:
            raise _reject(ErrorCode.TERM_NOT_OFFERED,
                          f"the {self.profile.name} contract does not offer {term!r} "
                          f"terms for plan {plan!r}")
        if self.has_live_contract():
            raise _reject(ErrorCode.ALREADY_SUBSCRIBED, "the account already has a subscription")
        self._cancel_pending_erasure(at)
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="converted")  # TRIAL-4
        months = TERM_MONTHS[term]
        renews = self.profile.auto_renew == "always" or method in STORED_METHODS  # RENEW-2
        term_end = add_months(at, months)
        self._subscribed(plan=plan, term=term, method=method, at=at, term_end=term_end,
                         renews=renews,
                         discount_percent=None if discount_percent is None
                         else str(discount_percent))
        # SPEC 0: the computed charge (the discounted price) rounds half-up, once
        charged = price if discount_percent is None \
            else percent_of(price, Decimal(100) - discount_percent)
        discount = price - charged
        self._issue_invoice(at=at, list_price=price, discount=discount, kind="subscription",
                            period_start=at, period_end=term_end, method=method)

    @event(Subscribed)
    def _subscribed(self, plan: str, term: str, method: str, at: datetime, term_end: datetime,
                    renews: bool, discount_percent: str | None) -> None:
        self.subscription = Subscription(
            plan=plan, term=term, months=TERM_MONTHS[term], method=method, anchor=at,
            renews=renews, term_start=at, term_end=term_end, invoice=len(self.invoices) + 1)
        self.last_activity_at = at

    def _issue_invoice(self, *, at: datetime, list_price: int, discount: int, kind: str,
                       period_start: datetime, period_end: datetime, method: str) -> int:
        """TERM-2..4: invoice at the term's start; stored methods are collected at once."""
        n = len(self.invoices) + 1
        amount = list_price - discount
        collect = method in STORED_METHODS and amount > 0
        due_at = at if collect else add_days(at, self.profile.payment_terms_days)
        self._invoice_issued(n=n, at=at, due_at=due_at, amount=amount, list_price=list_price,
                             discount=discount, kind=kind, period_start=period_start,
                             period_end=period_end, collect=collect)
        self._apply_credit(at)  # PAY-1: credit is set off against every later charge
        invoice = self.invoices[n]
        if collect and invoice.unpaid > 0:
            self._collection_requested(n=n, at=at, amount=invoice.unpaid,
                                       reference=f"collect:{self.ref}:{n}", method=method)
        return n

    @event(InvoiceIssued)
    def _invoice_issued(self, n: int, at: datetime, due_at: datetime, amount: int,
                        list_price: int, discount: int, kind: str, period_start: datetime,
                        period_end: datetime, collect: bool) -> None:
        self.invoices[n] = Invoice(n=n, issued_at=at, due_at=due_at, amount=amount, kind=kind,
                                   period_start=period_start, period_end=period_end)

    @event(CollectionRequested)
    def _collection_requested(self, n: int, at: datetime, amount: int, reference: str,
                              method: str) -> None:
        self.invoices[n].collection = "pending"

    # ------------------------------------------------------------ prepaid
    def purchase_prepaid(self, *, plan: str, months: int, method: str, at: datetime,
                         book: PriceBook) -> None:
        """TERM-6: paid in full at purchase; queued behind an unexpired package."""
        self.ensure_open()
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        price = book.prepaid_price(plan, months, at) if self.profile.prepaid else None
        if price is None:
            raise _reject(ErrorCode.TERM_NOT_OFFERED,
                          f"the {self.profile.name} contract offers no {months}-month "
                          f"prepaid package for plan {plan!r}")
        if self.live_subscription() is not None:
            raise _reject(ErrorCode.ALREADY_SUBSCRIBED, "the account has a running subscription")
        pending = [p for p in self.prepaid if p.state in ("active", "queued")]
        starts_at = max(p.ends_at for p in pending) if pending else at
        ends_at = add_months(starts_at, months)
        if ends_at >= LATEST_INSTANT:  # queued packages chain: bounded like any instant
            raise invalid(f"the package would run past {LATEST_INSTANT.date()}", "months")
        self._cancel_pending_erasure(at)
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="converted")
        n = len(self.invoices) + 1
        self._prepaid_purchased(plan=plan, months=months, at=at, starts_at=starts_at,
                                ends_at=ends_at, queued=bool(pending), n=n)
        self._issue_invoice(at=at, list_price=price, discount=0, kind="prepaid",
                            period_start=starts_at, period_end=ends_at, method=method)

    @event(PrepaidPurchased)
    def _prepaid_purchased(self, plan: str, months: int, at: datetime, starts_at: datetime,
                           ends_at: datetime, queued: bool, n: int) -> None:
        self.prepaid.append(Prepaid(index=len(self.prepaid), plan=plan, months=months,
                                    starts_at=starts_at, ends_at=ends_at, invoice=n,
                                    state="queued" if queued else "active"))
        self.last_activity_at = at

    def cancel_queued(self, *, at: datetime) -> None:
        """TERM-6: a queued package is refunded in full until it starts."""
        self.ensure_open()
        queued = self.queued_prepaid()
        if not queued:
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "no queued prepaid package")
        for package in queued:
            self._queued_cancelled(at=at, index=package.index)
            invoice = self.invoices[package.invoice]
            if invoice.amount > 0:
                self._credit_note(n=invoice.n, at=at, amount=invoice.amount,
                                  reason="queued_prepaid_cancelled")
            refund = invoice.paid - invoice.amount  # all of it, once the invoice is void
            if refund > 0:
                self._refund(at=at, amount=refund, n=invoice.n,
                             reason="queued_prepaid_cancelled", returns="overpayment")
        self._settle_arrears(at)

    @event(QueuedPrepaidCancelled)
    def _queued_cancelled(self, at: datetime, index: int) -> None:
        self.prepaid[index].state = "cancelled"
        self.last_activity_at = at

    @event(PrepaidStarted)
    def _prepaid_started(self, at: datetime, index: int) -> None:
        self.prepaid[index].state = "active"

    @event(PrepaidEnded)
    def _prepaid_ended(self, at: datetime, index: int) -> None:
        self.prepaid[index].state = "ended"

    # ------------------------------------------------------------ money
    def _owed(self) -> list[Owed]:
        owed = [Owed(i.cid, "principal", i.n, i.unpaid) for i in self.invoices.values()
                if not i.void]
        owed += [Owed(c.cid, c.kind, c.seq, c.unpaid) for c in self.charges.values()]
        return owed

    def record_payment(self, *, amount: int, reference: str, at: datetime,
                       via: str = "manual") -> bool:
        """PAY-1/PAY-4; returns False when the reference was already booked (a no-op)."""
        self.ensure_open()
        if amount <= 0:
            raise _reject(ErrorCode.INVALID_AMOUNT, "a payment must be greater than zero")
        if not reference:
            raise invalid("a payment needs a reference", "reference")
        if reference in self.references:
            return False
        lines, rest = allocate(amount, self._owed(), self.profile.allocation_order)
        self._payment_received(at=at, amount=amount, reference=reference, via=via,
                               allocations=[[cid, part] for cid, part in lines], to_credit=rest)
        self._settle_arrears(at)
        return True

    @event(PaymentReceived)
    def _payment_received(self, at: datetime, amount: int, reference: str, via: str,
                          allocations: list[list[Any]], to_credit: int) -> None:
        self._settle(allocations)
        self.credit += to_credit
        self.references[reference] = via
        collected = self._collected_invoice(reference)
        if collected is not None and collected.collection == "pending":
            collected.collection = "approved"
        if via == "manual":
            self.last_activity_at = at

    def _settle(self, allocations: list[list[Any]]) -> None:
        for cid, part in allocations:
            if cid.startswith("inv:"):
                self.invoices[int(cid[4:])].paid += part
            else:
                self.charges[cid].paid += part

    def _apply_credit(self, at: datetime) -> None:
        if self.credit <= 0:
            return
        lines, _ = allocate(self.credit, self._owed(), self.profile.allocation_order)
        if lines:
            self._credit_applied(at=at, allocations=[[cid, part] for cid, part in lines])

    @event(CreditApplied)
    def _credit_applied(self, at: datetime, allocations: list[list[Any]]) -> None:
        self._settle(allocations)
        self.credit -= sum(part for _, part in allocations)

    def collection_succeeded(self, *, reference: str, at: datetime) -> bool:
        """The payment provider collected a `CollectionRequested` (TERM-3)."""
        invoice = self._collected_invoice(reference)
        if invoice is None or reference in self.references or invoice.collection != "pending":
            return False
        amount = invoice.unpaid
        if amount <= 0:
            return False
        return self.record_payment(amount=amount, reference=reference, at=at, via="collection")

    def collection_failed(self, *, reference: str, at: datetime) -> bool:
        """TERM-4: a failed collection makes the invoice due `payment_terms_days` later."""
        invoice = self._collected_invoice(reference)
        if invoice is None or invoice.collection != "pending" or reference in self.references:
            return False
        self._collection_failed(n=invoice.n, at=at, reference=reference,
                                due_at=add_days(invoice.issued_at,
                                                self.profile.payment_terms_days))
        return True

    def _collected_invoice(self, reference: str) -> Invoice | None:
        prefix = f"collect:{self.ref}:"
        if not reference.startswith(prefix):
            return None
        try:
            return self.invoices.get(int(reference[len(prefix):]))
        except ValueError:
            return None

    @event(CollectionFailed)
    def _collection_failed(self, n: int, at: datetime, reference: str, due_at: datetime) -> None:
        invoice = self.invoices[n]
        invoice.collection = "declined"
        invoice.due_at = due_at
        self.references[reference] = "declined"

    def record_collection_cost(self, *, amount: int, at: datetime) -> None:
        """PAY-5: collection costs the vendor paid, owed first under PAY-4."""
        self.ensure_open()
        if not self.profile.collection_costs:
            raise invalid(f"the {self.profile.name} contract has no collection costs", "do")
        if amount <= 0:
            raise _reject(ErrorCode.INVALID_AMOUNT, "a collection cost must be greater than zero")
        self._collection_cost(at=at, cid=f"cost:{self.charge_seq + 1}", amount=amount)
        self._apply_credit(at)

    @event(CollectionCostRecorded)
    def _collection_cost(self, at: datetime, cid: str, amount: int) -> None:
        self._add_charge(cid, "collection_cost", amount, None)

    def _add_charge(self, cid: str, kind: str, amount: int, invoice: int | None) -> None:
        self.charge_seq += 1
        self.charges[cid] = Charge(cid=cid, kind=kind, amount=amount, seq=self.charge_seq,
                                   invoice=invoice)

    def _settle_arrears(self, at: datetime) -> None:
        """PAY-2: paying everything overdue restores access at once."""
        if self.past_due_since is not None and self.overdue_owed() == 0:
            self._arrears_cleared(at=at)

    @event(ArrearsCleared)
    def _arrears_cleared(self, at: datetime) -> None:
        self.past_due_since = None
        self.suspended = False
        for invoice in self.invoices.values():
            if invoice.unpaid == 0:
                invoice.overdue = False

    def dispute_invoice(self, *, n: int, reason: str, at: datetime) -> None:
        """PAY-6: within the window after issue; the invoice stays due."""
        self.ensure_open()
        invoice = self.invoices.get(n)
        if invoice is None:
            raise _reject(ErrorCode.UNKNOWN_INVOICE, f"account {self.ref} has no invoice {n}")
        if at > add_days(invoice.issued_at, self.profile.dispute_window_days):
            raise _reject(ErrorCode.DISPUTE_WINDOW_CLOSED,
                          f"invoice {n} can be disputed within "
                          f"{self.profile.dispute_window_days} days of its issue")
        self._disputed(n=n, at=at, reason=reason)

    @event(InvoiceDisputed)
    def _disputed(self, n: int, at: datetime, reason: str) -> None:
        self.invoices[n].disputed = True
        self.last_activity_at = at

    @event(CreditNoteIssued)
    def _credit_note(self, n: int, at: datetime, amount: int, reason: str) -> None:
        invoice = self.invoices[n]
        invoice.amount -= amount
        if invoice.amount == 0:
            invoice.void = True

    @event(RefundIssued)
    def _refund(self, at: datetime, amount: int, n: int, reason: str, returns: str) -> None:
        invoice = self.invoices[n]
        invoice.refunded += amount
        if returns == "overpayment":
            invoice.paid -= amount

    # ---------------------------------------------------------- cancelling
    def request_cancellation(self, *, at: datetime, book: PriceBook) -> None:
        """CANCEL-1..4 (CANCEL-2: no refund unless the term is prorated), RENEW-4, PRICE-4,
        TRIAL-5."""
        self.ensure_open()
        trial = self.live_trial()
        if trial is not None:
            if not self.profile.trial_cancellable:  # TRIAL-5
                raise _reject(ErrorCode.TRIAL_NOT_CANCELLABLE, "this trial cannot be cancelled")
            self._trial_ended(at=at, outcome="cancelled")
            return
        sub = self.live_subscription()
        if sub is None:
            if self.active_prepaid() is not None or self.queued_prepaid():  # TERM-6
                raise _reject(ErrorCode.PREPAID_NOT_CANCELLABLE,
                              "prepaid packages cannot be cancelled (queued ones: cancel_queued)")
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "nothing live to cancel")
        if sub.cancel_requested_at is not None:
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "a cancellation is already pending")
        assert sub.term_start is not None and sub.term_end is not None
        if sub.term in self.profile.prorated_refund_terms:
            self._cancel_prorated(sub, at, book)
            return
        ends_at, stops, rule = sub.term_end, True, "CANCEL-1"
        cutoff_days = self.profile.cancellation_cutoff_days
        if cutoff_days is not None and at > add_days(sub.term_end, -cutoff_days):
            if self._within_price_opt_out(at):
                rule = "PRICE-4"
            else:  # RENEW-4: too late to stop the coming renewal
                ends_at = add_months(sub.anchor, (sub.term_index + 2) * sub.months)
                stops, rule = False, "RENEW-4"
        self._cancellation_requested(at=at, ends_at=ends_at, stops_renewal=stops, rule=rule)

    def _within_price_opt_out(self, at: datetime) -> bool:
        days = self.profile.price_opt_out_days
        if days is None:
            return False
        return any(sent <= at <= add_days(effective, days)
                   for sent, effective in self.price_notices)

    def _cancel_prorated(self, sub: Subscription, at: datetime, book: PriceBook) -> None:
        """CANCEL-3: the customer owes the monthly price of each started month."""
        assert sub.term_start is not None and sub.term_end is not None
        invoice = self.invoices[sub.invoice]
        started = started_months(sub.term_start, at)
        monthly = book.price(sub.plan, "monthly", sub.term_start)
        owed = invoice.amount if monthly is None else min(invoice.amount, started * monthly)
        ends_at = min(add_months(sub.term_start, started), sub.term_end)
        self._cancellation_requested(at=at, ends_at=ends_at, stops_renewal=True, rule="CANCEL-3")
        received = invoice.paid
        keep = max(owed, received)
        if invoice.amount > received and invoice.amount > keep:
            self._credit_note(n=invoice.n, at=at, amount=invoice.amount - keep,
                              reason="CANCEL-3")
        refund = max(0, received - owed - invoice.refunded)
        if refund > 0:
            self._refund(at=at, amount=refund, n=invoice.n, reason="CANCEL-3",
                         returns="proration")
        self._settle_arrears(at)

    @event(CancellationRequested)
    def _cancellation_requested(self, at: datetime, ends_at: datetime, stops_renewal: bool,
                                rule: str) -> None:
        sub = self.subscription
        if sub is not None:
            sub.cancel_requested_at = at
            sub.ends_at = ends_at
        self.last_activity_at = at

    # ---------------------------------------------------------- price notices
    def notify_price_change(self, *, plan: str, term: str, new_price: int,
                            effective_at: datetime, at: datetime, notice_effective_at: datetime,
                            channel: str) -> bool:
        """PRICE-1: only accounts whose live subscription is on that plan and term."""
        sub = self.live_subscription()
        if self.is_closed or sub is None or sub.plan != plan or sub.term != term:
            return False
        self._notice(kind="price_change", at=at, effective_at=notice_effective_at,
                     channel=channel, details={"plan": plan, "term": term,
                                               "new_price": new_price,
                                               "price_effective_at": effective_at.isoformat()})
        return True

    @event(NoticeSent)
    def _notice(self, kind: str, at: datetime, effective_at: datetime, channel: str,
                details: dict[str, Any]) -> None:
        if kind == "price_change":
            self.price_notices.append((at, effective_at))
        elif kind == "renewal_reminder" and self.subscription is not None:
            self.subscription.reminded_for = self.subscription.term_end

    # ---------------------------------------------------------- notices
    def record_notice_delivery(self, *, notice_id: str, kind: str, at: datetime,
                               channel: str, outcome: str) -> bool:
        """The delivery of one notice, once; False when it was recorded before (a
        redelivered event). Recorded on a closed account too: it is the ledger's own
        record of what it sent, not the customer's command."""
        if not notice_id:
            raise invalid("a delivery names the notice it delivered", "notice_id")
        if notice_id in self.delivered:
            return False
        self._notice_delivered(notice_id=notice_id, kind=kind, at=at, channel=channel,
                               outcome=outcome)
        return True

    @event(NoticeDelivered)
    def _notice_delivered(self, notice_id: str, kind: str, at: datetime, channel: str,
                          outcome: str) -> None:
        self.delivered.add(notice_id)

    # ---------------------------------------------------------- personal data
    def record_activity(self, *, at: datetime) -> None:
        self.ensure_open()
        self._activity(at=at)

    @event(ActivityRecorded)
    def _activity(self, at: datetime) -> None:
        self.last_activity_at = at

    def update_personal_data(self, *, at: datetime, personal: str, billing: str = "") -> None:
        self.ensure_open()
        if self.personal_state in ("erased", "anonymised"):
            raise invalid("this account's personal data was erased", "account")
        self._personal_updated(at=at, personal=personal, billing=billing)

    @event(PersonalDataUpdated)
    def _personal_updated(self, at: datetime, personal: str, billing: str) -> None:
        self.personal = personal
        if billing:
            self.billing = billing
        self.last_activity_at = at

    # ---------------------------------------------------------- invoice identity (GDPR-3)
    def _invoice_identity_until(self, at: datetime) -> datetime:
        """Financial records are kept `financial_retention_years` after the last one."""
        last = max((i.issued_at for i in self.invoices.values()), default=at)
        return add_months(last, 12 * self.profile.financial_retention_years)

    def _retain_invoice_identity(self, at: datetime) -> None:
        if self.billing_state == "present" and not self.invoices:
            self._identity_erased(at=at)  # no invoice carries it: nothing to keep
        elif self.billing_state == "present":
            years = self.profile.financial_retention_years
            self._identity_retained(
                at=at, until=self._invoice_identity_until(at),
                reason=f"GDPR-3: invoices keep the billing name and address for {years} "
                       "years after the last one (accounting law); the contact data is gone")

    @event(InvoiceIdentityRetained)
    def _identity_retained(self, at: datetime, until: datetime, reason: str) -> None:
        self.billing_state = "retained"
        self.billing_erase_at = until

    def _invoice_identity_due(self, at: datetime, _book: PriceBook) -> None:
        """At the end of retention: erase, unless a later invoice extended it."""
        until = self._invoice_identity_until(at)
        if self.billing_erase_at is not None and until > self.billing_erase_at:
            self._identity_retained(at=at, until=until, reason="a later invoice extends "
                                    "the retention of financial records (GDPR-3)")
        else:
            self._identity_erased(at=at)

    @event(InvoiceIdentityErased)
    def _identity_erased(self, at: datetime) -> None:
        self.billing_state = "erased"
        self.billing_erase_at = None

    def request_data_deletion(self, *, at: datetime) -> None:
        """GDPR-1: the deadline is recorded for the audit, and the contact data is erased
        at once (well before it); the invoice identity is retained (GDPR-3)."""
        self.ensure_open()
        if self.personal_state in ("erased", "anonymised"):
            return  # nothing left to erase: the earlier request's record stands
        self._deletion_requested(at=at, due_at=self.profile.deletion_deadline.after(at))
        self._erase(at, "deletion_request")

    @event(DataDeletionRequested)
    def _deletion_requested(self, at: datetime, due_at: datetime) -> None:
        self.deletion_due_at = due_at
        self.last_activity_at = at

    def export_personal_data(self, *, at: datetime) -> None:
        """GDPR-4: the export itself is recorded for the audit trail (GDPR-6)."""
        self.ensure_open()
        self._exported(at=at)

    @event(PersonalDataExported)
    def _exported(self, at: datetime) -> None:
        self.last_activity_at = at

    def _cancel_pending_erasure(self, at: datetime) -> None:
        """GDPR-2: a new subscription in the retention period cancels that erasure."""
        if self.erase_at is not None or self.anonymise_at is not None:
            self._erasure_cancelled(at=at)

    @event(ErasureCancelled)
    def _erasure_cancelled(self, at: datetime) -> None:
        self.erase_at = None
        self.anonymise_at = None
        if self.personal_state == "soft_deleted":
            self.personal_state = "present"

    @event(ErasureScheduled)
    def _erasure_scheduled(self, at: datetime, erase_at: datetime, reason: str) -> None:
        self.erase_at = erase_at

    @event(PersonalDataSoftDeleted)
    def _soft_deleted(self, at: datetime, anonymise_at: datetime) -> None:
        self.personal_state = "soft_deleted"
        self.anonymise_at = anonymise_at

    def _anonymise(self, at: datetime, _book: PriceBook) -> None:
        self._anonymised(at=at)
        self._retain_invoice_identity(at)

    @event(PersonalDataAnonymised)
    def _anonymised(self, at: datetime) -> None:
        self.personal_state = "anonymised"
        self.anonymise_at = None
        self.erase_at = None

    @event(PersonalDataErased)
    def _erased(self, at: datetime, reason: str) -> None:
        self.personal_state = "erased"
        self.erase_at = None
        self.anonymise_at = None

    def _erase(self, at: datetime, reason: str) -> None:
        if self.personal_state not in ("erased", "anonymised"):
            self._erased(at=at, reason=reason)
            self._retain_invoice_identity(at)

    def _relationship_ended(self, at: datetime) -> None:
        """GDPR-2 retention once nothing is live any more (a subscription ended)."""
        policy = self.profile.retention
        if policy == "erase_after_end" and self.erase_at is None \
                and self.personal_state == "present":
            self._erasure_scheduled(at=at, erase_at=self.profile.retention_period.after(at),
                                    reason="GDPR-2")
        elif policy == "soft_delete_then_anonymise" and self.personal_state == "present":
            self._soft_deleted(at=at, anonymise_at=self.profile.retention_period.after(at))

    # ---------------------------------------------------------- closing
    def closure_obstacles(self, at: datetime) -> list[str]:
        """ACCOUNT-4: every reason that applies, in a stable order."""
        reasons = []
        if at < add_days(self.registered_at, self.profile.closure_min_age_days):
            reasons.append("too_new")
        if self.outstanding() > 0 or self.credit > 0:
            reasons.append("balance")
        if any(i.unpaid > 0 and not i.void for i in self.invoices.values()):
            reasons.append("open_invoices")
        if self.has_live_contract() or self.queued_prepaid() or self.live_trial() is not None:
            reasons.append("active_subscription")  # a live trial too: TRIAL-5 forbids ending it
        if self.open_disputes():
            reasons.append("dispute")
        return reasons

    def request_account_closure(self, *, at: datetime) -> None:
        self.ensure_open()
        reasons = self.closure_obstacles(at)
        if reasons:
            raise Rejected(ErrorCode.CLOSURE_REJECTED,
                           "the account cannot be closed: " + ", ".join(reasons),
                           reasons=tuple(reasons))
        self._closed(at=at, reason="customer_request")
        self._privacy_at_closure(at)

    def _privacy_at_closure(self, at: datetime) -> None:
        policy = self.profile.retention
        if policy == "erase_at_closure":  # GDPR-2 monthly-autorenew, device-cloud
            self._erase(at, "closure")
        elif policy == "erase_after_end":  # crm: termination is the earlier of the two
            if self.personal_state == "present" and (
                    self.erase_at is None
                    or self.erase_at > self.profile.retention_period.after(at)):
                self._erasure_scheduled(at=at,
                                        erase_at=self.profile.retention_period.after(at),
                                        reason="GDPR-2")
        elif self.personal_state == "present":
            self._soft_deleted(at=at, anonymise_at=self.profile.retention_period.after(at))

    @event(AccountClosed)
    def _closed(self, at: datetime, reason: str) -> None:
        self.closed_at = at

    # ------------------------------------------------------------ scheduled work
    def _work(self) -> list[tuple[datetime, int, Callable[[datetime, PriceBook], None]]]:
        """Every deadline this account has, derived from its state."""
        work: list[tuple[datetime, int, Callable[[datetime, PriceBook], None]]] = []
        privacy = self._privacy_work()
        if self.is_closed:
            return privacy
        trial = self.live_trial()
        if trial is not None:
            work.append((trial.ends_at, _TRIAL_END, self._expire_trial))
        active = self.active_prepaid()
        if active is not None:
            work.append((active.ends_at, _PREPAID, self._roll_prepaid))
        sub = self.live_subscription()
        if sub is not None and sub.term_end is not None:
            end = sub.ends_at if sub.ends_at is not None and sub.ends_at <= sub.term_end \
                else sub.term_end
            work.append((end, _TERM_END, self._term_boundary))
            reminder = self._reminder_due(sub)
            if reminder is not None:
                work.append((reminder, _REMINDER, self._send_reminder))
        for invoice in self.invoices.values():
            if invoice.void or invoice.unpaid == 0:
                continue
            if not invoice.overdue and invoice.collection != "pending":
                work.append((invoice.due_at, _OVERDUE, self._overdue_action(invoice.n)))
            elif invoice.overdue and self.profile.late_interest_percent is not None:
                at = add_months(invoice.due_at, invoice.interest_next)
                work.append((at, _INTEREST, self._interest_action(invoice.n)))
        if self.past_due_since is not None and not self.suspended:
            work.append((add_days(self.past_due_since, self.profile.suspend_after_days),
                         _SUSPEND, self._suspend))
        if self.profile.inactivity is not None:
            work.append((self.profile.inactivity.after(self.last_activity_at), _INACTIVE,
                         self._close_inactive))
        return work + privacy

    def _privacy_work(self) -> list[tuple[datetime, int, Callable[[datetime, PriceBook], None]]]:
        work: list[tuple[datetime, int, Callable[[datetime, PriceBook], None]]] = []
        if self.billing_erase_at is not None:
            work.append((self.billing_erase_at, _RETENTION, self._invoice_identity_due))
        if self.personal_state in ("erased", "anonymised"):
            return work
        if self.deletion_due_at is not None:  # requests recorded before erasure-at-once
            work.append((self.deletion_due_at, _DELETION,
                         lambda at, _b: self._erase(at, "deletion_request")))
        if self.erase_at is not None:
            work.append((self.erase_at, _RETENTION, lambda at, _b: self._erase(at, "retention")))
        if self.anonymise_at is not None:
            work.append((self.anonymise_at, _RETENTION, self._anonymise))
        return work

    def next_deadline(self) -> datetime | None:
        work = self._work()
        return min(w[0] for w in work) if work else None

    def run_due(self, *, before: datetime, book: PriceBook) -> datetime | None:
        """Run the one earliest piece of work due strictly before `before`.

        One piece at a time so that the scheduler can let the consequences (a collection
        answered by the payment provider) land before the next piece is chosen.
        """
        work = [w for w in self._work() if w[0] < before]
        if not work:
            return None
        at, _, action = min(work, key=lambda w: (w[0], w[1]))
        action(at, book)
        return at

    def _expire_trial(self, at: datetime, _book: PriceBook) -> None:
        self._trial_ended(at=at, outcome="expired")  # TRIAL-3

    def _roll_prepaid(self, at: datetime, _book: PriceBook) -> None:
        active = self.active_prepaid()
        assert active is not None
        self._prepaid_ended(at=at, index=active.index)
        following = next((p for p in self.queued_prepaid() if p.starts_at <= at), None)
        if following is not None:
            self._prepaid_started(at=at, index=following.index)
        elif not self.has_live_contract():
            self._relationship_ended(at)

    def _term_boundary(self, at: datetime, book: PriceBook) -> None:
        """RENEW-1/2: renew at the price in force, or end."""
        sub = self.live_subscription()
        assert sub is not None and sub.term_end is not None
        if sub.ends_at is not None and sub.ends_at <= at:
            self._subscription_ended(at=at, reason="cancelled")
        elif not sub.renews:
            self._subscription_ended(at=at, reason="not_renewed")
        else:
            price = book.price(sub.plan, sub.term, at)
            if price is None:
                self._subscription_ended(at=at, reason="plan_withdrawn")
            else:
                index = sub.term_index + 1
                term_end = add_months(sub.anchor, (index + 1) * sub.months)
                self._renewed(at=at, term_index=index, term_end=term_end)
                self._issue_invoice(at=at, list_price=price, discount=0, kind="renewal",
                                    period_start=at, period_end=term_end, method=sub.method)
                return
        if not self.has_live_contract():
            self._relationship_ended(at)

    @event(Renewed)
    def _renewed(self, at: datetime, term_index: int, term_end: datetime) -> None:
        sub = self.subscription
        assert sub is not None
        sub.term_index = term_index
        sub.term_start = at
        sub.term_end = term_end
        sub.invoice = len(self.invoices) + 1

    @event(SubscriptionEnded)
    def _subscription_ended(self, at: datetime, reason: str) -> None:
        if self.subscription is not None:
            self.subscription.live = False
            self.subscription.ends_at = at

    def _reminder_due(self, sub: Subscription) -> datetime | None:
        """RENEW-3: only for a term that will renew, and once per term."""
        days = self.profile.renewal_reminder_days
        if days is None or sub.months < self.profile.renewal_reminder_min_months:
            return None
        if not sub.renews or sub.ends_at is not None or sub.term_end is None \
                or sub.reminded_for == sub.term_end:
            return None
        at = add_days(sub.term_end, -days)
        return at if sub.term_start is not None and at >= sub.term_start else None

    def _send_reminder(self, at: datetime, book: PriceBook) -> None:
        sub = self.live_subscription()
        assert sub is not None and sub.term_end is not None
        price = book.price(sub.plan, sub.term, sub.term_end)
        self._notice(kind="renewal_reminder", at=at, effective_at=at, channel="email",
                     details={"plan": sub.plan, "term": sub.term,
                              "renews_at": sub.term_end.isoformat(),
                              "price": price})

    def _overdue_action(self, n: int) -> Callable[[datetime, PriceBook], None]:
        def run(at: datetime, _book: PriceBook) -> None:
            self._mark_overdue(n, at)
        return run

    def _mark_overdue(self, n: int, at: datetime) -> None:
        """PAY-2 overdue; PAY-3 fixed compensation once, when first overdue."""
        invoice = self.invoices[n]
        self._invoice_overdue(n=n, at=at)
        pct = self.profile.late_fee_percent
        if pct is not None and not invoice.compensated:
            fee = max(percent_of(invoice.amount, pct), self.profile.late_fee_min_minor)
            self._compensation(n=n, at=at, cid=f"comp:{n}", amount=fee)
            self._apply_credit(at)

    @event(InvoiceOverdue)
    def _invoice_overdue(self, n: int, at: datetime) -> None:
        self.invoices[n].overdue = True
        if self.past_due_since is None:
            self.past_due_since = at

    @event(CompensationCharged)
    def _compensation(self, n: int, at: datetime, cid: str, amount: int) -> None:
        self.invoices[n].compensated = True
        self._add_charge(cid, "compensation", amount, n)

    def _interest_action(self, n: int) -> Callable[[datetime, PriceBook], None]:
        def run(at: datetime, _book: PriceBook) -> None:
            invoice = self.invoices[n]
            pct = self.profile.late_interest_percent
            assert pct is not None
            principal = invoice.unpaid
            self._interest(n=n, at=at, cid=f"int:{n}:{invoice.interest_next}",
                           amount=percent_of(principal, pct), month=invoice.interest_next,
                           principal=principal)
            self._apply_credit(at)
        return run

    @event(InterestCharged)
    def _interest(self, n: int, at: datetime, cid: str, amount: int, month: int,
                  principal: int) -> None:
        self.invoices[n].interest_next = month + 1
        self._add_charge(cid, "interest", amount, n)

    def _suspend(self, at: datetime, _book: PriceBook) -> None:
        self._suspended(at=at)

    @event(AccessSuspended)
    def _suspended(self, at: datetime) -> None:
        self.suspended = True

    def _close_inactive(self, at: datetime, _book: PriceBook) -> None:
        """ACCOUNT-3: closed and erased at once, overriding GDPR-2 retention."""
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="closed")
        if self.live_subscription() is not None:
            self._subscription_ended(at=at, reason="account_closed")
        for package in self.prepaid:
            if package.state in ("active", "queued"):
                self._prepaid_ended(at=at, index=package.index)
        self._closed(at=at, reason="inactivity")
        self._erase(at, "inactivity")

