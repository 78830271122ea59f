"""The invoice document of `TAX-6`: what an EU invoice or credit note shows, as data.

One typed, immutable model is the single source of every rendering (`infra.invoicing`:
EN 16931 CII and UBL 2.1 XML, and the Factur-X PDF a person reads), so the page and the
machine-readable XML can never disagree. Amounts are integer minor units, instants are
timezone-aware UTC, tax rates are exact decimal strings ("21", "5.5", "0").

The builders take what the ledger already holds, never a clock or a file:
- the seller's identity from the configuration (`[seller]`: `name`, `address`, `vat_id`,
  optional `iban` and `invoice_prefix`);
- the buyer's invoice identity (`GDPR-3`: name, address, vat_id), or None once it is
  erased: the buyer then shows as "erased" and everything else stays as issued;
- one invoice of the account view, with `n`, `issued_at`, `due_at`, `amount` (gross after
  credit notes), `paid`, `status`, `kind`, and with a tax table `net`, `tax`, `tax_rate`,
  `tax_category`, `country`, `reverse_charge`, plus `plan`, `term`, `period_start`,
  `period_end` and `credit_notes` (each `gross` or `amount`, `net`, `tax`, `at`).
Amounts in that dict may be integer minor units (the projection's doc) or two-place
decimal strings (the observed state); instants datetimes or ISO-8601 text ending in Z.

Decisions where the rules are silent:
- The invoice is shown as issued: its lines and totals are the original amounts (current
  + every credit note against it); credit notes are listed apart, each is its own
  document (type 381) numbered `<prefix><account>-<n>-C<k>` (k-th on invoice n).
- Without tax data (no tax table, `TAX-1`'s "every tax is 0"), the document is *untaxed*:
  net = gross, no VAT category, rate or breakdown. It renders as a page, but no EN 16931
  XML is made for it: that standard requires a VAT category on every line, and stating
  one the seller never configured would be a false tax statement.
- Inconsistent tax data (a tax that is not `TAX-1`'s round_half_up(net x rate / 100) for
  an invoice, nor `TAX-4`'s round_half_up(gross x rate / (100 + rate)) for a credit note)
  is refused: a document must never disagree with the rules it claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.calendar import format_instant
from domain.errors import LedgerError
from domain.money import format_amount, percent_of

INVOICE = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE = "381"  # UNTDID 1001: credit note
ERASED = "erased"
CATEGORIES: dict[str, str] = {  # the section 9 categories (UNCL 5305) and their names
    "S": "Standard rate",
    "AE": "Reverse charge",
    "O": "Not subject to VAT",
}
# EN 16931 BT-120/BT-121: the exemption reason that AE and O documents must carry.
EXEMPTIONS: dict[str, tuple[str, str]] = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
MENTIONS: dict[str, str] = {  # what the page says for each category that needs a mention
    "AE": "Reverse charge: VAT to be accounted for by the customer "
          "(Article 196, Council Directive 2006/112/EC).",
    "O": "Not subject to VAT: the supply is outside the scope of EU VAT.",
}
SEPA_CREDIT_TRANSFER = "58"  # UNCL 4461
CREDIT_TRANSFER = "30"
_CENT = Decimal(1)


class InvoiceDocumentError(LedgerError, ValueError):
    """The ledger's data cannot make a truthful document (a bug upstream, never user input)."""


@dataclass(frozen=True, slots=True)
class Seller:
    name: str
    address: str
    vat_id: str
    country: str | None  # ISO 3166-1 alpha-2; EN 16931 BR-09 needs it in the XML
    iban: str | None = None


@dataclass(frozen=True, slots=True)
class Buyer:
    """The invoice identity (`GDPR-3`). After its erasure only the country, recorded in
    clear on the document (`TAX-2`), remains; the name reads "erased"."""

    name: str
    address: str | None
    country: str | None
    vat_id: str | None
    erased: bool = False

    @classmethod
    def erased_identity(cls, country: str | None) -> Buyer:
        return cls(name=ERASED, address=None, country=country, vat_id=None, erased=True)


@dataclass(frozen=True, slots=True)
class Line:
    name: str  # what was sold: plan, term, kind
    period_start: datetime | None
    period_end: datetime | None  # exclusive, as in the ledger
    quantity: int
    net: int
    tax_category: str | None  # None: untaxed document
    tax_rate: str | None
    tax: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """One row per (category, rate): EN 16931 BG-23."""

    category: str
    rate: str
    taxable: int
    tax: int
    exemption_code: str | None
    exemption_reason: str | None


