"""The `Account` aggregate: one customer's contract, money and personal-data lifecycle.

The account is the consistency boundary of every rule in SPEC sections 1-7: allocation
(PAY-4) spans all of an account's invoices, status precedence (section 8) spans its trial,
subscription and arrears. Public command methods validate and compute (allocations,
refunds, deadlines), then record through private `@event` methods whose bodies only
mutate: they re-run on every replay, so they hold no rule that could change.

Time never comes from a clock here: commands carry `at`, scheduled work is recorded with
the instant it was due (SPEC section 0), whenever the scheduler happens to run it.

The class body is ordered by concern, in SPEC order: registration and personal data,
trials, subscribing and invoices, prepaid packages, payments, dunning, disputes,
cancellation and refunds, renewal, price notices, plan changes, vendor actions, privacy,
closure. Each section holds its events, its commands, its timers (the scheduled work that
concern owns) and its `@event` mutators; the last section, `_work()`, indexes every timer
in one place, ranked by the constants below. Arithmetic with no state of its own lives in
small pure modules: `allocation` (PAY-4), `proration` (CANCEL-3, CHANGE-2), `dunning`
(PAY-2, PAY-3), `retention` (GDPR-2, GDPR-3), `tax` (TAX-1, TAX-2, TAX-4).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.account_state import (
    BillingState,
    Charge,
    ChargeKind,
    Invoice,
    InvoiceKind,
    PersonalState,
    Prepaid,
    RenewalOutlook,
    Subscription,
    Trial,
    personal_data_gone,
)
from domain.activity import is_activity
from domain.allocation import Owed, allocate
from domain.bounds import LATEST_INSTANT
from domain.calendar import add_days, add_months, add_years_to_date
from domain.commands import MAX_EXPORT_DAYS
from domain.dunning import fee, interest, interest_due_at, next_interest_month, suspension_at
from domain.errors import ErrorCode, Rejected, invalid
from domain.money import percent_of
from domain.personal_data import personal_data_erased
from domain.pricing import PriceBook
from domain.profiles import STORED_METHODS, TERM_MONTHS, ContractProfile, profile_from_record
from domain.proration import cancel_prorated, upgrade_net
from domain.retention import (
    RetentionPath,
    earlier_erasure,
    invoice_identity_until,
    path_after_relationship,
)
from domain.tax import TaxTable, TaxTerms, credit_split, tax_on, terms_for

ADULT_AGE_YEARS = 18  # ACCOUNT-2

# Order of scheduled work that falls on the same instant. ACCOUNT-3 (1.1): an inactivity
# closure first, so a closed account is never renewed, invoiced or charged interest at its
# closing instant (SPEC 1.0 ran it after everything but privacy; that order stays in the
# events it recorded). Then the term boundary (a renewal issues the invoice whose
# collection settles it), then dunning, then privacy.
(
    _INACTIVE,
    _TRIAL_END,
    _PREPAID,
    _TERM_END,
    _REMINDER,
    _OVERDUE,
    _INTEREST,
    _SUSPEND,
    _DELETION,
    _RETENTION,
) = range(10)
_EXPORT_END = 10  # VENDOR-2: the end of the export window, after the rest


# A piece of scheduled work: its instant, its rank among work of that instant (above),
# and what runs it (the timers of each section below; `_work` indexes them).
Timer = Callable[[datetime, PriceBook], None]
Work = tuple[datetime, int, Timer]


def account_id(ref: str) -> UUID:
    """Account ids are derived from the customer's reference, so duplicates collide."""
    return uuid5(NAMESPACE_URL, f"subledger:/accounts/{ref}")


def _reject(code: ErrorCode, message: str) -> Rejected:
    return Rejected(code, message)


