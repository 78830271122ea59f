"""Dunning arithmetic: when an unpaid invoice costs more, and how much (PAY-2, PAY-3, and
VENDOR-3's liquidated damages, a fee of the same shape).

Pure functions of instants, integer minor units and the contract's percentages: the
account decides which invoice is overdue and records what these return. Amounts are
gross (TAX-4) and the charges themselves are untaxed (TAX-3).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.calendar import add_days, add_months
from domain.money import percent_of


def fee(base: int, percent: Decimal, minimum: int) -> int:
    """`percent` of `base`, rounded half-up once (SPEC section 0), at least `minimum`.
    PAY-3's fixed compensation (of the invoice's gross amount) and VENDOR-3's liquidated
    damages (of the term's price paid so far) both take this shape."""
    return max(percent_of(base, percent), minimum)


def interest(principal: int, percent: Decimal) -> int:
    """PAY-3: one month's interest on the invoice's unpaid gross principal (TAX-4); a
    started month counts in full, so no day count enters."""
    return percent_of(principal, percent)


def interest_due_at(due_at: datetime, month: int) -> datetime:
    """PAY-3: interest month k is charged at due + k months (k = 0, 1, ...), each from
    the due date itself, never chained (SPEC section 0)."""
    return add_months(due_at, month)


def next_interest_month(due_at: datetime, month: int, closed_at: datetime | None) -> int:
    """PAY-3 after a closure (ACCOUNT-3, 1.1): dunning goes on, but no interest is charged
    at or before the closing instant: the months up to it are passed over."""
    while closed_at is not None and interest_due_at(due_at, month) <= closed_at:
        month += 1
    return month


def suspension_at(past_due_since: datetime, suspend_after_days: int) -> datetime:
    """PAY-2: access is suspended once the account has been overdue longer than
    `suspend_after_days` (annual-b2b 0: at once)."""
    return add_days(past_due_since, suspend_after_days)
