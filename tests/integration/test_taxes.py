"""SPEC section 9 through the real ledger, on both stores: countries and VAT ids checked
at the door (TAX-2), the journal's VAT (TAX-5) balanced at every position, the VAT report
against the journal, and the sealed buyer identity of each document (GDPR-3, TAX-6).

Hand-computed book (device-cloud, seller BE: BE 21, NL 21, FR 20; cloud 5.00 a month,
50.00 a year, net):
- be1 (BE) annual by card 01-05: 50.00 + 10.50; cancelled 02-10 in its 2nd started month:
  owes 2 x 6.05, so 48.40 is refunded with a credit note of 48.40 (8.40 VAT) in February.
- nl1 (NL, VAT id) monthly by card 01-10: 5.00 reverse charge, renewed 02-10.
- fr1 (FR consumer) annual by bank transfer 01-12: 50.00 + 10.00; cancelled 01-20 unpaid
  in its 1st month: a credit note of 54.00 (9.00 VAT, net 45.00) in January.
- fr2 (FR, VAT id) prepaid 3 months 01-15 (15.00) and 2 more queued 01-16 (10.00), both
  reverse charge; the queued one cancelled 02-01: a credit note of 10.00.
- no1 (NO) monthly by card 01-25: 5.00 outside the scope, renewed 02-25.
"""

from __future__ import annotations

from typing import Any

import pytest
from backends import Backend
from ledger_kit import journal_net, open_ledger

from domain.calendar import parse_instant
from domain.errors import ErrorCode, Rejected
from domain.tax import TaxTable
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from projections.journal import VAT_PAYABLE

TABLE = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "NL": "21", "FR": "20"}})
BOOK = {"cloud": {"monthly": 500, "annual": 5000}, "basic": {"monthly": 2900}}
NL_VAT, NL_VAT_2, FR_VAT = "NL004495445B01", "NL100000009B01", "FR40303265045"


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def register(ledger: Ledger, ref: str, at: str, **fields: Any) -> None:
    do(
        ledger,
        "register_account",
        at,
        account=ref,
        name=f"{ref} customer",
        email=f"{ref}@example.test",
        **fields,
    )


def head(ledger: Ledger) -> int:
    return ledger.app.recorder.max_notification_id() or 0


