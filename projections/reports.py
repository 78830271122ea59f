"""Finance reports (issue 7), computed from the account views as they stood at an
instant (each account's events up to then, folded by the projection's own `fold`) and
from the journal's lines.

- `subscriptions`: live subscriptions by plan and term (prepaid packages as "prepaid").
- `mrr`: monthly recurring revenue by plan: each live subscription's term price, net of tax
  spread over the months of its term (prepaid: over its months); ARR = 12 x MRR.
- `mrr-movements`: how a month's MRR moved, account by account (mrr_movements.py).
- `conversion`: trials started, converted, expired, still running; conversion rate.
- `churn`: subscriptions live at the month's start that ended (or were cut off) in it.
- `revenue`: per month, invoiced (net of tax and of credit notes), collected (cash in),
  recognised (each invoice's net day by day over its period, whole days, the last day
  taking the rest).
- `ageing`: receivables not yet paid by days past due (current, 1-30, 31-60, 61-90, 90+).
- `vat` (TAX-5): per (country, category, rate), the documents issued in a month: invoices
  counted with their net and tax as issued, credit notes of the month subtracted; the
  ledger adds the reverse-charge customers' VAT ids while they are retained.
Amounts are integer minor units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.calendar import add_months, format_instant, parse_instant
from domain.profiles import TERM_MONTHS
from projections.account_view import invoice_record, status_of
from projections.documents import (
    AccountDoc,
    AgeingRow,
    ChurnRow,
    ConversionRow,
    InvoiceDoc,
    JournalLine,
    MrrRow,
    RevenueRow,
    Status,
    SubscriptionsRow,
    VatRow,
)

LIVE: tuple[Status, ...] = ("active", "pending_cancellation", "past_due", "suspended")
COLUMNS = {  # so that an empty report still has its header
    "subscriptions": ("plan", "term", "subscriptions"),
    "mrr": ("plan", "mrr", "arr", "subscriptions"),
    "conversion": ("trials", "converted", "expired", "running", "conversion_percent"),
    "churn": ("month", "live_at_start", "churned", "churn_percent"),
    "revenue": ("month", "invoiced", "collected", "recognised"),
    "ageing": ("as_of", "current", "1-30", "31-60", "61-90", "90+"),
    "vat": (
        "month",
        "country",
        "category",
        "rate",
        "invoices",
        "credit_notes",
        "net",
        "tax",
        "vat_ids",
    ),
    "mrr-movements": (
        "month",
        "opening",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "closing",
        "until",
    ),  # projections/mrr_movements.py
}
NAMES = tuple(COLUMNS)


def _live_term(doc: AccountDoc) -> tuple[str, str, int] | None:
    """(plan, term, months) of the live subscription or active prepaid package."""
    if status_of(doc) not in LIVE:
        return None
    sub = doc["sub"]
    if sub is not None and sub["live"]:
        return sub["plan"], sub["term"], TERM_MONTHS.get(sub["term"], 1)
    active = next((p for p in doc["prepaid"] if p["state"] == "active"), None)
    if active is not None:
        return active["plan"], "prepaid", int(active["months"])
    return None


def account_mrr(doc: AccountDoc) -> int:
    """The account's monthly recurring revenue: its live term's net price (the term
    invoice's, or the plan's after an upgrade, CHANGE-2) spread over the term's months,
    whole cents down; a prepaid package's over its months. Nothing live: 0."""
    live = _live_term(doc)
    if live is None:
        return 0
    sub = doc["sub"]
    if live[1] != "prepaid" and sub is not None:
        return int(sub.get("price", 0)) // live[2]
    active = next(p for p in doc["prepaid"] if p["state"] == "active")
    return int(active.get("price", 0)) // live[2]


def subscriptions(docs: Iterable[AccountDoc]) -> list[SubscriptionsRow]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for doc in docs:
        live = _live_term(doc)
        if live is not None:
            counts[(live[0], live[1])] += 1
    return [{"plan": p, "term": t, "subscriptions": n} for (p, t), n in sorted(counts.items())]


def mrr(docs: Iterable[AccountDoc]) -> list[MrrRow]:
    by_plan: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for doc in docs:
        live = _live_term(doc)
        if live is None:
            continue
        by_plan[live[0]][0] += account_mrr(doc)
        by_plan[live[0]][1] += 1
    return [
        {"plan": plan, "mrr": m, "arr": 12 * m, "subscriptions": n}
        for plan, (m, n) in sorted(by_plan.items())
    ]


