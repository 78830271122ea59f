"""The catalog and announced price changes (PRICE-1..3), and the price in force at an instant.

`PriceSchedule` is the aggregate that records announcements, and refuses one the
contract does not allow: an unknown plan or term, a negative price, or a notice shorter
than the profile's `min_price_notice` (PRICE-2), counted from when the notice is received
on its channel (NOTICE-1). `PriceBook` is the pure view that commands are given, so the
account aggregate never reads configuration itself. The book also carries the tax table
(SPEC section 9): catalog prices are net, and what a document owes is the price plus its
tax, fixed when the document is issued (`TAX-1/2`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.calendar import add_days, format_instant
from domain.errors import ErrorCode, Rejected, invalid
from domain.profiles import Period
from domain.tax import TaxTable

PRICE_SCHEDULE_ID = uuid5(NAMESPACE_URL, "subledger:/price-schedule")
# NOTICE-1: days after sending until a notice counts as received, by channel
NOTICE_DELAY_DAYS = {"email": 0, "courier": 1, "mail": 2}


def notice_received_at(sent_at: datetime, channel: str) -> datetime:
    """NOTICE-1: when a notice sent at `sent_at` on `channel` counts as received."""
    if channel not in NOTICE_DELAY_DAYS:
        raise invalid(f"channel must be one of {list(NOTICE_DELAY_DAYS)}", "channel")
    return add_days(sent_at, NOTICE_DELAY_DAYS[channel])


@dataclass(frozen=True, slots=True)
class PriceChange:
    plan: str
    term: str
    new_price: int
    effective_at: datetime
    sequence: int
    announced_at: datetime | None = None  # PRICE-5: None when not known (built by hand)


@dataclass(frozen=True)
class PriceBook:
    """Catalog prices (plan -> term -> minor units, net) overlaid with announced changes,
    and the tax table in force (None: no taxes)."""

    catalog: dict[str, dict[str, int]]
    changes: tuple[PriceChange, ...] = field(default=())
    tax: TaxTable | None = None

    def has_plan(self, plan: str) -> bool:
        return plan in self.catalog

    def price(self, plan: str, term: str, at: datetime) -> int | None:
        """PRICE-3: the latest change effective at or before `at`, else the catalog price."""
        base = self.catalog.get(plan, {}).get(term)
        best: PriceChange | None = None
        for change in self.changes:
            if (
                change.plan == plan
                and change.term == term
                and change.effective_at <= at
                and (
                    best is None
                    or (change.effective_at, change.sequence) >= (best.effective_at, best.sequence)
                )
            ):
                best = change
        return best.new_price if best is not None else base

    def prepaid_price(self, plan: str, months: int, at: datetime) -> int | None:
        """TERM-6: a `prepaid_<N>` catalog entry, else N x the monthly price in force."""
        package = self.price(plan, f"prepaid_{months}", at)
        if package is not None:
            return package
        monthly = self.price(plan, "monthly", at)
        return None if monthly is None else monthly * months

    def pending_changes(self, plan: str, term: str, at: datetime) -> list[PriceChange]:
        """PRICE-5 (1.1): changes announced for the plan and term by `at` that are not yet
        in force at `at` (their `effective_at` is later), in announcement order."""
        return [
            change
            for change in sorted(self.changes, key=lambda c: c.sequence)
            if change.plan == plan
            and change.term == term
            and at < change.effective_at
            and (change.announced_at is None or change.announced_at <= at)
        ]


class PriceSchedule(Aggregate):
    """The deployment's record of announced price changes, one stream for all plans."""

    class_version = 1

    class Opened(Aggregate.Created):
        class_version = 1

    class PriceChangeAnnounced(Aggregate.Event):
        class_version = 1
        plan: str
        term: str
        new_price: int
        effective_at: datetime
        announced_at: datetime
        channel: str
        notice_effective_at: datetime

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return PRICE_SCHEDULE_ID

    @event(Opened)
    def __init__(self) -> None:
        self.changes: list[PriceChange] = []

    def announce(
        self,
        *,
        plan: str,
        term: str,
        new_price: int,
        effective_at: datetime,
        announced_at: datetime,
        channel: str,
        book: PriceBook,
        min_notice: Period,
    ) -> datetime:
        """PRICE-1/2, NOTICE-1: record a new price for a plan and term of the catalog
        (`book`), effective no sooner than `min_notice` (the profile's PRICE-2 period)
        after the notice counts as received. Returns that instant, the notices'
        `effective_at`."""
        if not book.has_plan(plan):
            raise Rejected(ErrorCode.UNKNOWN_PLAN, f"no plan {plan!r} in the catalog")
        if book.price(plan, term, announced_at) is None:
            raise Rejected(
                ErrorCode.TERM_NOT_OFFERED, f"plan {plan!r} has no {term!r} price to change"
            )
        if new_price < 0:
            raise Rejected(ErrorCode.INVALID_AMOUNT, "a price cannot be negative")
        notice_effective_at = notice_received_at(announced_at, channel)
        earliest = min_notice.after(notice_effective_at)
        if effective_at < earliest:
            raise Rejected(
                ErrorCode.PRICE_NOTICE_TOO_SHORT,
                f"the new price may take effect at {format_instant(earliest)} at the earliest",
            )
        self._announced(
            plan=plan,
            term=term,
            new_price=new_price,
            effective_at=effective_at,
            announced_at=announced_at,
            channel=channel,
            notice_effective_at=notice_effective_at,
        )
        return notice_effective_at

    @event(PriceChangeAnnounced)
    def _announced(
        self,
        plan: str,
        term: str,
        new_price: int,
        effective_at: datetime,
        announced_at: datetime,
        channel: str,
        notice_effective_at: datetime,
    ) -> None:
        self.changes.append(
            PriceChange(plan, term, new_price, effective_at, len(self.changes), announced_at)
        )