def book(ledger: Ledger) -> None:
    register(ledger, "be1", "2026-01-05T09:00:00Z", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="be1",
        plan="cloud",
        term="annual",
        payment_method="card",
    )
    register(ledger, "nl1", "2026-01-10T09:00:00Z", country="NL", vat_id=NL_VAT)
    do(
        ledger,
        "subscribe",
        "2026-01-10T09:00:00Z",
        account="nl1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    register(ledger, "fr1", "2026-01-12T09:00:00Z", country="FR")
    do(
        ledger,
        "subscribe",
        "2026-01-12T09:00:00Z",
        account="fr1",
        plan="cloud",
        term="annual",
        payment_method="bank_transfer",
    )
    register(ledger, "fr2", "2026-01-15T09:00:00Z", country="FR", vat_id=FR_VAT)
    do(
        ledger,
        "purchase_prepaid",
        "2026-01-15T09:00:00Z",
        account="fr2",
        plan="cloud",
        months=3,
        payment_method="card",
    )
    do(
        ledger,
        "purchase_prepaid",
        "2026-01-16T09:00:00Z",
        account="fr2",
        plan="cloud",
        months=2,
        payment_method="card",
    )
    do(ledger, "request_cancellation", "2026-01-20T09:00:00Z", account="fr1")
    register(ledger, "no1", "2026-01-25T09:00:00Z", country="NO")
    do(
        ledger,
        "subscribe",
        "2026-01-25T09:00:00Z",
        account="no1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    do(ledger, "cancel_queued", "2026-02-01T09:00:00Z", account="fr2")
    do(ledger, "request_cancellation", "2026-02-10T10:00:00Z", account="be1")
    ledger.tick(parse_instant("2026-03-01T00:00:00Z"))


def row(
    country: str,
    category: str,
    rate: str,
    invoices: int,
    notes: int,
    net: int,
    tax: int,
    vat_ids: list[str] | None = None,
    month: str = "2026-01",
) -> dict[str, Any]:
    return {
        "month": month,
        "country": country,
        "category": category,
        "rate": rate,
        "invoices": invoices,
        "credit_notes": notes,
        "net": net,
        "tax": tax,
        "vat_ids": vat_ids or [],
    }


def vat_movements(ledger: Ledger, month: str) -> int:
    """What the journal's vat_payable took in during the month (credits - debits)."""
    lines = [line for line in ledger.journal() if line["at"].startswith(month)]
    return -journal_net(lines).get(VAT_PAYABLE, 0)


def test_tax_5_vat_report_equals_the_journal(backend: Backend) -> None:
    """TAX-5: per (country, category, rate) the month's documents, credit notes
    subtracted in the month they are issued; reverse-charge lines name the VAT ids. The
    report's tax equals the journal's vat_payable movements of the month, its net the
    revenue report's invoiced; the journal balances at every position."""
    ledger = open_ledger(backend.database("vat"), "device-cloud", BOOK, tax=TABLE)
    book(ledger)
    at = parse_instant("2026-03-01T00:00:00Z")
    january = ledger.report("vat", as_of=at, month="2026-01")
    assert january == [
        row("BE", "S", "21", 1, 0, 5000, 1050),
        row("FR", "AE", "0", 2, 0, 2500, 0, [FR_VAT]),
        row("FR", "S", "20", 1, 1, 500, 100),  # 50.00 + 10.00 issued, 45.00 + 9.00 credited
        row("NL", "AE", "0", 1, 0, 500, 0, [NL_VAT]),
        row("NO", "O", "0", 1, 0, 500, 0),
    ]
    february = ledger.report("vat", as_of=at, month="2026-02")
    assert february == [
        row("BE", "S", "21", 0, 1, -4000, -840, month="2026-02"),
        row("FR", "AE", "0", 0, 1, -1000, 0, [FR_VAT], month="2026-02"),
        row("NL", "AE", "0", 1, 0, 500, 0, [NL_VAT], month="2026-02"),
        row("NO", "O", "0", 1, 0, 500, 0, month="2026-02"),
    ]
    for month, rows in (("2026-01", january), ("2026-02", february)):
        assert sum(r["tax"] for r in rows) == vat_movements(ledger, month)
        revenue = ledger.report("revenue", as_of=at, month=month)[0]
        assert sum(r["net"] for r in rows) == revenue["invoiced"]
    assert vat_movements(ledger, "2026-01") == 1150 and revenue["invoiced"] == -4000
    for position in range(1, head(ledger) + 1):
        assert sum(journal_net(ledger.journal(position=position)).values()) == 0, position
    assert ledger.report("vat", as_of=at, month="2025-12") == []
    ledger.close()


def test_mrr_and_revenue_count_net(backend: Backend) -> None:
    """TAX-5 reading: VAT is owed to the state, not revenue. be1's annual 60.50 counts
    50.00 / 12 = 4.16 a month; recognised revenue is the net, day by day."""
    ledger = open_ledger(backend.database("mrr"), "device-cloud", BOOK, tax=TABLE)
    register(ledger, "be1", "2026-01-01T00:00:00Z", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-01T00:00:00Z",
        account="be1",
        plan="cloud",
        term="annual",
        payment_method="card",
    )
    feb = parse_instant("2026-02-01T00:00:00Z")
    assert ledger.report("mrr", as_of=feb) == [
        {"plan": "cloud", "mrr": 416, "arr": 4992, "subscriptions": 1}
    ]
    assert ledger.report("revenue", as_of=feb, month="2026-01") == [
        {"month": "2026-01", "invoiced": 5000, "collected": 6050, "recognised": 5000 * 31 // 365}
    ]
    ledger.close()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "country"),  # required with a tax table
        ({"country": "UK"}, "country"),  # not an ISO 3166-1 code (Great Britain is GB)
        ({"country": "NL", "vat_id": "NL004495446B01"}, "vat_id"),  # check digits
        ({"country": "NL", "vat_id": "BE0403170701"}, "vat_id"),  # another country's id
        ({"vat_id": NL_VAT}, "country"),
        ({"country": "NL", "vat_id": "NL<script>"}, "vat_id"),
    ],
)
def test_tax_2_refused_registrations_record_nothing(
    backend: Backend, fields: dict[str, Any], field: str
) -> None:
    """TAX-2: invalid_input naming the field, and nothing recorded."""
    ledger = open_ledger(backend.database("refused"), "monthly-autorenew", BOOK, tax=TABLE)
    before = head(ledger)
    with pytest.raises(Rejected) as caught:
        register(ledger, "x", "2026-01-05T09:00:00Z", **fields)
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_INPUT, field)
    assert head(ledger) == before
    with pytest.raises(Rejected) as unknown:
        ledger.state("x")
    assert unknown.value.code is ErrorCode.UNKNOWN_ACCOUNT
    ledger.close()