def conversion(docs: Iterable[AccountDoc]) -> list[ConversionRow]:
    started = converted = expired = running = 0
    for doc in docs:
        trial = doc["trial"]
        if trial is None:
            continue
        started += 1
        if trial["live"]:
            running += 1
        elif trial.get("outcome") == "converted":
            converted += 1
        else:
            expired += 1
    decided = converted + expired
    rate = None if not decided else round(100 * converted / decided, 1)
    return [
        {
            "trials": started,
            "converted": converted,
            "expired": expired,
            "running": running,
            "conversion_percent": rate,
        }
    ]


def churn(
    start_docs: dict[str, AccountDoc], end_docs: dict[str, AccountDoc], month: str
) -> list[ChurnRow]:
    live_at_start = {aid for aid, doc in start_docs.items() if _live_term(doc) is not None}
    churned = {
        aid for aid in live_at_start if aid not in end_docs or _live_term(end_docs[aid]) is None
    }
    rate = None if not live_at_start else round(100 * len(churned) / len(live_at_start), 1)
    return [
        {
            "month": month,
            "live_at_start": len(live_at_start),
            "churned": len(churned),
            "churn_percent": rate,
        }
    ]


def recognised_by(invoice: InvoiceDoc, at: datetime) -> int:
    start, end = parse_instant(invoice["period_start"]), parse_instant(invoice["period_end"])
    days = max((end - start).days, 1)
    elapsed = min(max((at - start).days, 0), days)
    return int(invoice.get("net", invoice["amount"])) * elapsed // days  # revenue is net


def revenue(
    docs: Iterable[AccountDoc], journal: Iterable[JournalLine], month: str
) -> list[RevenueRow]:
    start = parse_instant(f"{month}-01T00:00:00Z")
    end = add_months(start, 1)
    invoiced = collected = 0
    for line in journal:
        at = parse_instant(line["at"])
        if not start <= at < end:
            continue
        if line["credit"] == "revenue:deferred":
            invoiced += line["amount"]
        elif line["debit"] == "revenue:credit_notes":
            invoiced -= line["amount"]
        if line["debit"] == "cash":
            collected += line["amount"]
    recognised = sum(
        recognised_by(i, end) - recognised_by(i, start)
        for doc in docs
        for i in doc["invoices"]
        if not i["void"]
    )
    return [
        {"month": month, "invoiced": invoiced, "collected": collected, "recognised": recognised}
    ]


BUCKETS = (("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90), ("90+", None))


def ageing(docs: Iterable[AccountDoc], as_of: datetime) -> list[AgeingRow]:
    totals = dict.fromkeys((name for name, _ in BUCKETS), 0)
    for doc in docs:
        for invoice in doc["invoices"]:
            unpaid = invoice["amount"] - invoice["paid"]
            if invoice["void"] or unpaid <= 0:
                continue
            late = (as_of - parse_instant(invoice["due_at"])) / timedelta(days=1)
            bucket = next(name for name, limit in BUCKETS if limit is None or late <= limit)
            totals[bucket] += unpaid
    return [
        {
            "as_of": format_instant(as_of),
            "current": totals["current"],
            "1-30": totals["1-30"],
            "31-60": totals["31-60"],
            "61-90": totals["61-90"],
            "90+": totals["90+"],
        }
    ]


def vat(docs: Iterable[AccountDoc], month: str) -> list[VatRow]:
    """TAX-5, from each document's own record of its country, category and rate (kept in
    clear, so the report survives erasure). A credit note counts in the month it is
    issued, on its invoice's line. Reverse-charge lines carry `documents`, the (account,
    n) pairs whose buyer VAT ids the ledger looks up in the sealed invoice identities.
    Invoices issued without a tax table appear with no category, at rate "0"."""
    start = parse_instant(f"{month}-01T00:00:00Z")
    end = add_months(start, 1)
    rows: dict[tuple[str, str, str], VatRow] = {}
    for doc in docs:
        for n in range(1, len(doc["invoices"]) + 1):
            record = invoice_record(doc, n)
            assert record is not None
            key = (record["country"] or "", record["tax_category"] or "", record["tax_rate"])
            row = rows.get(key) or {
                "month": month,
                "country": record["country"],
                "category": record["tax_category"],
                "rate": record["tax_rate"],
                "invoices": 0,
                "credit_notes": 0,
                "net": 0,
                "tax": 0,
                "documents": [],
            }
            touched = False
            if start <= parse_instant(record["issued_at"]) < end:
                row["invoices"] += 1
                row["net"] += record["issued"]["net"]
                row["tax"] += record["issued"]["tax"]
                touched = True
            for note in record["credit_notes"]:
                if start <= parse_instant(note["at"]) < end:
                    row["credit_notes"] += 1
                    row["net"] -= note["net"]
                    row["tax"] -= note["tax"]
                    touched = True
            if touched:
                rows[key] = row
                if record["reverse_charge"]:
                    row["documents"].append((doc["ref"], n))
    return [rows[key] for key in sorted(rows)]
