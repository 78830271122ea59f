"""CANCEL-3 and CHANGE-2 arithmetic (domain/proration.py), hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.proration import cancel_prorated, upgrade_net


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


S = utc(2026, 1, 15, 10)  # an annual term from Jan 15, 10:00
E = utc(2027, 1, 15, 10)


@pytest.mark.parametrize(
    (
        "at",
        "amount",
        "received",
        "refunded",
        "monthly",
        "rate",
        "months",
        "owed",
        "access_until",
        "credit_note",
        "refund",
    ),
    [
        # paid in full, cancelled in the third month: 3 x 10.00 owed, 70.00 back
        (utc(2026, 3, 20), 10000, 10000, 0, 1000, "0", 3, 3000, utc(2026, 4, 15, 10), 0, 7000),
        # nothing paid: the unpaid part is credited down to C, nothing refunded
        (utc(2026, 3, 20), 10000, 0, 0, 1000, "0", 3, 3000, utc(2026, 4, 15, 10), 7000, 0),
        # half paid: credited down to what was received, the excess over C refunded
        (utc(2026, 3, 20), 10000, 5000, 0, 1000, "0", 3, 3000, utc(2026, 4, 15, 10), 5000, 2000),
        # exactly at S + 2 months the third month has started (inclusive)
        (utc(2026, 3, 15, 10), 10000, 10000, 0, 1000, "0", 3, 3000, utc(2026, 4, 15, 10), 0, 7000),
        # one microsecond before it, only two
        (
            utc(2026, 3, 15, 10) - timedelta(microseconds=1),
            10000,
            10000,
            0,
            1000,
            "0",
            2,
            2000,
            utc(2026, 3, 15, 10),
            0,
            8000,
        ),
        # at the start itself one month has started
        (S, 10000, 10000, 0, 1000, "0", 1, 1000, utc(2026, 2, 15, 10), 0, 9000),
        # m x monthly above the annual price: C is the invoice; access to the term's end
        (utc(2026, 12, 20), 10000, 10000, 0, 1000, "0", 12, 10000, E, 0, 0),
        # TAX-4: monthly 10.00 net is 12.10 gross at 21 %; the invoice 121.00 gross
        (utc(2026, 3, 20), 12100, 12100, 0, 1000, "21", 3, 3630, utc(2026, 4, 15, 10), 0, 8470),
        # TAX-4 rounding: 9.99 net at 5.5 % is 10.54 gross (tax 0.54945 rounds to 0.55)
        (utc(2026, 2, 1), 12000, 12000, 0, 999, "5.5", 1, 1054, utc(2026, 2, 15, 10), 0, 10946),
        # refunds already issued for the term are not paid twice
        (utc(2026, 3, 20), 10000, 10000, 7000, 1000, "0", 3, 3000, utc(2026, 4, 15, 10), 0, 0),
        # no monthly price in the catalog: the whole invoice is owed
        (utc(2026, 3, 20), 10000, 10000, 0, None, "0", 3, 10000, utc(2026, 4, 15, 10), 0, 0),
    ],
)
def test_cancel_3_owes_each_started_month(
    at: datetime,
    amount: int,
    received: int,
    refunded: int,
    monthly: int | None,
    rate: str,
    months: int,
    owed: int,
    access_until: datetime,
    credit_note: int,
    refund: int,
) -> None:
    """CANCEL-3: C = min(invoice, m x monthly gross), credit note down to max(C, received),
    refund = max(0, received - C - refunded), access until S + m months."""
    share = cancel_prorated(
        term_start=S,
        term_end=E,
        at=at,
        invoice_amount=amount,
        received=received,
        refunded=refunded,
        monthly_price=monthly,
        tax_rate=rate,
    )
    assert (
        share.months_started,
        share.owed,
        share.access_until,
        share.credit_note,
        share.refund,
    ) == (months, owed, access_until, credit_note, refund)


@given(
    amount=st.integers(0, 10**9),
    received=st.integers(0, 10**9),
    refunded=st.integers(0, 10**9),
    monthly=st.none() | st.integers(0, 10**8),
    day=st.integers(0, 364),
)
def test_cancel_3_never_refunds_more_than_received_nor_credits_money_received(
    amount: int, received: int, refunded: int, monthly: int | None, day: int
) -> None:
    """CANCEL-3: a refund never exceeds what was received; a credit note cancels only the
    unpaid part, so what is kept covers both C and the money received."""
    share = cancel_prorated(
        term_start=S,
        term_end=E,
        at=S + timedelta(days=day),
        invoice_amount=amount,
        received=received,
        refunded=refunded,
        monthly_price=monthly,
        tax_rate="21",
    )
    assert 0 <= share.refund <= received
    assert 0 <= share.owed <= amount
    assert 0 <= share.credit_note <= max(0, amount - received)
    assert S < share.access_until <= E


@pytest.mark.parametrize(
    ("start", "end", "at", "new_price", "paid", "net"),
    [
        # half of a 31-day term left: half of the 20.00 difference
        (utc(2026, 1, 1), utc(2026, 2, 1), utc(2026, 1, 16, 12), 3000, 1000, 1000),
        (utc(2026, 1, 1), utc(2026, 2, 1), utc(2026, 1, 1), 3000, 1000, 2000),  # at S: all
        (utc(2026, 1, 1), utc(2026, 2, 1), utc(2026, 2, 1), 3000, 1000, 0),  # at E: nothing
        # half-up once: 0.01 x 1/2 is 0.005 -> 0.01; 0.03 x 1/2 is 0.015 -> 0.02
        (utc(2026, 1, 1), utc(2026, 1, 3), utc(2026, 1, 2), 1001, 1000, 1),
        (utc(2026, 1, 1), utc(2026, 1, 3), utc(2026, 1, 2), 1003, 1000, 2),
        # exact time: one microsecond before E of a 31-day term is worth nothing
        (
            utc(2026, 1, 1),
            utc(2026, 2, 1),
            utc(2026, 2, 1) - timedelta(microseconds=1),
            3000,
            1000,
            0,
        ),
        # a second upgrade pays the difference from the first upgrade's price:
        # 25 % of the term left, 50.00 - 30.00
        (utc(2026, 1, 1), utc(2026, 1, 5), utc(2026, 1, 4), 5000, 3000, 500),
    ],
)
def test_change_2_upgrade_prorates_the_difference_by_exact_time(
    start: datetime, end: datetime, at: datetime, new_price: int, paid: int, net: int
) -> None:
    """CHANGE-2: net = round_half_up((new_price - price paid so far) x (E - t) / (E - S))."""
    assert (
        upgrade_net(new_price=new_price, price_paid=paid, term_start=start, term_end=end, at=at)
        == net
    )