def test_tax_2_vat_ids_are_sealed_and_kept_in_compact_form(backend: Backend) -> None:
    """TAX-2, GDPR-3: a VAT id is kept compact and upper-cased in the sealed invoice
    identity, never in clear in an event; the country and whether a validated id is held
    are. A Swiss one is checked by stdnum.ch.vat and kept compact too; CH is not in the
    table, so the documents are outside the scope all the same."""
    ledger = open_ledger(backend.database("sealed"), "monthly-autorenew", BOOK, tax=TABLE)
    register(ledger, "nl", "2026-01-05T09:00:00Z", country="nl", vat_id=" nl 0044.95.445.b01 ")
    register(ledger, "ch", "2026-01-05T09:00:00Z", country="CH", vat_id="che-116.281.710 mwst")
    at = parse_instant("2026-01-05T09:00:00Z")
    exported = ledger.app.export(ledger.account("nl"), at)
    assert exported["invoice_identity"]["fields"]["vat_id"] == NL_VAT
    assert exported["country"] == "NL"
    assert (
        ledger.app.export(ledger.account("ch"), at)["invoice_identity"]["fields"]["vat_id"]
        == "CHE116281710MWST"
    )
    registered = ledger.events("nl")[0]
    assert (registered.country, registered.vat_registered) == ("NL", True)
    assert NL_VAT not in str(vars(registered)) and "0044" not in str(vars(registered))
    assert ledger.account("ch").vat_registered is True
    ledger.close()


def test_documents_keep_the_buyer_identity_they_were_issued_with(backend: Backend) -> None:
    """TAX-6 / GDPR-3: each invoice's buyer is the invoice identity in force when it was
    issued (a later VAT id does not rewrite it); after the retention the identity is
    erased, the documents and the VAT report keep every amount, country and category."""
    ledger = open_ledger(backend.database("identity"), "monthly-autorenew", BOOK, tax=TABLE)
    register(
        ledger,
        "co",
        "2026-01-05T09:00:00Z",
        country="NL",
        vat_id=NL_VAT,
        address="Damrak 1, Amsterdam",
    )
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="co",
        plan="basic",
        term="monthly",
        payment_method="card",
    )
    do(ledger, "update_personal_data", "2026-01-20T00:00:00Z", account="co", vat_id=NL_VAT_2)
    ledger.tick(parse_instant("2026-02-05T09:00:01Z"))
    first, second = ledger.invoice_record("co", 1), ledger.invoice_record("co", 2)
    assert first["buyer"] == {
        "name": "co customer",
        "address": "Damrak 1, Amsterdam",
        "vat_id": NL_VAT,
    }
    assert second["buyer"] is not None and second["buyer"]["vat_id"] == NL_VAT_2
    assert {
        k: first[k]
        for k in (
            "kind",
            "plan",
            "term",
            "net",
            "tax",
            "amount",
            "tax_rate",
            "tax_category",
            "country",
            "reverse_charge",
            "paid",
            "currency",
        )
    } == {
        "kind": "term",
        "plan": "basic",
        "term": "monthly",
        "net": 2900,
        "tax": 0,
        "amount": 2900,
        "tax_rate": "0",
        "tax_category": "AE",
        "country": "NL",
        "reverse_charge": True,
        "paid": 2900,
        "currency": "EUR",
    }
    feb = parse_instant("2026-03-01T00:00:00Z")
    assert ledger.report("vat", as_of=feb, month="2026-02")[0]["vat_ids"] == [NL_VAT_2]
    do(ledger, "request_cancellation", "2026-02-10T00:00:00Z", account="co")
    do(ledger, "request_data_deletion", "2026-03-10T00:00:00Z", account="co")
    ledger.tick(parse_instant("2036-02-05T09:00:01Z"))  # GDPR-3: 10 years after the last
    assert ledger.account("co").billing_state == "erased"
    after = ledger.invoice_record("co", 2)
    assert after["buyer"] is None
    assert {k: after[k] for k in ("net", "amount", "tax_category", "country")} == {
        "net": 2900,
        "amount": 2900,
        "tax_category": "AE",
        "country": "NL",
    }
    later = parse_instant("2036-03-01T00:00:00Z")
    assert ledger.report("vat", as_of=later, month="2026-02") == [
        row("NL", "AE", "0", 1, 0, 2900, 0, [], month="2026-02")
    ]
    with pytest.raises(Rejected) as caught:
        ledger.invoice_record("co", 3)
    assert caught.value.code is ErrorCode.UNKNOWN_INVOICE
    ledger.close()