class Account(Aggregate):
    class_version = 1

    # -------------------------------- registration and personal data (ACCOUNT-1, ACCOUNT-2)
    class Registered(Aggregate.Created):
        class_version = 1
        ref: str
        profile: dict[str, Any]
        currency: str  # ISO-4217, the ledger's (checked by its configuration)
        at: datetime
        personal: str  # contact: name, email, phone, birth date (sealed)
        billing: str  # invoice identity: billing name, address, VAT id (sealed), GDPR-3
        # TAX-2, in clear: what decides the rate. `vat_registered`: the customer gave a
        # VAT id that was validated for `country` (the id itself is in `billing`)
        country: str | None = None
        vat_registered: bool = False

    class PersonalDataUpdated(Aggregate.Event):
        class_version = 1
        at: datetime
        personal: str
        billing: str  # "" when the invoice identity did not change
        country: str | None = None  # None: unchanged (TAX-2)
        vat_registered: bool | None = None  # None: unchanged

    class ActivityRecorded(Aggregate.Event):
        class_version = 1
        at: datetime

    @staticmethod
    def create_id(ref: str, **_: Any) -> UUID:
        return account_id(ref)

    @classmethod
    def register(
        cls,
        *,
        ref: str,
        profile: ContractProfile,
        currency: str,
        at: datetime,
        personal: str,
        birth_date: date | None,
        billing: str = "",
        country: str | None = None,
        vat_registered: bool = False,
        tax: TaxTable | None = None,
    ) -> Account:
        """ACCOUNT-1, ACCOUNT-2: `personal` (contact) and `billing` (invoice identity) arrive sealed
        under two keys (GDPR-5, GDPR-3); the birth date only for the check. TAX-2: with a
        tax table the country is required; `vat_registered` says that the sealed VAT id
        was validated for it (by the application: the domain never sees the id)."""
        if tax is not None and country is None:
            raise invalid("country is required: the ledger has a tax table (TAX-2)", "country")
        if vat_registered and country is None:
            raise invalid("a VAT id needs the account's country", "country")
        if birth_date is not None:
            if birth_date > at.date():
                raise invalid("birth_date is after the registration date", "birth_date")
            if add_years_to_date(birth_date, ADULT_AGE_YEARS) > at.date():
                raise _reject(ErrorCode.UNDERAGE, f"registrants must be {ADULT_AGE_YEARS} or older")
        return cls(
            ref=ref,
            profile=profile.as_dict(),
            currency=currency,
            at=at,
            personal=personal,
            billing=billing,
            country=country,
            vat_registered=vat_registered,
        )

    @event(Registered)
    def __init__(
        self,
        ref: str,
        profile: dict[str, Any],
        currency: str,
        at: datetime,
        personal: str,
        billing: str,
        country: str | None = None,
        vat_registered: bool = False,
    ) -> None:
        self.ref = ref
        self.profile: ContractProfile = profile_from_record(profile)
        self.currency = currency
        self.registered_at = at
        self.last_activity_at = at
        self.personal = personal
        self.personal_state: PersonalState = "present"
        self.billing = billing
        self.billing_state: BillingState = "present" if billing else "none"
        self.billing_erase_at: datetime | None = None
        self.country = country
        self.vat_registered = vat_registered
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
        self.dunning_after_closure = False  # ACCOUNT-3 (1.1), set by AccountClosed
        self.deletion_due_at: datetime | None = None
        self.erase_at: datetime | None = None
        self.anonymise_at: datetime | None = None
        self.delivered: set[str] = set()  # ids of the events whose notice went out
        self.vendor_suspended = False  # VENDOR-1
        self.terminated_at: datetime | None = None  # VENDOR-2
        self.export_until: datetime | None = None
        self.export_window_closed = False

    def record_activity(self, *, at: datetime) -> None:
        self.ensure_open()
        self._activity(at=at)

    @event(ActivityRecorded)
    def _activity(self, at: datetime) -> None:
        self._customer_command("record_activity", at)

    def _customer_command(self, command: str, at: datetime) -> None:
        """ACCOUNT-3 (1.1): called by the event body of each command of the customer's;
        the list of the commands that count is `domain/activity.py`."""
        if is_activity(command):
            self.last_activity_at = at

    def update_personal_data(
        self,
        *,
        at: datetime,
        personal: str,
        billing: str = "",
        country: str | None = None,
        vat_registered: bool | None = None,
    ) -> None:
        """ACCOUNT-1; TAX-2: a new country or VAT registration applies to the documents
        issued from now on, never to those already issued."""
        self.ensure_open()
        if self.personal_data_gone:
            raise personal_data_erased()
        if vat_registered and (country or self.country) is None:
            raise invalid("a VAT id needs the account's country", "country")
        self._personal_updated(
            at=at,
            personal=personal,
            billing=billing,
            country=country,
            vat_registered=vat_registered,
        )

    @event(PersonalDataUpdated)
    def _personal_updated(
        self,
        at: datetime,
        personal: str,
        billing: str,
        country: str | None = None,
        vat_registered: bool | None = None,
    ) -> None:
        self.personal = personal
        if billing:
            self.billing = billing
        if country is not None:
            self.country = country
        if vat_registered is not None:
            self.vat_registered = vat_registered
        self._customer_command("update_personal_data", at)

    # ------------------------------------------------------------------- queries and guards
    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def personal_data_gone(self) -> bool:
        """The contact data is anonymised or erased: nothing left to update or erase."""
        return personal_data_gone(self.personal_state)

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
        return sum(i.unpaid for i in self.invoices.values()) + sum(
            c.unpaid for c in self.charges.values()
        )

    def ensure_open(self) -> None:
        """ACCOUNT-6: commands on a closed account are refused, except (1.1) the data
        subject's rights (`request_data_deletion`, `export_personal_data`) and money owed
        (`record_payment`), which therefore do not call this."""
        if self.is_closed:
            raise _reject(ErrorCode.ACCOUNT_CLOSED, f"account {self.ref} is closed")

    def _ensure_not_terminated(self) -> None:
        """VENDOR-2: after a vendor termination the vendor refuses a new agreement."""
        if self.terminated_at is not None:
            raise _reject(
                ErrorCode.VENDOR_TERMINATED,
                f"the vendor terminated account {self.ref}: no new agreement",
            )

    # ------------------------------------------------------------------- trials (section 1)
    class TrialStarted(Aggregate.Event):
        class_version = 1
        plan: str
        at: datetime
        ends_at: datetime

    class TrialEnded(Aggregate.Event):
        class_version = 1
        at: datetime
        outcome: str

    def start_trial(self, *, plan: str, at: datetime, book: PriceBook) -> None:
        self.ensure_open()
        self._ensure_not_terminated()
        days = self.profile.trial_days
        if days is None:  # TRIAL-2
            raise _reject(
                ErrorCode.TRIAL_NOT_OFFERED, f"the {self.profile.name} contract offers no trial"
            )
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
        self._customer_command("start_trial", at)

    def _expire_trial(self, at: datetime, _book: PriceBook) -> None:
        self._trial_ended(at=at, outcome="expired")  # TRIAL-3

    @event(TrialEnded)
    def _trial_ended(self, at: datetime, outcome: str) -> None:
        if self.trial is not None:
            self.trial.live = False
            if outcome in ("converted", "cancelled", "closed", "terminated"):
                self.trial.ends_at = min(self.trial.ends_at, at)
        if outcome == "cancelled":  # the customer's own command (ACCOUNT-3 activity)
            self._customer_command("request_cancellation", at)

    # ------------------------ subscribing and invoices, with their taxes (sections 2 and 9)
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
        kind: InvoiceKind
        period_start: datetime
        period_end: datetime
        collect: bool
        # SPEC 2.0. `amount` is gross, `list_price` and `discount` net (TAX-1); the tax
        # terms and the buyer's country in clear, so tax reports survive erasure (TAX-2).
        # Events stored before: net = amount, tax 0, no category (no tax table).
        net: int | None = None
        tax: int = 0
        tax_rate: str = "0"
        tax_category: str | None = None
        country: str | None = None
        plan: str | None = None
        term: str | None = None

    class CollectionRequested(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        amount: int
        reference: str
        method: str

    def subscribe(
        self,
        *,
        plan: str,
        term: str,
        method: str,
        at: datetime,
        book: PriceBook,
        discount_percent: Decimal | None = None,
    ) -> None:
        """The first term and its invoice start at `at` (TERM-2): a term the contract
        offers (TERM-1), renewing by RENEW-2, at most one discount, on this first term only
        (TERM-5); a live trial converts (TRIAL-4)."""
        self.ensure_open()
        self._ensure_not_terminated()
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        price = book.price(plan, term, at)
        if not self.profile.offers_term(term) or price is None:
            raise _reject(
                ErrorCode.TERM_NOT_OFFERED,
                f"the {self.profile.name} contract does not offer {term!r} terms for plan {plan!r}",
            )
        if self.has_live_contract():
            raise _reject(ErrorCode.ALREADY_SUBSCRIBED, "the account already has a subscription")
        self._cancel_pending_erasure(at)
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="converted")  # TRIAL-4
        months = TERM_MONTHS[term]
        renews = self.profile.auto_renew == "always" or method in STORED_METHODS  # RENEW-2
        term_end = add_months(at, months)
        self._subscribed(
            plan=plan,
            term=term,
            method=method,
            at=at,
            term_end=term_end,
            renews=renews,
            discount_percent=None if discount_percent is None else str(discount_percent),
        )
        # TERM-5, SPEC 0: the computed charge (the discounted price) rounds half-up, once
        charged = (
            price
            if discount_percent is None
            else percent_of(price, Decimal(100) - discount_percent)
        )
        discount = price - charged
        self._issue_invoice(
            at=at,
            list_price=price,
            discount=discount,
            kind="subscription",
            period_start=at,
            period_end=term_end,
            method=method,
            book=book,
            plan=plan,
            term=term,
        )
        self._tell_pending_price_changes(plan, term, at, book)

    @event(Subscribed)
    def _subscribed(
        self,
        plan: str,
        term: str,
        method: str,
        at: datetime,
        term_end: datetime,
        renews: bool,
        discount_percent: str | None,
    ) -> None:
        self.subscription = Subscription(
            plan=plan,
            term=term,
            months=TERM_MONTHS[term],
            method=method,
            anchor=at,
            renews=renews,
            term_start=at,
            term_end=term_end,
            invoice=len(self.invoices) + 1,
        )
        self._customer_command("subscribe", at)

    def tax_terms(self, book: PriceBook) -> TaxTerms:
        """TAX-2: the rate and category a document issued now gets."""
        return terms_for(book.tax, self.country, self.vat_registered)

    def _issue_invoice(
        self,
        *,
        at: datetime,
        list_price: int,
        discount: int,
        kind: InvoiceKind,
        period_start: datetime,
        period_end: datetime,
        method: str,
        book: PriceBook,
        plan: str | None = None,
        term: str | None = None,
    ) -> int:
        """TERM-2: invoice at the term's start; TERM-3: stored methods are collected at
        once; TERM-4: due then, or `payment_terms_days` later for a manual method.

        TAX-1, TAX-2: the one path every invoice takes (term, renewal, prepaid, proration), so
        each is taxed here, once: net = price after any discount, its tax rounded half-up,
        amount = net + tax is what is owed. `plan`/`term` default to the live
        subscription's."""
        n = len(self.invoices) + 1
        net = list_price - discount
        terms = self.tax_terms(book)
        tax = tax_on(net, terms.rate)
        amount = net + tax
        if plan is None and self.subscription is not None:
            plan, term = self.subscription.plan, term or self.subscription.term
        collect = method in STORED_METHODS and amount > 0
        due_at = at if collect else add_days(at, self.profile.payment_terms_days)
        self._invoice_issued(
            n=n,
            at=at,
            due_at=due_at,
            amount=amount,
            list_price=list_price,
            discount=discount,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            collect=collect,
            net=net,
            tax=tax,
            tax_rate=terms.rate,
            tax_category=terms.category,
            country=self.country,
            plan=plan,
            term=term,
        )
        self._apply_credit(at)  # PAY-1: credit is set off against every later charge
        invoice = self.invoices[n]
        if collect and invoice.unpaid > 0:
            self._collection_requested(
                n=n,
                at=at,
                amount=invoice.unpaid,
                reference=f"collect:{self.ref}:{n}",
                method=method,
            )
        return n

    @event(InvoiceIssued)
    def _invoice_issued(
        self,
        n: int,
        at: datetime,
        due_at: datetime,
        amount: int,
        list_price: int,
        discount: int,
        kind: InvoiceKind,
        period_start: datetime,
        period_end: datetime,
        collect: bool,
        net: int | None = None,
        tax: int = 0,
        tax_rate: str = "0",
        tax_category: str | None = None,
        country: str | None = None,
        plan: str | None = None,
        term: str | None = None,
    ) -> None:
        self.invoices[n] = Invoice(
            n=n,
            issued_at=at,
            due_at=due_at,
            amount=amount,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            net=amount if net is None else net,
            tax=tax,
            tax_rate=tax_rate,
            tax_category=tax_category,
        )
        sub = self.subscription
        if sub is not None and sub.live and kind in ("subscription", "renewal", "proration"):
            # CHANGE-2: the term's price paid so far (catalog prices are net)
            base = 0 if kind != "proration" else sub.price_paid
            sub.price_paid = base + list_price - discount

    @event(CollectionRequested)
    def _collection_requested(
        self, n: int, at: datetime, amount: int, reference: str, method: str
    ) -> None:
        self.invoices[n].collection = "pending"

    # ------------------------------------------------------------ prepaid packages (TERM-6)
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
        by: str = "customer"  # 2.0: or "vendor" (VENDOR-2), which is not activity

    def purchase_prepaid(
        self, *, plan: str, months: int, method: str, at: datetime, book: PriceBook
    ) -> None:
        """TERM-6: paid in full at purchase; queued behind an unexpired package."""
        self.ensure_open()
        self._ensure_not_terminated()
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        price = book.prepaid_price(plan, months, at) if self.profile.prepaid else None
        if price is None:
            raise _reject(
                ErrorCode.TERM_NOT_OFFERED,
                f"the {self.profile.name} contract offers no {months}-month "
                f"prepaid package for plan {plan!r}",
            )
        if self.live_subscription() is not None:
            raise _reject(ErrorCode.ALREADY_SUBSCRIBED, "the account has a running subscription")
        series = self._prepaid_series()
        if series is None:  # nothing unexpired: a new series starts now
            starts_at, ends_at = at, add_months(at, months)
        else:  # 1.1: queued, and its end counted from the series' anchor, never chained
            anchor, months_before, starts_at = series
            ends_at = add_months(anchor, months_before + months)
        if ends_at >= LATEST_INSTANT:  # queued packages: bounded like any instant
            raise invalid(f"the package would run past {LATEST_INSTANT.date()}", "months")
        self._cancel_pending_erasure(at)
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="converted")
        n = len(self.invoices) + 1
        self._prepaid_purchased(
            plan=plan,
            months=months,
            at=at,
            starts_at=starts_at,
            ends_at=ends_at,
            queued=series is not None,
            n=n,
        )
        self._issue_invoice(
            at=at,
            list_price=price,
            discount=0,
            kind="prepaid",
            period_start=starts_at,
            period_end=ends_at,
            method=method,
            book=book,
            plan=plan,
            term="prepaid",
        )

    def _prepaid_series(self) -> tuple[datetime, int, datetime] | None:
        """TERM-6 (1.1): the series a package bought now joins, as (anchor, months of its
        packages so far, the instant its last package ends); None when every package has
        ended (the queue emptied, so the next purchase starts a new series). Packages of a
        series follow each other, each starting where the one before ends; cancelled
        queued packages are no part of it. Packages recorded before 1.1 (ends chained from
        the previous end) still follow each other, so a package bought now joins them."""
        kept = [p for p in self.prepaid if p.state != "cancelled"]
        if not kept or kept[-1].state not in ("active", "queued"):
            return None
        first = len(kept) - 1
        while first > 0 and kept[first - 1].ends_at == kept[first].starts_at:
            first -= 1
        return (kept[first].starts_at, sum(p.months for p in kept[first:]), kept[-1].ends_at)

    @event(PrepaidPurchased)
    def _prepaid_purchased(
        self,
        plan: str,
        months: int,
        at: datetime,
        starts_at: datetime,
        ends_at: datetime,
        queued: bool,
        n: int,
    ) -> None:
        self.prepaid.append(
            Prepaid(
                index=len(self.prepaid),
                plan=plan,
                months=months,
                starts_at=starts_at,
                ends_at=ends_at,
                invoice=n,
                state="queued" if queued else "active",
            )
        )
        self._customer_command("purchase_prepaid", at)

    def cancel_queued(self, *, at: datetime) -> None:
        """TERM-6: a queued package is refunded in full until it starts."""
        self.ensure_open()
        queued = self.queued_prepaid()
        if not queued:
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "no queued prepaid package")
        self._refund_queued(at, queued, "queued_prepaid_cancelled")
        self._settle_arrears(at)

    def _refund_queued(self, at: datetime, queued: list[Prepaid], reason: str) -> None:
        """TERM-6: queued packages void and refunded in full (the customer's
        cancel_queued, or a vendor termination, VENDOR-2)."""
        by = "vendor" if reason == "VENDOR-2" else "customer"
        for package in queued:
            self._queued_cancelled(at=at, index=package.index, by=by)
            invoice = self.invoices[package.invoice]
            if invoice.amount > 0:
                self._credit_note(n=invoice.n, at=at, amount=invoice.amount, reason=reason)
            refund = invoice.paid - invoice.amount  # all of it, once the invoice is void
            if refund > 0:
                self._refund(
                    at=at, amount=refund, n=invoice.n, reason=reason, returns="overpayment"
                )

    @event(QueuedPrepaidCancelled)
    def _queued_cancelled(self, at: datetime, index: int, by: str = "customer") -> None:
        self.prepaid[index].state = "cancelled"
        if by == "customer":  # ACCOUNT-3: the customer's command only
            self._customer_command("cancel_queued", at)

    def _roll_prepaid(self, at: datetime, _book: PriceBook) -> None:
        active = self.active_prepaid()
        assert active is not None
        self._prepaid_ended(at=at, index=active.index)
        following = next((p for p in self.queued_prepaid() if p.starts_at <= at), None)
        if following is not None:
            self._prepaid_started(at=at, index=following.index)
        elif not self.has_live_contract():
            self._relationship_ended(at)

    @event(PrepaidStarted)
    def _prepaid_started(self, at: datetime, index: int) -> None:
        self.prepaid[index].state = "active"

    @event(PrepaidEnded)
    def _prepaid_ended(self, at: datetime, index: int) -> None:
        self.prepaid[index].state = "ended"

    # ------------- payments, collections, allocation and credit (section 6, TERM-3, TERM-4)
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

    class CollectionFailed(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        reference: str
        due_at: datetime

    class CollectionCostRecorded(Aggregate.Event):
        class_version = 1
        at: datetime
        cid: str
        amount: int

    def new_references(self) -> list[tuple[str, str]]:
        """Outside payment references booked by the events not yet saved, as (reference,
        via): what the application claims in the same transaction
        (domain/reference_claim.py). A collection's reference is made by the ledger, one
        per invoice, and booked under the account's own version check."""
        return [
            (pending.reference, pending.via)
            for pending in self.pending_events
            if isinstance(pending, Account.PaymentReceived) and pending.via != "collection"
        ]

    def _owed(self) -> list[Owed]:
        owed = [
            Owed(i.cid, "principal", i.n, i.unpaid) for i in self.invoices.values() if not i.void
        ]
        owed += [Owed(c.cid, c.kind, c.seq, c.unpaid) for c in self.charges.values()]
        return owed

    def record_payment(
        self, *, amount: int, reference: str, at: datetime, via: str = "manual"
    ) -> bool:
        """PAY-1/PAY-4; returns False when the reference was already booked (a no-op).

        ACCOUNT-6 (1.1): accepted on a closed account too, since money owed at closure can
        still be paid; there, what exceeds the amount owed is refunded at once (a closed
        account holds no credit for later charges)."""
        if amount <= 0:
            raise _reject(ErrorCode.INVALID_AMOUNT, "a payment must be greater than zero")
        if not reference:
            raise invalid("a payment needs a reference", "reference")
        if reference in self.references:
            return False
        lines, rest = allocate(amount, self._owed(), self.profile.allocation_order)
        self._payment_received(
            at=at,
            amount=amount,
            reference=reference,
            via=via,
            allocations=[[cid, part] for cid, part in lines],
            to_credit=rest,
        )
        if self.is_closed and rest > 0:
            self._refund(at=at, amount=rest, n=0, reason="ACCOUNT-6", returns="credit")
        self._settle_arrears(at)
        return True

    @event(PaymentReceived)
    def _payment_received(
        self,
        at: datetime,
        amount: int,
        reference: str,
        via: str,
        allocations: list[list[Any]],
        to_credit: int,
    ) -> None:
        self._settle(allocations)
        self.credit += to_credit
        self.references[reference] = via
        collected = self._collected_invoice(reference)
        if collected is not None and collected.collection == "pending":
            collected.collection = "approved"
        if via == "manual":
            self._customer_command("record_payment", at)

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
        self._collection_failed(
            n=invoice.n,
            at=at,
            reference=reference,
            due_at=add_days(invoice.issued_at, self.profile.payment_terms_days),
        )
        return True

    def _collected_invoice(self, reference: str) -> Invoice | None:
        prefix = f"collect:{self.ref}:"
        if not reference.startswith(prefix):
            return None
        try:
            return self.invoices.get(int(reference[len(prefix) :]))
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

    def _add_charge(self, cid: str, kind: ChargeKind, amount: int, invoice: int | None) -> None:
        """Interest, compensation, collection costs and liquidated damages: owed besides
        invoice principal, allocated by PAY-4's classes, and untaxed (TAX-3)."""
        self.charge_seq += 1
        self.charges[cid] = Charge(
            cid=cid, kind=kind, amount=amount, seq=self.charge_seq, invoice=invoice
        )

    # ------------------ dunning: overdue, compensation, interest, suspension (PAY-2, PAY-3)
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

    class AccessSuspended(Aggregate.Event):
        class_version = 1
        at: datetime

    class ArrearsCleared(Aggregate.Event):
        class_version = 1
        at: datetime

    def overdue_owed(self) -> int:
        """PAY-2: what must be paid for access to come back."""
        return sum(i.unpaid for i in self.invoices.values() if i.overdue) + sum(
            c.unpaid for c in self.charges.values()
        )

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

    def _overdue_action(self, n: int) -> Timer:
        def run(at: datetime, _book: PriceBook) -> None:
            self._mark_overdue(n, at)

        return run

    def _mark_overdue(self, n: int, at: datetime) -> None:
        """PAY-2 overdue; PAY-3 fixed compensation once, when first overdue."""
        invoice = self.invoices[n]
        self._invoice_overdue(n=n, at=at)
        pct = self.profile.late_fee_percent
        if pct is not None and not invoice.compensated:
            self._compensation(
                n=n,
                at=at,
                cid=f"comp:{n}",
                amount=fee(invoice.amount, pct, self.profile.late_fee_min_minor),
            )
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

    def _interest_action(self, n: int, month: int) -> Timer:
        def run(at: datetime, _book: PriceBook) -> None:
            invoice = self.invoices[n]
            pct = self.profile.late_interest_percent
            assert pct is not None
            principal = invoice.unpaid
            self._interest(
                n=n,
                at=at,
                cid=f"int:{n}:{month}",
                amount=interest(principal, pct),
                month=month,
                principal=principal,
            )
            self._apply_credit(at)

        return run

    @event(InterestCharged)
    def _interest(
        self, n: int, at: datetime, cid: str, amount: int, month: int, principal: int
    ) -> None:
        self.invoices[n].interest_next = month + 1
        self._add_charge(cid, "interest", amount, n)

    def _suspend(self, at: datetime, _book: PriceBook) -> None:
        self._suspended(at=at)

    @event(AccessSuspended)
    def _suspended(self, at: datetime) -> None:
        self.suspended = True

    # --------------------------------------------------------------------- disputes (PAY-6)
    class InvoiceDisputed(Aggregate.Event):
        class_version = 1
        n: int
        at: datetime
        reason: str

    def open_disputes(self) -> list[int]:
        return [i.n for i in self.invoices.values() if i.disputed and i.unpaid > 0 and not i.void]

    def dispute_invoice(self, *, n: int, reason: str, at: datetime) -> None:
        """PAY-6: within the window after issue; the invoice stays due."""
        self.ensure_open()
        invoice = self.invoices.get(n)
        if invoice is None:
            raise _reject(ErrorCode.UNKNOWN_INVOICE, f"account {self.ref} has no invoice {n}")
        if at > add_days(invoice.issued_at, self.profile.dispute_window_days):
            raise _reject(
                ErrorCode.DISPUTE_WINDOW_CLOSED,
                f"invoice {n} can be disputed within "
                f"{self.profile.dispute_window_days} days of its issue",
            )
        self._disputed(n=n, at=at, reason=reason)

    @event(InvoiceDisputed)
    def _disputed(self, n: int, at: datetime, reason: str) -> None:
        self.invoices[n].disputed = True
        self._customer_command("dispute_invoice", at)

    # ----------------------------------- cancellation, credit notes and refunds (section 5)
    class CancellationRequested(Aggregate.Event):
        class_version = 1
        at: datetime
        ends_at: datetime
        stops_renewal: bool
        rule: str

    class CreditNoteIssued(Aggregate.Event):
        """`amount` is gross; `net` and `tax` its split at the document's rate (TAX-4).
        Events stored before: net = amount, tax 0."""

        class_version = 1
        n: int
        at: datetime
        amount: int
        reason: str
        net: int | None = None
        tax: int = 0

    class RefundIssued(Aggregate.Event):
        """`returns` says what the money was: "overpayment" (received on an invoice beyond
        its amount after a credit note; the invoice's paid part goes down), "proration"
        (CANCEL-3 without a tax table: revenue given back, the invoice untouched; with a
        tax table a CANCEL-3 refund follows a credit note of the same gross amount, so it
        returns an overpayment, TAX-4) or, since 1.1, "credit" (the customer's credit paid
        back at an inactivity closure, ACCOUNT-3, or a payment's excess on a closed
        account, ACCOUNT-6; `n` is 0: no invoice)."""

        class_version = 1
        at: datetime
        amount: int
        n: int
        reason: str
        returns: str

    def request_cancellation(self, *, at: datetime, book: PriceBook) -> None:
        """CANCEL-1: stops auto-renewal, access to the term end; CANCEL-2: no refund unless
        the contract prorates the term (CANCEL-3); CANCEL-4 (annual-b2b): access to the
        term end, or by RENEW-4 the next one's, unless PRICE-4's opt-out applies; TRIAL-5."""
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
                raise _reject(
                    ErrorCode.PREPAID_NOT_CANCELLABLE,
                    "prepaid packages cannot be cancelled (queued ones: cancel_queued)",
                )
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "nothing live to cancel")
        if sub.cancel_requested_at is not None:
            raise _reject(ErrorCode.NOTHING_TO_CANCEL, "a cancellation is already pending")
        if sub.scheduled is not None:  # CHANGE-3: a cancellation removes it
            self._scheduled_change_removed(at=at, reason="cancellation")
        if sub.term in self.profile.prorated_refund_terms:
            self._cancel_prorated(sub, at, book)
            return
        ends_at, stops, rule = sub.term_end, True, "CANCEL-1"  # CANCEL-2, CANCEL-4
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
        return any(
            sent <= at <= add_days(effective, days) for sent, effective in self.price_notices
        )

    def _cancel_prorated(self, sub: Subscription, at: datetime, book: PriceBook) -> None:
        """CANCEL-3: the customer owes the monthly price of each started month. TAX-4: in
        gross amounts, the monthly price taken gross at the invoice's rate; with a tax
        table the refund is documented by a credit note of the same gross amount."""
        invoice = self.invoices[sub.invoice]
        share = cancel_prorated(
            term_start=sub.term_start,
            term_end=sub.term_end,
            at=at,
            invoice_amount=invoice.amount,
            received=invoice.paid,
            refunded=invoice.refunded,
            monthly_price=book.price(sub.plan, "monthly", sub.term_start),
            tax_rate=invoice.tax_rate,
        )
        self._cancellation_requested(
            at=at, ends_at=share.access_until, stops_renewal=True, rule="CANCEL-3"
        )
        if share.credit_note > 0:
            self._credit_note(n=invoice.n, at=at, amount=share.credit_note, reason="CANCEL-3")
        refund = share.refund
        if refund > 0:
            returns = "proration"
            if book.tax is not None or invoice.tax_category is not None:  # TAX-4
                self._credit_note(n=invoice.n, at=at, amount=refund, reason="CANCEL-3")
                returns = "overpayment"
            self._refund(at=at, amount=refund, n=invoice.n, reason="CANCEL-3", returns=returns)
        self._settle_arrears(at)

    @event(CancellationRequested)
    def _cancellation_requested(
        self, at: datetime, ends_at: datetime, stops_renewal: bool, rule: str
    ) -> None:
        sub = self.subscription
        if sub is not None:
            sub.cancel_requested_at = at
            sub.ends_at = ends_at
        self._customer_command("request_cancellation", at)

    def _credit_note(self, *, n: int, at: datetime, amount: int, reason: str) -> None:
        """A credit note of gross `amount` on invoice n, split at the invoice's own rate
        (TAX-4), so the invoice's net and tax drop with its amount."""
        invoice = self.invoices[n]
        net, tax = credit_split(
            amount, invoice.tax_rate, remaining_net=invoice.net, remaining_tax=invoice.tax
        )
        self._credit_note_issued(n=n, at=at, amount=amount, reason=reason, net=net, tax=tax)

    @event(CreditNoteIssued)
    def _credit_note_issued(
        self, n: int, at: datetime, amount: int, reason: str, net: int | None = None, tax: int = 0
    ) -> None:
        invoice = self.invoices[n]
        invoice.amount -= amount
        invoice.net -= amount - tax if net is None else net
        invoice.tax -= tax
        if invoice.amount == 0:
            invoice.void = True
        if reason == "CANCEL-3" and self.subscription is not None:
            self.subscription.cancel_settled = True

    @event(RefundIssued)
    def _refund(self, at: datetime, amount: int, n: int, reason: str, returns: str) -> None:
        if returns == "credit":  # 1.1: credit paid back (ACCOUNT-3, ACCOUNT-6); n = 0
            self.credit -= amount
            return
        invoice = self.invoices[n]
        invoice.refunded += amount
        if returns == "overpayment":
            invoice.paid -= amount
        if reason == "CANCEL-3" and self.subscription is not None:
            self.subscription.cancel_settled = True

    # ---------------------------------------------------- renewal and reminders (section 3)
    class Renewed(Aggregate.Event):
        class_version = 1
        at: datetime
        term_index: int
        term_end: datetime

    class SubscriptionEnded(Aggregate.Event):
        class_version = 1
        at: datetime
        reason: str

    def renewal_outlook(self) -> RenewalOutlook | None:
        """What happens at the end of the live subscription's term, as the rules stand
        now: renewal (RENEW-1), or an end without one, and why: a pending cancellation,
        or RENEW-2 (a manual payment method under a contract that renews only with a
        stored one). None without a live subscription."""
        sub = self.live_subscription()
        if sub is None:
            return None
        if sub.ends_at is not None and sub.ends_at <= sub.term_end:
            return RenewalOutlook(renews=False, at=sub.ends_at, reason="cancelled")
        if not sub.renews:
            return RenewalOutlook(
                renews=False, at=sub.term_end, reason="manual_method", method=sub.method
            )
        return RenewalOutlook(renews=True, at=sub.term_end)

    def _boundary(self, sub: Subscription) -> datetime:
        """Where the live subscription's term ends, or its cancellation takes effect."""
        return (
            sub.ends_at if sub.ends_at is not None and sub.ends_at <= sub.term_end else sub.term_end
        )

    def _term_boundary(self, at: datetime, book: PriceBook) -> None:
        """RENEW-1: renew at the price in force (PRICE-3), without the first term's
        discount (TERM-5); RENEW-2: or end."""
        sub = self.live_subscription()
        assert sub is not None
        if sub.ends_at is not None and sub.ends_at <= at:
            self._subscription_ended(at=at, reason="cancelled")
        elif not sub.renews:
            self._subscription_ended(at=at, reason="not_renewed")
        else:
            plan, term = sub.scheduled or (sub.plan, sub.term)  # CHANGE-3
            price = book.price(plan, term, at)
            if price is None:
                self._subscription_ended(at=at, reason="plan_withdrawn")
            else:
                # a change of term starts a new series of terms, anchored here
                index = 0 if term != sub.term else sub.term_index + 1
                if sub.scheduled is not None:
                    self._scheduled_change_applied(
                        at=at, plan=plan, term=term, from_plan=sub.plan, from_term=sub.term
                    )
                term_end = add_months(sub.anchor, (index + 1) * sub.months)
                self._renewed(at=at, term_index=index, term_end=term_end)
                self._issue_invoice(
                    at=at,
                    list_price=price,
                    discount=0,
                    kind="renewal",
                    period_start=at,
                    period_end=term_end,
                    method=sub.method,
                    book=book,
                    plan=sub.plan,
                    term=sub.term,
                )
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
            self.subscription.scheduled = None

    def _reminder_due(self, sub: Subscription) -> datetime | None:
        """RENEW-3: once per term, and (1.1) only for a term that will renew: none when it
        ends without renewal, by RENEW-2 (a manual method) or a pending cancellation."""
        days = self.profile.renewal_reminder_days
        if days is None or sub.months < self.profile.renewal_reminder_min_months:
            return None
        if not sub.renews or sub.ends_at is not None or sub.reminded_for == sub.term_end:
            return None
        at = add_days(sub.term_end, -days)
        return at if at >= sub.term_start else None

    def _send_reminder(self, at: datetime, book: PriceBook) -> None:
        sub = self.live_subscription()
        assert sub is not None
        plan, term = sub.scheduled or (sub.plan, sub.term)  # CHANGE-3: what it renews onto
        price = book.price(plan, term, sub.term_end)
        self._notice(
            kind="renewal_reminder",
            at=at,
            effective_at=at,
            channel="email",
            details={
                "plan": plan,
                "term": term,
                "renews_at": sub.term_end.isoformat(),
                "price": price,
            },
        )

    # ---------------------------------------- price notices and notice delivery (section 4)
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

    def notify_price_change(
        self,
        *,
        plan: str,
        term: str,
        new_price: int,
        effective_at: datetime,
        at: datetime,
        notice_effective_at: datetime,
        channel: str,
    ) -> bool:
        """PRICE-1: only accounts whose live subscription is on that plan and term."""
        sub = self.live_subscription()
        if self.is_closed or sub is None or sub.plan != plan or sub.term != term:
            return False
        self._notice(
            kind="price_change",
            at=at,
            effective_at=notice_effective_at,
            channel=channel,
            details={
                "plan": plan,
                "term": term,
                "new_price": new_price,
                "price_effective_at": effective_at.isoformat(),
            },
        )
        return True

    def _tell_pending_price_changes(
        self, plan: str, term: str, at: datetime, book: PriceBook
    ) -> None:
        """PRICE-5 (1.1): a change announced for this plan and term before the subscription
        and not yet in force is told to the new subscriber at once, by email. PRICE-2's
        minimum does not apply (the schedule is part of the price agreed now); PRICE-3
        prices their terms as everyone's, and PRICE-4's opt-out counts from this notice."""
        for change in book.pending_changes(plan, term, at):
            self._notice(
                kind="price_change",
                at=at,
                effective_at=at,
                channel="email",
                details={
                    "plan": plan,
                    "term": term,
                    "new_price": change.new_price,
                    "price_effective_at": change.effective_at.isoformat(),
                    "rule": "PRICE-5",
                },
            )

    @event(NoticeSent)
    def _notice(
        self, kind: str, at: datetime, effective_at: datetime, channel: str, details: dict[str, Any]
    ) -> None:
        if kind == "price_change":
            self.price_notices.append((at, effective_at))
        elif kind == "renewal_reminder" and self.subscription is not None:
            self.subscription.reminded_for = self.subscription.term_end

    def record_notice_delivery(
        self, *, notice_id: str, kind: str, at: datetime, channel: str, outcome: str
    ) -> bool:
        """The delivery of one notice, once; False when it was recorded before (a
        redelivered event). Recorded on a closed account too: it is the ledger's own
        record of what it sent, not the customer's command."""
        if not notice_id:
            raise invalid("a delivery names the notice it delivered", "notice_id")
        if notice_id in self.delivered:
            return False
        self._notice_delivered(
            notice_id=notice_id, kind=kind, at=at, channel=channel, outcome=outcome
        )
        return True

    @event(NoticeDelivered)
    def _notice_delivered(
        self, notice_id: str, kind: str, at: datetime, channel: str, outcome: str
    ) -> None:
        self.delivered.add(notice_id)

    # ------------------------------------------------------------ plan changes (section 10)
    class PlanChanged(Aggregate.Event):
        """CHANGE-2: an upgrade, in force at once; `price` is the new plan's price for
        the term (what later renewals charge), `prorated` the proration invoice's net."""

        class_version = 1
        at: datetime
        plan: str
        term: str
        from_plan: str
        price: int
        prorated: int

    class PlanChangeScheduled(Aggregate.Event):
        """CHANGE-3: a downgrade or a change of term, for the renewal at `effective_at`."""

        class_version = 1
        at: datetime
        plan: str
        term: str
        effective_at: datetime

    class ScheduledChangeRemoved(Aggregate.Event):
        """CHANGE-3: `reason` is "changed_back", "upgrade" or "cancellation"."""

        class_version = 1
        at: datetime
        reason: str

    class ScheduledChangeApplied(Aggregate.Event):
        """CHANGE-3: at the renewal, the subscription moves to the scheduled plan and term
        (the `Renewed` and its invoice follow)."""

        class_version = 1
        at: datetime
        plan: str
        term: str
        from_plan: str
        from_term: str

    class CancellationRevoked(Aggregate.Event):
        class_version = 1
        at: datetime

    def change_plan(self, *, plan: str, term: str | None, at: datetime, book: PriceBook) -> None:
        """CHANGE-1: which changes are accepted; CHANGE-2: an upgrade, now; CHANGE-3: any
        other change, at the renewal. At exactly the term's end E the renewal has run first
        (CHANGE-2), so the change applies to the new term: decided on a copy first, so that
        a refusal records nothing, then the renewal and the change are recorded together."""
        self.ensure_open()
        sub = self.live_subscription()
        if sub is not None and self._boundary(sub) == at:
            preview = copy.deepcopy(self)
            preview._term_boundary(at, book)
            preview._change_plan(plan, term, at, book)  # a refusal leaves `self` untouched
            self._term_boundary(at, book)
        self._change_plan(plan, term, at, book)

    def _change_plan(self, plan: str, term: str | None, at: datetime, book: PriceBook) -> None:
        sub = self.live_subscription()
        if sub is None:
            raise _reject(
                ErrorCode.NO_SUBSCRIPTION,
                "no live subscription to change (a "
                "trial, prepaid packages or an ended subscription cannot be)",
            )
        if not book.has_plan(plan):
            raise _reject(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        term = term or sub.term
        price = book.price(plan, term, at)  # PRICE-3 applied to the instant t
        if not self.profile.offers_term(term) or price is None:
            raise _reject(
                ErrorCode.TERM_NOT_OFFERED,
                f"the {self.profile.name} contract does not offer {term!r} terms for plan {plan!r}",
            )
        if (plan, term) == (sub.plan, sub.term):
            if sub.scheduled is None:
                raise _reject(ErrorCode.NO_CHANGE, f"already on {plan} / {term}")
            self._scheduled_change_removed(at=at, reason="changed_back")  # CHANGE-3
            return
        if sub.cancel_requested_at is not None:
            raise _reject(
                ErrorCode.CANCELLATION_PENDING,
                "a cancellation is pending: revoke it first (revoke_cancellation)",
            )
        if term == sub.term and price > sub.price_paid:
            self._upgrade(sub, plan, price, at, book)
            return
        if not sub.renews:  # RENEW-2: a manual method, nothing to change at E
            raise _reject(
                ErrorCode.NO_RENEWAL,
                "this term will not renew, so a change "
                "that waits for the renewal cannot take effect",
            )
        self._change_scheduled(at=at, plan=plan, term=term, effective_at=sub.term_end)
        self._notice(
            kind="plan_change_scheduled",
            at=at,
            effective_at=at,
            channel="email",
            details={
                "plan": plan,
                "term": term,
                "from_plan": sub.plan,
                "from_term": sub.term,
                "effective_at": sub.term_end.isoformat(),
                "price": book.price(plan, term, sub.term_end),
            },
        )

    def _upgrade(
        self, sub: Subscription, plan: str, price: int, at: datetime, book: PriceBook
    ) -> None:
        """CHANGE-2: the difference from the price paid so far, for the rest of the term
        by exact seconds; collected and due as any invoice (TERM-3, TERM-4)."""
        if sub.scheduled is not None:
            self._scheduled_change_removed(at=at, reason="upgrade")
        net = upgrade_net(
            new_price=price,
            price_paid=sub.price_paid,
            term_start=sub.term_start,
            term_end=sub.term_end,
            at=at,
        )
        from_plan = sub.plan
        self._plan_changed(
            at=at, plan=plan, term=sub.term, from_plan=from_plan, price=price, prorated=net
        )
        n = self._issue_invoice(
            at=at,
            list_price=net,
            discount=0,
            kind="proration",
            period_start=at,
            period_end=sub.term_end,
            method=sub.method,
            book=book,
            plan=plan,
            term=sub.term,
        )
        self._notice(
            kind="plan_changed",
            at=at,
            effective_at=at,
            channel="email",
            details={
                "plan": plan,
                "term": sub.term,
                "from_plan": from_plan,
                "price": price,
                "invoice": n,
                "prorated": net,
            },
        )

    @event(PlanChanged)
    def _plan_changed(
        self, at: datetime, plan: str, term: str, from_plan: str, price: int, prorated: int
    ) -> None:
        sub = self.subscription
        assert sub is not None
        sub.plan = plan
        sub.scheduled = None
        self._customer_command("change_plan", at)  # ACCOUNT-3

    @event(PlanChangeScheduled)
    def _change_scheduled(self, at: datetime, plan: str, term: str, effective_at: datetime) -> None:
        sub = self.subscription
        assert sub is not None
        sub.scheduled = (plan, term)
        self._customer_command("change_plan", at)  # ACCOUNT-3

    @event(ScheduledChangeRemoved)
    def _scheduled_change_removed(self, at: datetime, reason: str) -> None:
        if self.subscription is not None:
            self.subscription.scheduled = None
        self._customer_command("change_plan", at)  # ACCOUNT-3

    @event(ScheduledChangeApplied)
    def _scheduled_change_applied(
        self, at: datetime, plan: str, term: str, from_plan: str, from_term: str
    ) -> None:
        sub = self.subscription
        assert sub is not None
        sub.plan = plan
        sub.scheduled = None
        if term != sub.term:  # a new series of terms from here (section 0: never chained)
            sub.term = term
            sub.months = TERM_MONTHS[term]
            sub.anchor = at

    def revoke_cancellation(self, *, at: datetime, book: PriceBook) -> None:
        """CHANGE-4: auto-renewal back as if the cancellation had never been asked for;
        until it takes effect (a late annual-b2b one, RENEW-4: until the end of the next
        term). One that refunded or credited money (CANCEL-3) is final."""
        self.ensure_open()
        sub = self.live_subscription()
        if sub is None or sub.cancel_requested_at is None:
            raise _reject(
                ErrorCode.NOTHING_TO_REVOKE,
                "no cancellation is pending (a trial's cancellation ends it at once)",
            )
        if sub.cancel_settled:
            raise _reject(
                ErrorCode.NOTHING_TO_REVOKE,
                "the cancellation refunded or credited money (CANCEL-3): it is final",
            )
        self._cancellation_revoked(at=at)
        reminder = self._reminder_due(sub)
        if reminder is not None and reminder < at:  # RENEW-3: the reminder it skipped
            self._send_reminder(at, book)

    @event(CancellationRevoked)
    def _cancellation_revoked(self, at: datetime) -> None:
        sub = self.subscription
        assert sub is not None
        sub.cancel_requested_at = None
        sub.ends_at = None
        self._customer_command("revoke_cancellation", at)  # ACCOUNT-3

    # ---------------------------------------------------------- vendor actions (section 11)
    class SuspendedByVendor(Aggregate.Event):
        class_version = 1
        at: datetime
        reason: str

    class ReinstatedByVendor(Aggregate.Event):
        class_version = 1
        at: datetime

    class TerminatedByVendor(Aggregate.Event):
        """VENDOR-2: what was live has ended (events before this one); the customer may
        export until `export_until`, then the profile's personal-data path runs (`then`:
        "soft_delete", "schedule_erasure" or "erase")."""

        class_version = 1
        at: datetime
        reason: str
        export_until: datetime
        then: str

    class ExportWindowClosed(Aggregate.Event):
        """VENDOR-2: the end of the export window and what it set off (`action`:
        "erase", "soft_delete", "schedule_erasure" or "none" when nothing was left)."""

        class_version = 1
        at: datetime
        action: str

    class LiquidatedDamagesCharged(Aggregate.Event):
        """VENDOR-3: `percent` of `basis` (the term's price paid so far), at least the
        profile's minimum; a fee, allocated with the fixed compensation (PAY-4)."""

        class_version = 1
        at: datetime
        cid: str
        amount: int
        basis: int

    class InvoiceAccelerated(Aggregate.Event):
        """VENDOR-3: an open invoice made due at once by a cancellation for non-payment."""

        class_version = 1
        n: int
        at: datetime
        due_at: datetime

    def suspend_account(self, *, reason: str, at: datetime) -> None:
        """VENDOR-1: access off at once; billing goes on as for any customer."""
        self.ensure_open()
        if self.vendor_suspended:
            raise _reject(
                ErrorCode.ALREADY_SUSPENDED,
                f"account {self.ref} is already suspended by the vendor",
            )
        self._suspended_by_vendor(at=at, reason=reason)
        self._notice(kind="account_suspended", at=at, effective_at=at, channel="email", details={})

    @event(SuspendedByVendor)
    def _suspended_by_vendor(self, at: datetime, reason: str) -> None:
        self.vendor_suspended = True

    def reinstate_account(self, *, at: datetime) -> None:
        """VENDOR-1: ends the vendor's suspension; a PAY-2 one still needs payment."""
        self.ensure_open()
        if not self.vendor_suspended:
            raise _reject(
                ErrorCode.NOT_SUSPENDED, f"account {self.ref} is not suspended by the vendor"
            )
        self._reinstated_by_vendor(at=at)
        self._notice(
            kind="account_reinstated",
            at=at,
            effective_at=at,
            channel="email",
            details={"payment_suspension": self.suspended},
        )

    @event(ReinstatedByVendor)
    def _reinstated_by_vendor(self, at: datetime) -> None:
        self.vendor_suspended = False

    def terminate_by_vendor(self, *, reason: str, export_days: int, at: datetime) -> None:
        """VENDOR-2: what is live ends now, no refund and no fee (queued prepaid packages,
        not yet started, are refunded in full, TERM-6); invoices issued stay due; the
        customer may export until `export_until`."""
        self.ensure_open()
        if self.terminated_at is not None:
            raise _reject(
                ErrorCode.VENDOR_TERMINATED,
                f"account {self.ref} was already terminated by the vendor",
            )
        if isinstance(export_days, bool) or not 0 <= export_days <= MAX_EXPORT_DAYS:
            raise invalid(
                f"export_days must be a whole number from 0 to {MAX_EXPORT_DAYS}", "export_days"
            )
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="terminated")
        if self.live_subscription() is not None:
            self._subscription_ended(at=at, reason="vendor_terminated")
        active = self.active_prepaid()
        if active is not None:
            self._prepaid_ended(at=at, index=active.index)
        queued = self.queued_prepaid()
        if queued:
            self._refund_queued(at, queued, "VENDOR-2")
        export_until = add_days(at, export_days)
        self._terminated_by_vendor(
            at=at, reason=reason, export_until=export_until, then=self._path_after_export()
        )
        self._settle_arrears(at)
        self._notice(
            kind="vendor_termination",
            at=at,
            effective_at=at,
            channel="email",
            details={"export_until": export_until.isoformat()},
        )

    @event(TerminatedByVendor)
    def _terminated_by_vendor(
        self, at: datetime, reason: str, export_until: datetime, then: str
    ) -> None:
        self.terminated_at = at
        self.export_until = export_until

    def _path_after_export(self) -> RetentionPath:
        """VENDOR-2: the profile's GDPR-2 path after a relationship ends."""
        return path_after_relationship(self.profile.retention)

    def _close_export_window(self, at: datetime, _book: PriceBook) -> None:
        """VENDOR-2: the profile's path after a relationship ends, counted from here:
        soft-delete (anonymised `retention_period` later), erasure `retention_period`
        later, or erasure now. The invoice identity is kept under GDPR-3."""
        path = self._path_after_export()
        soft_deleted = self.personal_state == "soft_deleted" and path == "soft_delete"
        if self.personal_state != "present" and not soft_deleted:
            # erased on request (GDPR-1) or gone by another road: nothing left to do
            self._export_window_closed(at=at, action="none")
            return
        self._export_window_closed(at=at, action=path)
        if path == "erase":
            self._erase(at, "VENDOR-2")
        elif path == "schedule_erasure":
            # counted from export_until, "not from the subscription's end": an erasure
            # scheduled earlier (the end of the last subscription, GDPR-2) moves here
            erase_at = self.profile.retention_period.after(at)
            self._erasure_scheduled(at=at, erase_at=erase_at, reason="VENDOR-2")
        else:
            # annual-b2b soft-deletes at export_until (again, when the end of access had
            # already soft-deleted) and anonymises a retention period from here
            anonymise_at = self.profile.retention_period.after(at)
            self._soft_deleted(at=at, anonymise_at=anonymise_at)

    @event(ExportWindowClosed)
    def _export_window_closed(self, at: datetime, action: str) -> None:
        self.export_window_closed = True

    def cancel_for_nonpayment(self, *, at: datetime) -> None:
        """VENDOR-3 (annual-b2b, 003 art.11): the subscription ends now, liquidated
        damages are charged as a fee, every other open invoice falls due now
        (acceleration: PAY-2/PAY-3 apply from then), and GDPR-2 (1.1) soft-deletes."""
        self.ensure_open()
        percent = self.profile.nonpayment_damages_percent
        if percent is None:
            raise _reject(
                ErrorCode.NOT_OFFERED,
                f"the {self.profile.name} contract has no cancellation for non-payment",
            )
        if not any(i.overdue and i.unpaid > 0 and not i.void for i in self.invoices.values()):
            raise _reject(ErrorCode.NOTHING_OVERDUE, f"account {self.ref} has no overdue invoice")
        sub = self.live_subscription()
        if sub is None:
            raise _reject(ErrorCode.NO_SUBSCRIPTION, "no live subscription to cancel")
        basis = sub.price_paid  # as in CHANGE-2
        damages = fee(basis, percent, self.profile.nonpayment_damages_min_minor)
        self._subscription_ended(at=at, reason="nonpayment")
        self._liquidated_damages(
            at=at, cid=f"ld:{self.charge_seq + 1}", amount=damages, basis=basis
        )
        accelerated = [
            i.n
            for i in sorted(self.invoices.values(), key=lambda i: i.n)
            if not i.void and i.unpaid > 0 and not i.overdue and i.due_at > at
        ]
        for n in accelerated:
            self._invoice_accelerated(n=n, at=at, due_at=at)
        self._apply_credit(at)
        self._notice(
            kind="nonpayment_cancellation",
            at=at,
            effective_at=at,
            channel="email",
            details={"damages": damages, "accelerated": accelerated},
        )
        self._relationship_ended(at)

    @event(LiquidatedDamagesCharged)
    def _liquidated_damages(self, at: datetime, cid: str, amount: int, basis: int) -> None:
        self._add_charge(cid, "compensation", amount, None)  # PAY-4: with the compensation

    @event(InvoiceAccelerated)
    def _invoice_accelerated(self, n: int, at: datetime, due_at: datetime) -> None:
        self.invoices[n].due_at = due_at

    # ---------------------- privacy: export, deletion, retention, erasure (section 7, GDPR)
    class DataDeletionRequested(Aggregate.Event):
        """`activity` (1.1): whether the request restarted the inactivity clock. SPEC 1.0
        counted it (requests recorded then carry no field and replay as True); 1.1's list of
        activity (domain/activity.py) does not."""

        class_version = 1
        at: datetime
        due_at: datetime
        activity: bool = True

    class PersonalDataExported(Aggregate.Event):
        class_version = 1
        at: datetime

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

    def request_data_deletion(self, *, at: datetime) -> None:
        """GDPR-1: the deadline is recorded for the audit, and the contact data is erased
        at once (well before it); the invoice identity is retained (GDPR-3).

        ACCOUNT-6 (1.1): a data subject's right, so accepted on a closed account too; it
        erases whatever is still held, soft-deleted data included (annual-b2b keeps it
        soft-deleted for 6 months after a closure, GDPR-2)."""
        if self.personal_data_gone:
            return  # nothing left to erase: the earlier request's record stands
        self._deletion_requested(
            at=at,
            due_at=self.profile.deletion_deadline.after(at),
            activity=is_activity("request_data_deletion"),
        )
        self._erase(at, "deletion_request")

    @event(DataDeletionRequested)
    def _deletion_requested(self, at: datetime, due_at: datetime, activity: bool = True) -> None:
        self.deletion_due_at = due_at
        if activity:
            self.last_activity_at = at

    def export_personal_data(self, *, at: datetime) -> None:
        """GDPR-4: the export itself is recorded for the audit trail (GDPR-6). ACCOUNT-6
        (1.1): accepted on a closed account too (after erasure the fields read "erased")."""
        self._exported(at=at)

    @event(PersonalDataExported)
    def _exported(self, at: datetime) -> None:
        self._customer_command("export_personal_data", at)

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

    def _relationship_ended(self, at: datetime, reason: str = "GDPR-2") -> None:
        """GDPR-2 retention once nothing is live any more: crm-retention erases a
        retention period after the last subscription's end; annual-b2b soft-deletes at
        deactivation (the end of access after a termination, CANCEL-4) and anonymises a
        retention period later. The others erase at closure (`_privacy_at_closure`)."""
        policy = self.profile.retention
        if (
            policy == "erase_after_end"
            and self.erase_at is None
            and self.personal_state == "present"
        ):
            self._erasure_scheduled(
                at=at, erase_at=self.profile.retention_period.after(at), reason=reason
            )
        elif policy == "soft_delete_then_anonymise" and self.personal_state == "present":
            self._soft_deleted(at=at, anonymise_at=self.profile.retention_period.after(at))

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

    def _erase(self, at: datetime, reason: str) -> None:
        """GDPR-5: the erasure is recorded here; the privacy keeper then destroys the
        subject's key (crypto-shredding, consumers/privacy_keeper.py), so the sealed
        fields read as erased while every event stays."""
        if not self.personal_data_gone:
            self._erased(at=at, reason=reason)
            self._retain_invoice_identity(at)

    @event(PersonalDataErased)
    def _erased(self, at: datetime, reason: str) -> None:
        self.personal_state = "erased"
        self.erase_at = None
        self.anonymise_at = None

    def _invoice_identity_until(self, at: datetime) -> datetime:
        """GDPR-3: financial records are kept `financial_retention_years` after the last."""
        return invoice_identity_until(
            (i.issued_at for i in self.invoices.values()),
            at,
            self.profile.financial_retention_years,
        )

    def _retain_invoice_identity(self, at: datetime) -> None:
        if self.billing_state == "present" and not self.invoices:
            self._identity_erased(at=at)  # no invoice carries it: nothing to keep
        elif self.billing_state == "present":
            years = self.profile.financial_retention_years
            self._identity_retained(
                at=at,
                until=self._invoice_identity_until(at),
                reason=f"GDPR-3: invoices keep the billing name and address for {years} "
                "years after the last one (accounting law); the contact data is gone",
            )

    @event(InvoiceIdentityRetained)
    def _identity_retained(self, at: datetime, until: datetime, reason: str) -> None:
        self.billing_state = "retained"
        self.billing_erase_at = until

    def _invoice_identity_due(self, at: datetime, _book: PriceBook) -> None:
        """At the end of retention: erase, unless a later invoice extended it."""
        until = self._invoice_identity_until(at)
        if self.billing_erase_at is not None and until > self.billing_erase_at:
            self._identity_retained(
                at=at,
                until=until,
                reason="a later invoice extends the retention of financial records (GDPR-3)",
            )
        else:
            self._identity_erased(at=at)

    @event(InvoiceIdentityErased)
    def _identity_erased(self, at: datetime) -> None:
        self.billing_state = "erased"
        self.billing_erase_at = None

    # ---------------------------------------- inactivity and closure (ACCOUNT-3, ACCOUNT-4)
    class AccountClosed(Aggregate.Event):
        """`dunning` (1.1): money still owed stays owed and its dunning goes on after the
        closure (ACCOUNT-3). Closures recorded before 1.1 carry no such field: their
        dunning stopped at the closure, and they replay that way (False)."""

        class_version = 1
        at: datetime
        reason: str
        dunning: bool = False

    class CreditWaived(Aggregate.Event):
        """ACCOUNT-3 (1.1), device-cloud (004 s6.5.5): credit held at an inactivity closure
        is not paid back; it leaves the customer's credit (other income in the journal)."""

        class_version = 1
        at: datetime
        amount: int
        reason: str

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
            raise Rejected(
                ErrorCode.CLOSURE_REJECTED,
                "the account cannot be closed: " + ", ".join(reasons),
                reasons=tuple(reasons),
            )
        self._closed(at=at, reason="customer_request", dunning=True)
        self._privacy_at_closure(at)

    def _privacy_at_closure(self, at: datetime) -> None:
        policy = self.profile.retention
        if policy == "erase_at_closure":  # GDPR-2 monthly-autorenew, device-cloud
            self._erase(at, "closure")
        elif policy == "erase_after_end":  # crm: termination is the earlier of the two
            erase_at = earlier_erasure(self.erase_at, self.profile.retention_period.after(at))
            if self.personal_state == "present" and erase_at is not None:
                self._erasure_scheduled(at=at, erase_at=erase_at, reason="GDPR-2")
        elif self.personal_state == "present":
            self._soft_deleted(at=at, anonymise_at=self.profile.retention_period.after(at))

    @event(AccountClosed)
    def _closed(self, at: datetime, reason: str, dunning: bool = False) -> None:
        self.closed_at = at
        self.dunning_after_closure = dunning

    def _close_inactive(self, at: datetime, _book: PriceBook) -> None:
        """ACCOUNT-3: closed and erased at once, overriding GDPR-2 retention. (1.1) It runs
        before any other work of its instant; what is live ends with no refund (CANCEL-2,
        device-cloud's ACCOUNT-5 waiver); money owed stays owed, its dunning goes on; credit
        held is paid back, or waived where the contract says so (`credit_at_closure`)."""
        if self.live_trial() is not None:
            self._trial_ended(at=at, outcome="closed")
        if self.live_subscription() is not None:
            self._subscription_ended(at=at, reason="account_closed")
        for package in self.prepaid:
            if package.state in ("active", "queued"):
                self._prepaid_ended(at=at, index=package.index)
        self._closed(at=at, reason="inactivity", dunning=True)
        if self.credit > 0 and self.profile.credit_at_closure == "waive":
            self._credit_waived(
                at=at,
                amount=self.credit,
                reason="ACCOUNT-3: credit waived at an inactivity closure",
            )
        elif self.credit > 0:
            self._refund(at=at, amount=self.credit, n=0, reason="ACCOUNT-3", returns="credit")
        self._erase(at, "inactivity")

    @event(CreditWaived)
    def _credit_waived(self, at: datetime, amount: int, reason: str) -> None:
        self.credit -= amount

    # -------------------------- scheduled work: every timer above, indexed (SPEC section 0)
    def _work(self) -> list[Work]:
        """Every deadline this account has, derived from its state."""
        work: list[Work] = []
        privacy = self._privacy_work()
        if self.is_closed:  # ACCOUNT-3 (1.1): money owed stays owed, dunning goes on
            return (self._dunning_work() if self.dunning_after_closure else []) + privacy
        trial = self.live_trial()
        if trial is not None:
            work.append((trial.ends_at, _TRIAL_END, self._expire_trial))
        active = self.active_prepaid()
        if active is not None:
            work.append((active.ends_at, _PREPAID, self._roll_prepaid))
        sub = self.live_subscription()
        if sub is not None:
            work.append((self._boundary(sub), _TERM_END, self._term_boundary))
            reminder = self._reminder_due(sub)
            if reminder is not None:
                work.append((reminder, _REMINDER, self._send_reminder))
        work += self._dunning_work()
        if self.past_due_since is not None and not self.suspended:
            work.append(
                (
                    suspension_at(self.past_due_since, self.profile.suspend_after_days),
                    _SUSPEND,
                    self._suspend,
                )
            )
        if self.profile.inactivity is not None:
            work.append(
                (
                    self.profile.inactivity.after(self.last_activity_at),
                    _INACTIVE,
                    self._close_inactive,
                )
            )
        return work + privacy

    def _dunning_work(self) -> list[Work]:
        """PAY-2/PAY-3 on each unpaid invoice: overdue marking, then interest month by
        month. After a closure too (ACCOUNT-3, 1.1), except that no interest is charged at
        the closing instant itself: that month is passed over."""
        work: list[Work] = []
        for invoice in self.invoices.values():
            if invoice.void or invoice.unpaid == 0:
                continue
            if not invoice.overdue and invoice.collection != "pending":
                work.append((invoice.due_at, _OVERDUE, self._overdue_action(invoice.n)))
            elif invoice.overdue and self.profile.late_interest_percent is not None:
                month = next_interest_month(invoice.due_at, invoice.interest_next, self.closed_at)
                work.append(
                    (
                        interest_due_at(invoice.due_at, month),
                        _INTEREST,
                        self._interest_action(invoice.n, month),
                    )
                )
        return work

    def _privacy_work(self) -> list[Work]:
        work: list[Work] = []
        if self.billing_erase_at is not None:
            work.append((self.billing_erase_at, _RETENTION, self._invoice_identity_due))
        if self.export_until is not None and not self.export_window_closed:
            work.append((self.export_until, _EXPORT_END, self._close_export_window))
        if self.personal_data_gone:
            return work
        if self.deletion_due_at is not None:  # requests recorded before erasure-at-once
            work.append(
                (
                    self.deletion_due_at,
                    _DELETION,
                    lambda at, _b: self._erase(at, "deletion_request"),
                )
            )
        if self.export_until is not None and not self.export_window_closed:
            # VENDOR-2: the customer may still export until export_until; the GDPR-2 path
            # then runs counted from there (`_close_export_window`), so a retention
            # erasure or anonymisation scheduled before the termination waits for it
            return work
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
