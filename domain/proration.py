"""Prorated money of a term: CANCEL-3 (a cancellation owes each started month) and CHANGE-2
(an upgrade pays the difference for the rest of the term).

Pure arithmetic on instants and integer minor units: the account decides when a rule
applies and records what these return; nothing here reads state or records events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.calendar import add_months, started_months
from domain.money import prorated
from domain.tax import gross_of

MICROSECOND = timedelta(microseconds=1)  # CHANGE-2: prorated by exact time


@dataclass(frozen=True, slots=True)
class ProratedCancellation:
    """CANCEL-3 for one term invoice, in gross amounts (TAX-4).

    `owed`: what the customer owes (C); `access_until`: S + m months (never past the term's
    end); `credit_note`: the unpaid part of the invoice cancelled (down to max(C, money
    received)), 0 when there is none; `refund`: money received beyond C and not refunded
    yet, 0 when there is none."""

    months_started: int
    owed: int
    access_until: datetime
    credit_note: int
    refund: int


def cancel_prorated(
    *,
    term_start: datetime,
    term_end: datetime,
    at: datetime,
    invoice_amount: int,
    received: int,
    refunded: int,
    monthly_price: int | None,
    tax_rate: str,
) -> ProratedCancellation:
    """CANCEL-3: the customer owes the monthly price of each started month,
    C = min(invoice amount, m x monthly price), m = the number of k >= 0 with
    S + k months <= t. TAX-4: the monthly price is the catalog's net price taken gross at
    the invoice's own rate. No monthly price in the catalog: the whole invoice is owed."""
    months = started_months(term_start, at)
    owed = (
        invoice_amount
        if monthly_price is None
        else min(invoice_amount, months * gross_of(monthly_price, tax_rate))
    )
    keep = max(owed, received)
    return ProratedCancellation(
        months_started=months,
        owed=owed,
        access_until=min(add_months(term_start, months), term_end),
        credit_note=max(0, invoice_amount - keep),
        refund=max(0, received - owed - refunded),
    )


def upgrade_net(
    *, new_price: int, price_paid: int, term_start: datetime, term_end: datetime, at: datetime
) -> int:
    """CHANGE-2: round_half_up((new_price - price_paid_so_far) x (E - t) / (E - S)), by
    exact time (microseconds: the instants' own resolution), net of tax (TAX-1 taxes the
    proration invoice like any other)."""
    return prorated(
        new_price - price_paid,
        (term_end - at) // MICROSECOND,
        (term_end - term_start) // MICROSECOND,
    )
