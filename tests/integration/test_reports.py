"""Finance reports (issue 7) against figures computed by hand, on both stores.

The book: monthly-autorenew, basic 29.00/month or 290.00/year, pro 99.00/month.
- a1: 2026-01-01 basic monthly by card (29.00 collected), cancels on 01-15: ends 02-01.
- a2: 2026-01-01 basic annual by card (290.00 collected), period to 2027-01-01.
- a4: 2026-01-10 pro monthly by bank transfer, never pays: due at once (0 payment days),
  overdue 01-10, suspended 01-17 (7 days), ended at its term end 02-10.
"""

from __future__ import annotations

from typing import Any

from backends import Backend
from ledger_kit import journal_net, open_ledger

from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command

BOOK = {"basic": {"monthly": 2900, "annual": 29000}, "pro": {"monthly": 9900}}


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def book(ledger: Ledger) -> None:
    for ref, at, plan, term, method in (
        ("a1", "2026-01-01T00:00:00Z", "basic", "monthly", "card"),
        ("a2", "2026-01-01T00:00:00Z", "basic", "annual", "card"),
        ("a4", "2026-01-10T00:00:00Z", "pro", "monthly", "bank_transfer"),
    ):
        do(ledger, "register_account", at, account=ref, name=ref, email=f"{ref}@x.test")
        do(ledger, "subscribe", at, account=ref, plan=plan, term=term, payment_method=method)
    do(ledger, "request_cancellation", "2026-01-15T00:00:00Z", account="a1")
    ledger.tick(parse_instant("2026-03-05T00:00:00Z"))


def test_reports_match_the_hand_computed_figures(backend: Backend) -> None:
    ledger = open_ledger(backend.database("reports"), "monthly-autorenew", BOOK)
    book(ledger)
    jan20 = parse_instant("2026-01-20T00:00:00Z")
    assert ledger.report("subscriptions", as_of=jan20) == [
        {"plan": "basic", "term": "annual", "subscriptions": 1},
        {"plan": "basic", "term": "monthly", "subscriptions": 1},
        {"plan": "pro", "term": "monthly", "subscriptions": 1},
    ]  # a4 suspended, still live
    # MRR: 29.00 + 290.00/12 (24.16, whole cents down) = 53.16 for basic; 99.00 for pro
    assert ledger.report("mrr", as_of=jan20) == [
        {"plan": "basic", "mrr": 5316, "arr": 63792, "subscriptions": 2},
        {"plan": "pro", "mrr": 9900, "arr": 118800, "subscriptions": 1},
    ]
    # January: invoiced 29 + 290 + 99; collected the two card payments; recognised day by
    # day: a1 31/31 of 29.00, a2 31/365 of 290.00 = 24.63, a4 22/31 of 99.00 = 70.25
    assert ledger.report("revenue", as_of=jan20, month="2026-01") == [
        {"month": "2026-01", "invoiced": 41800, "collected": 31900, "recognised": 12388}
    ]
    # February churn: a1, a2, a4 live at its start; a1 ended 02-01, a4 ended 02-10
    assert ledger.report("churn", as_of=jan20, month="2026-02") == [
        {"month": "2026-02", "live_at_start": 3, "churned": 2, "churn_percent": 66.7}
    ]
    # a4's 99.00 is 10 days late on 01-20, 36 days late on 02-15
    assert ledger.report("ageing", as_of=jan20)[0]["1-30"] == 9900
    feb15 = ledger.report("ageing", as_of=parse_instant("2026-02-15T00:00:00Z"))[0]
    assert (feb15["1-30"], feb15["31-60"], feb15["current"]) == (0, 9900, 0)
    ledger.close()


def test_trial_conversion(backend: Backend) -> None:
    """Two trials (7 days): one subscribes during it (converted), one lets it run out."""
    ledger = open_ledger(backend.database("trials"), "monthly-autorenew", BOOK)
    for ref in ("t1", "t2"):
        do(
            ledger,
            "register_account",
            "2026-01-01T00:00:00Z",
            account=ref,
            name=ref,
            email=f"{ref}@x.test",
        )
        do(ledger, "start_trial", "2026-01-01T00:00:00Z", account=ref, plan="basic")
    assert ledger.report("conversion", as_of=parse_instant("2026-01-02T00:00:00Z")) == [
        {"trials": 2, "converted": 0, "expired": 0, "running": 2, "conversion_percent": None}
    ]
    do(
        ledger,
        "subscribe",
        "2026-01-03T00:00:00Z",
        account="t1",
        plan="basic",
        term="monthly",
        payment_method="card",
    )
    ledger.tick(parse_instant("2026-01-20T00:00:00Z"))
    assert ledger.report("conversion", as_of=parse_instant("2026-01-20T00:00:00Z")) == [
        {"trials": 2, "converted": 1, "expired": 1, "running": 0, "conversion_percent": 50.0}
    ]
    ledger.close()


def test_the_journal_recognises_revenue_day_by_day(backend: Backend) -> None:
    """Issue 7: invoices go to deferred revenue; as of an instant, each one's earned share
    moves to recognised revenue, day by day over its period; debits still equal credits."""
    ledger = open_ledger(backend.database("recognise"), "monthly-autorenew", BOOK)
    book(ledger)
    jan20 = parse_instant("2026-01-20T00:00:00Z")
    lines = ledger.journal(as_of=jan20, recognise=True)
    recognised = {
        line["account"]: line["amount"] for line in lines if line["credit"] == "revenue:recognised"
    }
    # 19 of 31 days of 29.00; 19 of 365 days of 290.00; 10 of 31 days of 99.00
    assert recognised == {"a1": 2900 * 19 // 31, "a2": 29000 * 19 // 365, "a4": 9900 * 10 // 31}
    assert all(line["position"] is None for line in lines if line["credit"] == "revenue:recognised")
    net = journal_net(lines)
    assert sum(net.values()) == 0
    assert net["revenue:deferred"] == -(2900 + 29000 + 9900) + sum(recognised.values())
    ledger.close()