@dataclass(frozen=True, slots=True)
class Totals:
    net: int
    tax: int
    gross: int


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """Another document: a credit note against an invoice, or the invoice a credit note
    corrects (EN 16931 BG-3)."""

    number: str
    type_code: str
    issued_at: datetime
    totals: Totals


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    means_code: str  # UNCL 4461
    iban: str
    reference: str  # the remittance information the payer quotes


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    type_code: str
    number: str
    account: str
    issued_at: datetime
    due_at: datetime | None
    currency: str
    seller: Seller
    buyer: Buyer
    lines: tuple[Line, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    totals: Totals
    credit_notes: tuple[DocumentRef, ...]  # against this invoice (type 380)
    corrects: DocumentRef | None  # the invoice this credit note corrects (type 381)
    paid: int  # money received on this invoice
    status: str | None  # the account view's invoice status (open, paid, overdue, ...)
    payment: PaymentInstructions | None
    mentions: tuple[str, ...]

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE

    @property
    def taxed(self) -> bool:
        """False without tax data: no EN 16931 XML can be made (module docstring)."""
        return all(line.tax_category is not None for line in self.lines)

    @property
    def credited(self) -> int:
        return sum(note.totals.gross for note in self.credit_notes)

    @property
    def amount_due(self) -> int:
        """What the customer still owes on it: gross - credit notes - paid (never < 0)."""
        if self.is_credit_note:
            return 0
        return max(self.totals.gross - self.credited - self.paid, 0)

    @property
    def reverse_charge(self) -> bool:
        return any(line.tax_category == "AE" for line in self.lines)


# ------------------------------------------------------------------ small parsers
def utc_date(instant: datetime) -> date:
    return instant.astimezone(UTC).date()


def last_day(period_end: datetime) -> date:
    """The last calendar day (UTC) a period ending at `period_end` (exclusive) covers."""
    return utc_date(period_end - timedelta(microseconds=1))


def minor_units(value: object, field: str) -> int:
    """Integer minor units (the projection's doc) or a two-place decimal string."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise InvoiceDocumentError(f"{field} must be minor units or a decimal string")
    if isinstance(value, int):
        return value
    try:
        exact = Decimal(value) if isinstance(value, (str, Decimal)) else None
    except InvalidOperation:
        exact = None
    if exact is None or not exact.is_finite() or exact != exact.quantize(Decimal("0.01")):
        raise InvoiceDocumentError(f"{field} {value!r} is not an amount with two decimals")
    return int(exact * 100)


def instant(value: object, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvoiceDocumentError(f"{field} {value!r} is not an ISO-8601 instant") from None
    if not isinstance(value, datetime) or value.utcoffset() != timedelta(0):
        raise InvoiceDocumentError(f"{field} must be a UTC instant")
    return value.astimezone(UTC)


def optional_instant(value: object, field: str) -> datetime | None:
    return None if value is None else instant(value, field)


def rate_text(value: object) -> str:
    """A percent as the exact decimal string with no trailing zeros ("21", "5.5", "0")."""
    if isinstance(value, (bool, float)):
        raise InvoiceDocumentError("tax_rate must be a decimal string")
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise InvoiceDocumentError(f"tax_rate {value!r} is not a number") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise InvoiceDocumentError(f"tax_rate {value!r} is not a percent")
    return format(rate.normalize(), "f")


def half_up(value: Decimal) -> int:
    return int(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def tax_on_net(net: int, rate: str) -> int:
    """`TAX-1`: round_half_up(net x rate / 100), once per document."""
    return percent_of(net, Decimal(rate))


def tax_in_gross(gross: int, rate: str) -> int:
    """`TAX-4`: the tax inside a credit note of gross G, round_half_up(G x r / (100 + r))."""
    r = Decimal(rate)
    return half_up(Decimal(gross) * r / (100 + r))


# ------------------------------------------------------------------ builders
def build_invoice_document(seller: Mapping[str, Any], buyer: Mapping[str, Any] | None,
                           invoice: Mapping[str, Any], *, account: str, currency: str,
                           seller_country: str | None = None) -> InvoiceDocument:
    """`TAX-6`: the invoice (type 380) as issued, with its credit notes and payments."""
    number = document_number(seller, account, _n(invoice))
    category, rate = _category_and_rate(invoice)
    notes = _credit_notes(invoice, number, rate)
    net_now, tax_now, gross_now = _current_split(invoice)
    net = net_now + sum(note.totals.net for note in notes)
    tax = tax_now + sum(note.totals.tax for note in notes)
    gross = gross_now + sum(note.totals.gross for note in notes)
    if net + tax != gross:
        raise InvoiceDocumentError(
            f"invoice {number}: net {net} + tax {tax} is not its amount {gross}")
    if rate is not None and tax != tax_on_net(net, rate):
        raise InvoiceDocumentError(
            f"invoice {number}: tax {tax} is not TAX-1's {tax_on_net(net, rate)} "
            f"on net {net} at {rate} %")
    period_start = optional_instant(invoice.get("period_start"), "period_start")
    period_end = optional_instant(invoice.get("period_end"), "period_end")
    line = Line(name=_line_name(invoice), period_start=period_start, period_end=period_end,
                quantity=1, net=net, tax_category=category, tax_rate=rate, tax=tax)
    party = _seller(seller, seller_country)
    payment = None
    if party.iban:
        payment = PaymentInstructions(
            means_code=SEPA_CREDIT_TRANSFER if currency == "EUR" else CREDIT_TRANSFER,
            iban=party.iban, reference=number)
    return InvoiceDocument(
        type_code=INVOICE, number=number, account=account,
        issued_at=instant(invoice.get("issued_at"), "issued_at"),
        due_at=optional_instant(invoice.get("due_at"), "due_at"),
        currency=currency, seller=party, buyer=_buyer(buyer, invoice),
        lines=(line,), vat_breakdown=vat_breakdown((line,)),
        totals=Totals(net=net, tax=tax, gross=gross), credit_notes=notes, corrects=None,
        paid=minor_units(invoice.get("paid", 0), "paid"),
        status=invoice.get("status"), payment=payment, mentions=_mentions((line,)))


def build_credit_note_document(seller: Mapping[str, Any], buyer: Mapping[str, Any] | None,
                               invoice: Mapping[str, Any], k: int, *, account: str,
                               currency: str,
                               seller_country: str | None = None) -> InvoiceDocument:
    """The k-th credit note (1-based) on `invoice` as its own document (type 381), with
    its own net/tax split (`TAX-4`) and a reference to the invoice it corrects."""
    original = build_invoice_document(seller, buyer, invoice, account=account,
                                      currency=currency, seller_country=seller_country)
    if not 1 <= k <= len(original.credit_notes):
        raise InvoiceDocumentError(f"invoice {original.number} has no credit note {k}")
    note = original.credit_notes[k - 1]
    raw = invoice["credit_notes"][k - 1]
    source = original.lines[0]
    reason = raw.get("reason") if isinstance(raw, Mapping) else None
    line = Line(name=f"Credit on invoice {original.number}: {source.name}",
                period_start=source.period_start, period_end=source.period_end,
                quantity=1, net=note.totals.net, tax_category=source.tax_category,
                tax_rate=source.tax_rate, tax=note.totals.tax,
                note=str(reason) if reason else None)
    return InvoiceDocument(
        type_code=CREDIT_NOTE, number=note.number, account=account,
        issued_at=note.issued_at, due_at=None, currency=currency,
        seller=original.seller, buyer=original.buyer,
        lines=(line,), vat_breakdown=vat_breakdown((line,)), totals=note.totals,
        credit_notes=(), paid=0, status=None, payment=None, mentions=_mentions((line,)),
        corrects=DocumentRef(number=original.number, type_code=INVOICE,
                             issued_at=original.issued_at, totals=original.totals))


def document_number(seller: Mapping[str, Any], account: str, n: int) -> str:
    """`TAX-6`: `<prefix><account>-<n>`, the prefix from the optional `invoice_prefix`."""
    prefix = seller.get("invoice_prefix") or ""
    return f"{prefix}{account}-{n}"


def vat_breakdown(lines: tuple[Line, ...]) -> tuple[VatBreakdown, ...]:
    """EN 16931 BG-23: one row per (category, rate), in the lines' order, summing the
    lines' own nets and taxes (each line's tax was rounded once by the ledger)."""
    rows: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        if line.tax_category is None or line.tax_rate is None:
            continue
        sums = rows.setdefault((line.tax_category, line.tax_rate), [0, 0])
        sums[0] += line.net
        sums[1] += line.tax
    breakdown = []
    for (category, rate), (taxable, tax) in rows.items():
        code, reason = EXEMPTIONS.get(category, (None, None))
        breakdown.append(VatBreakdown(category=category, rate=rate, taxable=taxable,
                                      tax=tax, exemption_code=code, exemption_reason=reason))
    return tuple(breakdown)


def _n(invoice: Mapping[str, Any]) -> int:
    n = invoice.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InvoiceDocumentError(f"invoice number n {n!r} must be a positive integer")
    return n


def _category_and_rate(invoice: Mapping[str, Any]) -> tuple[str | None, str | None]:
    category = invoice.get("tax_category")
    if category is None:  # no tax table: a rate of 0 (or none) is all that can come with it
        raw = invoice.get("tax_rate")
        if (raw is not None and Decimal(rate_text(raw)) != 0) or invoice.get("reverse_charge"):
            raise InvoiceDocumentError("a tax_rate or reverse_charge needs a tax_category")
        return None, None
    if category not in CATEGORIES:
        raise InvoiceDocumentError(f"tax_category {category!r} is not one of S, AE, O")
    if invoice.get("reverse_charge") is not None and bool(
            invoice["reverse_charge"]) != (category == "AE"):
        raise InvoiceDocumentError("reverse_charge must agree with tax_category AE")
    raw_rate = invoice.get("tax_rate")
    if raw_rate is None and category == "S":
        raise InvoiceDocumentError("a standard-rated (S) invoice needs its tax_rate")
    rate = "0" if raw_rate is None else rate_text(raw_rate)
    if (category == "S") != (Decimal(rate) > 0):
        raise InvoiceDocumentError(
            f"category {category} with rate {rate} %: S is above 0 %, AE and O are 0 %")
    return category, rate


def _current_split(invoice: Mapping[str, Any]) -> tuple[int, int, int]:
    """(net, tax, gross) now, after credit notes; no tax data: net = amount, tax 0."""
    gross = minor_units(invoice.get("amount"), "amount")
    tax = minor_units(invoice.get("tax", 0), "tax")
    net = minor_units(invoice["net"], "net") if invoice.get("net") is not None else gross - tax
    return net, tax, gross


def _credit_notes(invoice: Mapping[str, Any], number: str,
                  rate: str | None) -> tuple[DocumentRef, ...]:
    notes = []
    for k, raw in enumerate(invoice.get("credit_notes") or (), start=1):
        if not isinstance(raw, Mapping):
            raise InvoiceDocumentError(f"credit note {k} of {number} is not a mapping")
        gross = minor_units(raw.get("gross", raw.get("amount")), "credit note gross")
        tax = minor_units(raw.get("tax", 0), "credit note tax")
        net = minor_units(raw["net"], "credit note net") if raw.get("net") is not None \
            else gross - tax
        cn_number = f"{number}-C{k}"
        if net + tax != gross:
            raise InvoiceDocumentError(f"credit note {cn_number}: net + tax is not its gross")
        if rate is not None and tax != tax_in_gross(gross, rate):
            raise InvoiceDocumentError(
                f"credit note {cn_number}: tax {tax} is not TAX-4's "
                f"{tax_in_gross(gross, rate)} in gross {gross} at {rate} %")
        at = raw.get("at", raw.get("issued_at"))
        notes.append(DocumentRef(number=cn_number, type_code=CREDIT_NOTE,
                                 issued_at=instant(at, "credit note at"),
                                 totals=Totals(net=net, tax=tax, gross=gross)))
    return tuple(notes)


def _term_text(term: str) -> str:
    if term.startswith("prepaid_"):
        months = term.removeprefix("prepaid_")
        return f"prepaid, {months} month{'' if months == '1' else 's'}"
    return f"{term} term"


def _line_name(invoice: Mapping[str, Any]) -> str:
    plan, term, kind = invoice.get("plan"), invoice.get("term"), invoice.get("kind")
    if not plan:
        return f"Subscription ({kind} invoice)" if kind else "Subscription"
    name = f"Subscription: {plan} plan"
    if term:
        name += f", {_term_text(str(term))}"
    elif kind == "prepaid":
        name += ", prepaid"
    if kind == "proration":
        name += ": plan change, prorated difference"
    return name


def _seller(seller: Mapping[str, Any], seller_country: str | None) -> Seller:
    missing = [key for key in ("name", "address", "vat_id") if not seller.get(key)]
    if missing:
        raise InvoiceDocumentError(f"[seller] needs {', '.join(missing)}")
    vat_id = str(seller["vat_id"]).strip().upper()
    country = seller.get("country") or seller_country or _country_of_vat_id(vat_id)
    iban = "".join(str(seller.get("iban") or "").split()).upper() or None
    return Seller(name=str(seller["name"]), address=str(seller["address"]), vat_id=vat_id,
                  country=country, iban=iban)


def _country_of_vat_id(vat_id: str) -> str | None:
    """EU VAT ids start with the member state's code; Greece writes EL for GR."""
    prefix = vat_id[:2]
    if len(prefix) == 2 and prefix.isalpha():
        return "GR" if prefix == "EL" else prefix
    return None


