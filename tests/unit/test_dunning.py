"""PAY-2, PAY-3 and VENDOR-3 arithmetic (domain/dunning.py), hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.dunning import fee, interest, interest_due_at, next_interest_month, suspension_at


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("base", "percent", "minimum", "expected"),
    [
        (100000, "20", 15000, 20000),  # PAY-3: 20 % of 1000.00
        (50000, "20", 15000, 15000),  # PAY-3: 100.00 is below the 150.00 minimum
        (75000, "20", 15000, 15000),  # exactly the minimum
        (2, "25", 0, 1),  # 0.005 rounds half-up to 0.01
        (120000, "20", 10000, 24000),  # VENDOR-3: 20 % of the price paid so far
        (30000, "20", 10000, 10000),  # VENDOR-3: at least 100.00
    ],
)
def test_pay_3_and_vendor_3_fee_is_a_percent_with_a_minimum(
    base: int, percent: str, minimum: int, expected: int
) -> None:
    """PAY-3 fixed compensation; VENDOR-3 liquidated damages: max(p % of base, minimum)."""
    assert fee(base, Decimal(percent), minimum) == expected


@pytest.mark.parametrize(
    ("principal", "expected"), [(123450, 1235), (123449, 1234), (100, 1), (49, 0), (0, 0)]
)
def test_pay_3_interest_is_one_percent_of_the_unpaid_principal(
    principal: int, expected: int
) -> None:
    """PAY-3: 1 % of the unpaid gross principal, a started month in full, half-up."""
    assert interest(principal, Decimal(1)) == expected


def test_pay_3_interest_months_count_from_the_due_date_never_chained() -> None:
    """PAY-3 at due + k months; section 0: Jan 31 gives Feb 28, Mar 31, Apr 30."""
    due = utc(2026, 1, 31, 9)
    assert [interest_due_at(due, k) for k in range(4)] == [
        due,
        utc(2026, 2, 28, 9),
        utc(2026, 3, 31, 9),
        utc(2026, 4, 30, 9),
    ]


@pytest.mark.parametrize(
    ("month", "closed_at", "expected"),
    [
        (0, None, 0),  # open account: the next month as recorded
        (2, None, 2),
        (0, utc(2026, 3, 31, 9), 3),  # due + 2 months is the closing instant: passed over
        (0, utc(2026, 3, 31, 8, 59), 2),  # a minute before it: month 2 still comes
        (5, utc(2026, 3, 31, 9), 5),  # months already charged stay behind
    ],
)
def test_account_3_no_interest_at_or_before_the_closing_instant(
    month: int, closed_at: datetime | None, expected: int
) -> None:
    """ACCOUNT-3 (1.1), PAY-3: after a closure dunning goes on, but the interest months up
    to the closing instant are passed over."""
    assert next_interest_month(utc(2026, 1, 31, 9), month, closed_at) == expected


@pytest.mark.parametrize(("days", "expected"), [(7, utc(2026, 2, 8, 12)), (0, utc(2026, 2, 1, 12))])
def test_pay_2_suspension_after_the_profiles_days(days: int, expected: datetime) -> None:
    """PAY-2: suspended once overdue longer than `suspend_after_days` (annual-b2b 0)."""
    assert suspension_at(utc(2026, 2, 1, 12), days) == expected
