"""Double-entry postings derived from account events (SPEC section 8, balances).

Each posting debits one ledger account and credits another by the same amount, so the
journal balances at every position by construction; the account view's balances are
read off these ledger accounts rather than summed separately.

TAX-5: an invoice debits the receivable with what is owed (gross) against revenue (net)
and `vat_payable` (tax); a credit note reverses both parts in its own split. Interest,
compensation and collection costs carry no tax (TAX-3). Events stored without a tax split
book their whole amount as revenue, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from projections.documents import AccountTotals, JournalLine, TrialBalance
from projections.event_records import EventRecord, from_domain_event

VAT_PAYABLE = "vat_payable"
RECEIVABLE_BY_PREFIX = {
    "inv": "receivable:principal",
    "int": "receivable:interest",
    "comp": "receivable:fees",
    "cost": "receivable:fees",
    "ld": "receivable:fees",  # VENDOR-3 liquidated damages
}


@dataclass(frozen=True, slots=True)
class Posting:
    debit: str
    credit: str
    amount: int
    memo: str


def _receivable(cid: str) -> str:
    return RECEIVABLE_BY_PREFIX[cid.split(":", 1)[0]]


def postings_for(event: object) -> list[Posting]:
    """The postings an account event makes; events that move no money make none."""
    record = from_domain_event(event)
    posts = _POSTINGS.get(record.event_type)
    return [] if posts is None else posts(record)


def _invoice_issued(event: EventRecord) -> list[Posting]:
    tax = event.get("tax", 0)
    out = (
        [
            Posting(
                "receivable:principal", "revenue:deferred", event.amount - tax, f"invoice {event.n}"
            )
        ]
        if event.amount - tax
        else []
    )
    if tax:
        out.append(
            Posting(
                "receivable:principal",
                VAT_PAYABLE,
                tax,
                f"VAT {event.tax_rate} % on invoice {event.n}",
            )
        )
    return out


def _credit_note_issued(event: EventRecord) -> list[Posting]:
    tax = event.get("tax", 0)
    out = (
        [
            Posting(
                "revenue:credit_notes",
                "receivable:principal",
                event.amount - tax,
                f"credit note on invoice {event.n}",
            )
        ]
        if event.amount - tax
        else []
    )
    if tax:
        out.append(
            Posting(
                VAT_PAYABLE,
                "receivable:principal",
                tax,
                f"VAT of the credit note on invoice {event.n}",
            )
        )
    return out


def _interest_charged(event: EventRecord) -> list[Posting]:
    return (
        [
            Posting(
                "receivable:interest",
                "income:interest",
                event.amount,
                f"interest month {event.month} on invoice {event.n}",
            )
        ]
        if event.amount
        else []
    )


def _compensation_charged(event: EventRecord) -> list[Posting]:
    return [
        Posting(
            "receivable:fees",
            "income:fees",
            event.amount,
            f"fixed compensation on invoice {event.n}",
        )
    ]


def _liquidated_damages_charged(event: EventRecord) -> list[Posting]:
    """VENDOR-3: a fee, untaxed (TAX-3)."""
    return [
        Posting(
            "receivable:fees",
            "income:liquidated_damages",
            event.amount,
            "liquidated damages (cancellation for non-payment)",
        )
    ]


def _collection_cost_recorded(event: EventRecord) -> list[Posting]:
    return [Posting("receivable:fees", "income:collection_costs", event.amount, "collection cost")]


def _payment_received(event: EventRecord) -> list[Posting]:
    out = [
        Posting("cash", _receivable(cid), part, f"payment {event.reference} to {cid}")
        for cid, part in event.allocations
    ]
    if event.to_credit:
        out.append(
            Posting(
                "cash",
                "liability:customer_credit",
                event.to_credit,
                f"payment {event.reference} held as credit",
            )
        )
    return out


def _credit_applied(event: EventRecord) -> list[Posting]:
    return [
        Posting(
            "liability:customer_credit", _receivable(cid), part, f"credit set off against {cid}"
        )
        for cid, part in event.allocations
    ]


def _refund_issued(event: EventRecord) -> list[Posting]:
    if event.returns == "credit":  # 1.1: credit paid back (ACCOUNT-3, ACCOUNT-6)
        return [
            Posting(
                "liability:customer_credit",
                "cash",
                event.amount,
                f"refund of credit ({event.reason})",
            )
        ]
    debit = "receivable:principal" if event.returns == "overpayment" else "revenue:refunds"
    return [Posting(debit, "cash", event.amount, f"refund on invoice {event.n}")]


def _credit_waived(event: EventRecord) -> list[Posting]:
    """1.1 ACCOUNT-3: device-cloud keeps credit held at an inactivity closure, as other
    income."""
    return [
        Posting(
            "liability:customer_credit",
            "income:other",
            event.amount,
            "credit waived at an inactivity closure",
        )
    ]


_POSTINGS: dict[str, Callable[[EventRecord], list[Posting]]] = {
    "InvoiceIssued": _invoice_issued,
    "CreditNoteIssued": _credit_note_issued,
    "InterestCharged": _interest_charged,
    "CompensationCharged": _compensation_charged,
    "LiquidatedDamagesCharged": _liquidated_damages_charged,
    "CollectionCostRecorded": _collection_cost_recorded,
    "PaymentReceived": _payment_received,
    "CreditApplied": _credit_applied,
    "RefundIssued": _refund_issued,
    "CreditWaived": _credit_waived,
}


def trial_balance(lines: list[JournalLine]) -> TrialBalance:
    """The journal's lines with the trial balance they make: per ledger account its
    debits, credits and net, and whether the totals agree. One place for the CLI and the
    HTTP API, so both report the same balance for the same lines."""
    totals: dict[str, list[int]] = {}
    for line in lines:
        totals.setdefault(line["debit"], [0, 0])[0] += line["amount"]
        totals.setdefault(line["credit"], [0, 0])[1] += line["amount"]
    debits = sum(t[0] for t in totals.values())
    credits = sum(t[1] for t in totals.values())
    balance: dict[str, AccountTotals] = {
        name: {"debit": d, "credit": c, "net": d - c} for name, (d, c) in sorted(totals.items())
    }
    return {
        "lines": lines,
        "trial_balance": balance,
        "debits": debits,
        "credits": credits,
        "balanced": debits == credits,
    }