def _buyer(identity: Mapping[str, Any] | None, invoice: Mapping[str, Any]) -> Buyer:
    """The country recorded in clear on the invoice wins (`TAX-2`): the identity holds the
    current one, which may have changed after the invoice was issued."""
    country = invoice.get("country")
    if identity is None:
        return Buyer.erased_identity(country)
    vat_id = identity.get("vat_id")
    return Buyer(name=str(identity.get("name") or ""), address=identity.get("address") or None,
                 country=country or identity.get("country") or None,
                 vat_id=str(vat_id).strip().upper() if vat_id else None)


def _mentions(lines: tuple[Line, ...]) -> tuple[str, ...]:
    seen: list[str] = []
    for line in lines:
        mention = MENTIONS.get(line.tax_category or "")
        if mention and mention not in seen:
            seen.append(mention)
    return tuple(seen)


# ------------------------------------------------------------------ JSON
def document_json(doc: InvoiceDocument) -> dict[str, Any]:
    """The document as JSON-ready data, in the ledger's output conventions (SPEC section
    0): amounts as two-place decimal strings, instants as ISO-8601 with Z."""
    def totals(value: Totals) -> dict[str, str]:
        return {"net": format_amount(value.net), "tax": format_amount(value.tax),
                "gross": format_amount(value.gross)}

    def ref(value: DocumentRef) -> dict[str, Any]:
        return {"number": value.number, "type_code": value.type_code,
                "issued_at": format_instant(value.issued_at), **totals(value.totals)}

    return {
        "type": "credit_note" if doc.is_credit_note else "invoice",
        "type_code": doc.type_code, "number": doc.number, "account": doc.account,
        "issued_at": format_instant(doc.issued_at), "due_at": format_instant(doc.due_at),
        "currency": doc.currency,
        "seller": {"name": doc.seller.name, "address": doc.seller.address,
                   "vat_id": doc.seller.vat_id, "country": doc.seller.country,
                   "iban": doc.seller.iban},
        "buyer": {"name": doc.buyer.name, "address": doc.buyer.address,
                  "country": doc.buyer.country, "vat_id": doc.buyer.vat_id,
                  "erased": doc.buyer.erased},
        "lines": [{"name": line.name, "period_start": format_instant(line.period_start),
                   "period_end": format_instant(line.period_end),
                   "quantity": line.quantity, "net": format_amount(line.net),
                   "tax_category": line.tax_category, "tax_rate": line.tax_rate,
                   "tax": format_amount(line.tax), "note": line.note}
                  for line in doc.lines],
        "vat_breakdown": [{"category": row.category, "rate": row.rate,
                           "taxable": format_amount(row.taxable),
                           "tax": format_amount(row.tax),
                           "exemption_code": row.exemption_code,
                           "exemption_reason": row.exemption_reason}
                          for row in doc.vat_breakdown],
        "totals": totals(doc.totals),
        "mentions": list(doc.mentions),
        "credit_notes": [ref(note) for note in doc.credit_notes],
        "corrects": None if doc.corrects is None else ref(doc.corrects),
        "paid": format_amount(doc.paid), "credited": format_amount(doc.credited),
        "amount_due": format_amount(doc.amount_due), "status": doc.status,
        "payment": None if doc.payment is None else {
            "means_code": doc.payment.means_code, "iban": doc.payment.iban,
            "reference": doc.payment.reference},
        "taxed": doc.taxed,
    }
