"""Invoice records in the shape `projections.account_view.invoice_record` returns them
(the builder's input, checked against a real one in test_invoice_document.py) and the
configured seller, for the invoice-document tests (the EN 16931 checks: `en16931_kit`).
"""

from __future__ import annotations

from typing import Any

from domain.money import parse_amount

SELLER: dict[str, Any] = {
    "name": "Subledger SRL",
    "address": "Rue de la Loi 16, 1000 Brussels",
    "vat_id": "BE0403170701",
    "iban": "BE71 0961 2345 6769",
    "invoice_prefix": "SL-",
}
SELLER_MINIMAL: dict[str, Any] = {  # only what [seller] must have (issue 17 item 1)
    "name": "Subledger SRL",
    "address": "Rue de la Loi 16, 1000 Brussels",
    "vat_id": "BE0403170701",
}
BUYERS: dict[str, dict[str, Any]] = {
    "BE": {"name": "Antwerp NV", "address": "Meir 1\n2000 Antwerpen", "vat_id": None},
    "FR": {
        "name": "Paris SAS",
        "address": "1 rue de Rivoli\n75001 Paris",
        "vat_id": "FR40303265045",
    },
    "NO": {"name": "Oslo AS", "address": "Karl Johans gate 1, 0154 Oslo", "vat_id": None},
}
ISSUED = "2026-03-02T10:00:00Z"
TERM_END = "2027-03-02T10:00:00Z"
AMOUNTS = ("amount", "net", "tax", "paid", "refunded", "returned")


def _minor(value: Any) -> Any:
    """A literal amount of a test ("1210.00") in minor units; anything else as given (the
    refusal tests hand the builder what the ledger never would)."""
    return parse_amount(value) if isinstance(value, str) else value


def invoice(issued: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """One invoice record as the ledger gives it: an annual `basic` term invoiced at
    ISSUED without a tax table, 1000.00, no credit notes, nothing paid, then `fields`.
    Amounts are written as literal decimal strings and converted to minor units, and
    `issued` (as issued, before credit notes) must be stated when there are credit notes:
    the tests state the cents they expect, the kit computes none."""
    record: dict[str, Any] = {
        "n": 1,
        "kind": "term",
        "issued_kind": "subscription",
        "issued_at": ISSUED,
        "due_at": "2026-03-16T10:00:00Z",
        "period_start": ISSUED,
        "period_end": TERM_END,
        "plan": "basic",
        "term": "annual",
        "currency": "EUR",
        "country": None,
        "tax_rate": "0",
        "tax_category": None,
        "reverse_charge": False,
        "amount": "1000.00",
        "net": "1000.00",
        "tax": "0.00",
        "credit_notes": [],
        "paid": "0.00",
        "refunded": "0.00",
        "returned": "0.00",
        "status": "open",
        "disputed": False,
        "void": False,
    }
    record.update(fields)
    for key in AMOUNTS:
        record[key] = _minor(record[key])
    notes = record["credit_notes"]
    record["credit_notes"] = [
        {**note, **{k: _minor(v) for k, v in note.items() if k in AMOUNTS}} for note in notes
    ]
    if issued is None:
        assert not notes, "state `issued` for an invoice with credit notes"
        issued = {k: record[k] for k in ("amount", "net", "tax")}
    record["issued"] = {k: _minor(v) for k, v in issued.items()}
    return record


def taxed(
    net: str, tax: str, amount: str, rate: str, category: str, country: str, **fields: Any
) -> dict[str, Any]:
    """An invoice with a tax table: the section 9 fields, given literally."""
    return invoice(
        net=net,
        tax=tax,
        amount=amount,
        tax_rate=rate,
        tax_category=category,
        country=country,
        reverse_charge=category == "AE",
        **fields,
    )
