"""The decision state an `Account` keeps: what the rules need to accept or refuse commands.

These are mutated only by the account's event bodies. Read models for people live in
`projections/`, which fold the same events into their own shapes.

States are `Literal` string types, not enums: their values are what the events and the
read models store ("erased", "pending", ...), so a typed state and a stored one are the
same string, and old stores replay without a mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

# The contact data (ACCOUNT-1): held, soft-deleted (GDPR-2, annual-b2b, still held),
# anonymised (after the soft delete) or erased (GDPR-1, GDPR-2, ACCOUNT-3, GDPR-5).
PersonalState: TypeAlias = Literal["present", "soft_deleted", "anonymised", "erased"]
PERSONAL_DATA_GONE: frozenset[PersonalState] = frozenset({"anonymised", "erased"})
# The invoice identity (GDPR-3): none given, held, retained after the contact data went,
# or erased at the end of the retention of financial records.
BillingState: TypeAlias = Literal["none", "present", "retained", "erased"]
# TERM-3: a stored method's collection, asked of the payment provider and answered.
Collection: TypeAlias = Literal["none", "pending", "approved", "declined"]
# What an invoice bills: a first term (TERM-2), a renewal (RENEW-1), a prepaid package
# (TERM-6) or an upgrade's prorated difference (CHANGE-2).
InvoiceKind: TypeAlias = Literal["subscription", "renewal", "prepaid", "proration"]
# What is owed besides invoice principal, in PAY-4's classes (VENDOR-3 liquidated
# damages are allocated as compensation).
ChargeKind: TypeAlias = Literal["interest", "compensation", "collection_cost"]
PrepaidState: TypeAlias = Literal["queued", "active", "ended", "cancelled"]  # TERM-6


def personal_data_gone(state: PersonalState) -> bool:
    """The contact data is no longer held (anonymised or erased): nothing left to update,
    erase or soft-delete. Soft-deleted data is still held (GDPR-2, ACCOUNT-6)."""
    return state in PERSONAL_DATA_GONE


@dataclass
class Invoice:
    n: int
    issued_at: datetime
    due_at: datetime
    amount: int  # after credit notes: what is owed, gross (TAX-1)
    kind: InvoiceKind
    period_start: datetime
    period_end: datetime
    collection: Collection = "none"
    paid: int = 0
    refunded: int = 0
    overdue: bool = False
    disputed: bool = False
    void: bool = False
    compensated: bool = False
    interest_next: int = 0  # PAY-3: next k of due + k months
    net: int = 0  # after credit notes (TAX-1); amount = net + tax
    tax: int = 0
    tax_rate: str = "0"  # fixed at issue (TAX-2)
    tax_category: str | None = None  # None: issued without a tax table

    @property
    def unpaid(self) -> int:
        return max(self.amount - self.paid, 0)

    @property
    def cid(self) -> str:
        return f"inv:{self.n}"


@dataclass
class Charge:
    """Something owed besides invoice principal: interest, compensation, collection cost."""

    cid: str
    kind: ChargeKind
    amount: int
    seq: int
    invoice: int | None = None
    paid: int = 0

    @property
    def unpaid(self) -> int:
        return max(self.amount - self.paid, 0)


@dataclass
class Trial:
    plan: str
    started_at: datetime
    ends_at: datetime
    live: bool = True


@dataclass
class Subscription:
    plan: str
    term: str
    months: int
    method: str
    anchor: datetime
    renews: bool
    term_start: datetime  # the current term's [start, end); set at subscribing and renewal
    term_end: datetime
    term_index: int = 0
    invoice: int = 0
    cancel_requested_at: datetime | None = None
    ends_at: datetime | None = None  # set by a cancellation: the instant access ends
    reminded_for: datetime | None = None  # RENEW-3: the term end already reminded of
    live: bool = True
    price_paid: int = 0  # CHANGE-2: net of the term invoice plus this term's prorations
    scheduled: tuple[str, str] | None = None  # CHANGE-3: (plan, term) from the next renewal
    cancel_settled: bool = False  # CHANGE-4: the cancellation refunded or credited money


@dataclass(frozen=True)
class RenewalOutlook:
    """`Account.renewal_outlook`: whether the current term renews, when it ends, why not."""

    renews: bool
    at: datetime
    reason: str | None = None  # "cancelled" | "manual_method" (RENEW-2)
    method: str | None = None  # the manual method, for RENEW-2


@dataclass
class Prepaid:
    index: int
    plan: str
    months: int
    starts_at: datetime
    ends_at: datetime
    invoice: int
    state: PrepaidState = "queued"
