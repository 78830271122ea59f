"""The decision state an `Account` keeps: what the rules need to accept or refuse commands.

These are mutated only by the account's event bodies. Read models for people live in
`projections/`, which fold the same events into their own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Invoice:
    n: int
    issued_at: datetime
    due_at: datetime
    amount: int  # after credit notes: what is owed, gross (TAX-1)
    kind: str  # "subscription", "renewal", "prepaid"
    period_start: datetime
    period_end: datetime
    collection: str = "none"  # "none", "pending", "approved", "declined"
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
    kind: str
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
    term_index: int = 0
    term_start: datetime | None = None
    term_end: datetime | None = None
    invoice: int = 0
    cancel_requested_at: datetime | None = None
    ends_at: datetime | None = None  # set by a cancellation: the instant access ends
    reminded_for: datetime | None = None  # RENEW-3: the term end already reminded of
    live: bool = True
    price_paid: int = 0  # CHANGE-2: net of the term invoice plus this term's prorations
    scheduled: tuple[str, str] | None = None  # CHANGE-3: (plan, term) from the next renewal
    cancel_settled: bool = False  # CHANGE-4: the cancellation refunded or credited money


@dataclass
class Prepaid:
    index: int
    plan: str
    months: int
    starts_at: datetime
    ends_at: datetime
    invoice: int
    state: str = "queued"  # "queued", "active", "ended", "cancelled"
