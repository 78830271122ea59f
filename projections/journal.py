"""Double-entry postings derived from account events (SPEC section 8, balances).

Each posting debits one ledger account and credits another by the same amount, so the
journal balances at every position by construction; the account view's balances are
read off these ledger accounts rather than summed separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.event_records import from_domain_event

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


def postings_for(event: Any) -> list[Posting]:  # noqa: PLR0911
    event = from_domain_event(event)
    name = event.event_type
    if name == "InvoiceIssued":
        return [Posting("receivable:principal", "revenue:deferred", event.amount,
                        f"invoice {event.n}")] if event.amount else []
    if name == "CreditNoteIssued":
        return [Posting("revenue:credit_notes", "receivable:principal", event.amount,
                        f"credit note on invoice {event.n}")]
    if name == "InterestCharged":
        return [Posting("receivable:interest", "income:interest", event.amount,
                        f"interest month {event.month} on invoice {event.n}")] \
            if event.amount else []
    if name == "CompensationCharged":
        return [Posting("receivable:fees", "income:fees", event.amount,
                        f"fixed compensation on invoice {event.n}")]
    if name == "LiquidatedDamagesCharged":  # VENDOR-3: a fee, untaxed (TAX-3)
        return [Posting("receivable:fees", "income:liquidated_damages", event.amount,
                        "liquidated damages (cancellation for non-payment)")]
    if name == "CollectionCostRecorded":
        return [Posting("receivable:fees", "income:collection_costs", event.amount,
                        "collection cost")]
    if name == "PaymentReceived":
        out = [Posting("cash", _receivable(cid), part, f"payment {event.reference} to {cid}")
               for cid, part in event.allocations]
        if event.to_credit:
            out.append(Posting("cash", "liability:customer_credit", event.to_credit,
                               f"payment {event.reference} held as credit"))
        return out
    if name == "CreditApplied":
        return [Posting("liability:customer_credit", _receivable(cid), part,
                        f"credit set off against {cid}") for cid, part in event.allocations]
    if name == "RefundIssued":
        debit = "receivable:principal" if event.returns == "overpayment" else "revenue:refunds"
        return [Posting(debit, "cash", event.amount, f"refund on invoice {event.n}")]
    return []


def trial_balance(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The journal's lines with the trial balance they make: per ledger account its
    debits, credits and net, and whether the totals agree. One place for the CLI and the
    HTTP API, so both report the same balance for the same lines."""
    totals: dict[str, list[int]] = {}
    for line in lines:
        totals.setdefault(line["debit"], [0, 0])[0] += line["amount"]
        totals.setdefault(line["credit"], [0, 0])[1] += line["amount"]
    debits = sum(t[0] for t in totals.values())
    credits = sum(t[1] for t in totals.values())
    balance = {name: {"debit": d, "credit": c, "net": d - c}
               for name, (d, c) in sorted(totals.items())}
    return {"lines": lines, "trial_balance": balance, "debits": debits, "credits": credits,
            "balanced": debits == credits}
