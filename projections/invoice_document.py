"""The invoice document of `TAX-6`: what an EU invoice or credit note shows, as data.

One typed, immutable model is the single source of every rendering (`infra.interface.invoicing`:
EN 16931 CII and UBL 2.1 XML, and the Factur-X PDF a person reads), so the page and the
machine-readable XML can never disagree. Amounts are integer minor units, instants are
timezone-aware UTC, tax rates are exact decimal strings ("21", "5.5", "0").

The builders take what the ledger already holds, never a clock or a file:
- the seller's identity from the configuration (`[seller]`: `name`, `address`, `vat_id`,
  optional `iban` and `invoice_prefix`);
- the buyer's invoice identity (`GDPR-3`: name, address, vat_id) in force when the
  invoice was issued, or None once it is erased: the buyer then shows as "erased" and
  everything else stays as issued;
- the invoice's record, `projections.account_view.invoice_record` as it is (what
  `Ledger.invoice_record` returns without `buyer`): integer minor units, ISO-8601 instants
  ending in Z; `issued` {amount, net, tax} as issued, `amount`/`net`/`tax` after credit
  notes, `credit_notes` [{at, amount (gross), net, tax, reason}], the tax terms fixed at
  issue (`tax_rate`, `tax_category`, `country`, `reverse_charge`), `kind`, `plan`,
  `term`, the period, `paid` (received and kept), `returned` (received, then refunded
  after a credit note) and `status`.

The tax arithmetic is the domain's (`domain.tax`): the builder recomputes nothing the
ledger decided, it only refuses a record that disagrees with the rules the document
states (below).

Decisions where the rules are silent:
- The invoice is shown as issued: its lines and totals are the record's `issued`; credit
  notes are listed apart, each is its own document (type 381) numbered
  `<invoice number>-C<k>` (k-th on invoice n).
- Numbers are `<prefix>-<account>-<n>`: the configured `invoice_prefix` ("EX" gives
  `EX-acme-1`), no separator added when the prefix already ends in one of `-/._`, and
  `<account>-<n>` (TAX-6) without a prefix.
- Without tax data (no tax table, `TAX-1`'s "every tax is 0"), the document is *untaxed*:
  net = gross, no VAT category, rate or breakdown. It renders as a page, but no EN 16931
  XML is made for it: that standard requires a VAT category on every line, and stating
  one the seller never configured would be a false tax statement.
- Inconsistent tax data (an issued tax that is not `TAX-1`'s round_half_up(net x rate /
  100), a credit note split that is not `TAX-4`'s `domain.tax.credit_split`, totals that
  do not add up) is refused: a document must never disagree with the rules it claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.calendar import format_instant
from domain.errors import LedgerError
from domain.money import format_amount
from domain.tax import credit_split, tax_on

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
CREDIT_REASONS: dict[str, str] = {  # why the ledger issued a credit note, for a person
    "CANCEL-3": "Cancelled during the term: the months not started are credited (CANCEL-3).",
    "queued_prepaid_cancelled": "Prepaid package cancelled before it started (TERM-6).",
}
SEPA_CREDIT_TRANSFER = "58"  # UNCL 4461
CREDIT_TRANSFER = "30"
NUMBER_SEPARATORS = "-/._"  # a prefix ending in one of them gets no "-" added


class InvoiceDocumentError(LedgerError, ValueError):
    """The ledger's data cannot make a truthful document (a bug upstream, never user input)."""


class SellerNotConfiguredError(LedgerError):
    """No `[seller]` in the configuration: a document must name its issuer (TAX-6)."""


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
    paid: int  # money received on this invoice and kept (net of `refunded`)
    refunded: int  # money received on it and given back (after a credit note)
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
    """Integer minor units, as the record holds every amount (never a float or text)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvoiceDocumentError(f"{field} {value!r} is not an amount in minor units")
    return value


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


# ------------------------------------------------------------------ builders
def build_invoice_document(
    seller: Mapping[str, Any],
    buyer: Mapping[str, Any] | None,
    invoice: Mapping[str, Any],
    *,
    account: str,
    currency: str,
    seller_country: str | None = None,
) -> InvoiceDocument:
    """`TAX-6`: the invoice (type 380) as issued, with its credit notes and payments."""
    number = document_number(seller, account, _n(invoice))
    category, rate = _category_and_rate(invoice)
    issued = _totals(invoice.get("issued"), f"invoice {number} issued")
    net, tax, gross = issued.net, issued.tax, issued.gross
    if rate is not None and tax != tax_on(net, rate):
        raise InvoiceDocumentError(
            f"invoice {number}: tax {tax} is not TAX-1's {tax_on(net, rate)} "
            f"on net {net} at {rate} %"
        )
    notes = _credit_notes(invoice, number, rate, issued)
    credited = sum(note.totals.gross for note in notes)
    if minor_units(invoice.get("amount"), "amount") != gross - credited:
        raise InvoiceDocumentError(
            f"invoice {number}: amount {invoice.get('amount')} is "
            f"not {gross} as issued less {credited} credited"
        )
    period_start = optional_instant(invoice.get("period_start"), "period_start")
    period_end = optional_instant(invoice.get("period_end"), "period_end")
    line = Line(
        name=_line_name(invoice),
        period_start=period_start,
        period_end=period_end,
        quantity=1,
        net=net,
        tax_category=category,
        tax_rate=rate,
        tax=tax,
    )
    party = _seller(seller, seller_country)
    payment = None
    if party.iban:
        payment = PaymentInstructions(
            means_code=SEPA_CREDIT_TRANSFER if currency == "EUR" else CREDIT_TRANSFER,
            iban=party.iban,
            reference=number,
        )
    return InvoiceDocument(
        type_code=INVOICE,
        number=number,
        account=account,
        issued_at=instant(invoice.get("issued_at"), "issued_at"),
        due_at=optional_instant(invoice.get("due_at"), "due_at"),
        currency=currency,
        seller=party,
        buyer=_buyer(buyer, invoice),
        lines=(line,),
        vat_breakdown=vat_breakdown((line,)),
        totals=issued,
        credit_notes=notes,
        corrects=None,
        paid=minor_units(invoice.get("paid"), "paid"),
        refunded=minor_units(invoice.get("returned", 0), "returned"),
        status=invoice.get("status"),
        payment=payment,
        mentions=_mentions((line,)),
    )


def build_credit_note_document(
    seller: Mapping[str, Any],
    buyer: Mapping[str, Any] | None,
    invoice: Mapping[str, Any],
    k: int,
    *,
    account: str,
    currency: str,
    seller_country: str | None = None,
) -> InvoiceDocument:
    """The k-th credit note (1-based) on `invoice` as its own document (type 381), with
    its own net/tax split (`TAX-4`) and a reference to the invoice it corrects."""
    original = build_invoice_document(
        seller, buyer, invoice, account=account, currency=currency, seller_country=seller_country
    )
    if not 1 <= k <= len(original.credit_notes):
        raise InvoiceDocumentError(f"invoice {original.number} has no credit note {k}")
    note = original.credit_notes[k - 1]
    raw = invoice["credit_notes"][k - 1]
    source = original.lines[0]
    reason = raw.get("reason") if isinstance(raw, Mapping) else None
    line = Line(
        name=f"Credit on invoice {original.number}: {source.name}",
        period_start=source.period_start,
        period_end=source.period_end,
        quantity=1,
        net=note.totals.net,
        tax_category=source.tax_category,
        tax_rate=source.tax_rate,
        tax=note.totals.tax,
        note=CREDIT_REASONS.get(str(reason), str(reason)) if reason else None,
    )
    return InvoiceDocument(
        type_code=CREDIT_NOTE,
        number=note.number,
        account=account,
        issued_at=note.issued_at,
        due_at=None,
        currency=currency,
        seller=original.seller,
        buyer=original.buyer,
        lines=(line,),
        vat_breakdown=vat_breakdown((line,)),
        totals=note.totals,
        credit_notes=(),
        paid=0,
        refunded=0,
        status=None,
        payment=None,
        mentions=_mentions((line,)),
        corrects=DocumentRef(
            number=original.number,
            type_code=INVOICE,
            issued_at=original.issued_at,
            totals=original.totals,
        ),
    )


def document_number(seller: Mapping[str, Any], account: str, n: int) -> str:
    """`TAX-6`: `<account>-<n>`, after the optional `invoice_prefix` and a "-" (none
    added when the prefix ends in a separator: "SL-" and "SL" both give `SL-acme-1`)."""
    prefix = str(seller.get("invoice_prefix") or "")
    if prefix and not prefix.endswith(tuple(NUMBER_SEPARATORS)):
        prefix += "-"
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
        breakdown.append(
            VatBreakdown(
                category=category,
                rate=rate,
                taxable=taxable,
                tax=tax,
                exemption_code=code,
                exemption_reason=reason,
            )
        )
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
    if invoice.get("reverse_charge") is not None and bool(invoice["reverse_charge"]) != (
        category == "AE"
    ):
        raise InvoiceDocumentError("reverse_charge must agree with tax_category AE")
    raw_rate = invoice.get("tax_rate")
    if raw_rate is None and category == "S":
        raise InvoiceDocumentError("a standard-rated (S) invoice needs its tax_rate")
    rate = "0" if raw_rate is None else rate_text(raw_rate)
    if (category == "S") != (Decimal(rate) > 0):
        raise InvoiceDocumentError(
            f"category {category} with rate {rate} %: S is above 0 %, AE and O are 0 %"
        )
    return category, rate


def _totals(raw: object, what: str) -> Totals:
    """{amount, net, tax} of the record as Totals, refused unless net + tax = amount."""
    if not isinstance(raw, Mapping):
        raise InvoiceDocumentError(f"{what}: no amount, net and tax")
    gross = minor_units(raw.get("amount"), f"{what} amount")
    net = minor_units(raw.get("net"), f"{what} net")
    tax = minor_units(raw.get("tax"), f"{what} tax")
    if net + tax != gross:
        raise InvoiceDocumentError(f"{what}: net {net} + tax {tax} is not its amount {gross}")
    return Totals(net=net, tax=tax, gross=gross)


def _credit_notes(
    invoice: Mapping[str, Any], number: str, rate: str | None, issued: Totals
) -> tuple[DocumentRef, ...]:
    """The credit notes in order, each split as `TAX-4` splits it against what the
    invoice still carried then (`domain.tax.credit_split`)."""
    notes = []
    left_net, left_tax = issued.net, issued.tax
    for k, raw in enumerate(invoice.get("credit_notes") or (), start=1):
        cn_number = f"{number}-C{k}"
        totals = _totals(raw, f"credit note {cn_number}")
        if rate is not None:
            split = credit_split(totals.gross, rate, remaining_net=left_net, remaining_tax=left_tax)
            if split != (totals.net, totals.tax):
                raise InvoiceDocumentError(
                    f"credit note {cn_number}: net {totals.net} and tax {totals.tax} are "
                    f"not TAX-4's {split[0]} and {split[1]} for {totals.gross} at {rate} %"
                )
        left_net, left_tax = left_net - totals.net, left_tax - totals.tax
        assert isinstance(raw, Mapping)
        notes.append(
            DocumentRef(
                number=cn_number,
                type_code=CREDIT_NOTE,
                issued_at=instant(raw.get("at"), "credit note at"),
                totals=totals,
            )
        )
    return tuple(notes)


def _term_text(term: str) -> str:
    if term == "prepaid":
        return "prepaid"
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
    return Seller(
        name=str(seller["name"]),
        address=str(seller["address"]),
        vat_id=vat_id,
        country=country,
        iban=iban,
    )


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
    return Buyer(
        name=str(identity.get("name") or ""),
        address=identity.get("address") or None,
        country=country or identity.get("country") or None,
        vat_id=str(vat_id).strip().upper() if vat_id else None,
    )


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
        return {
            "net": format_amount(value.net),
            "tax": format_amount(value.tax),
            "gross": format_amount(value.gross),
        }

    def ref(value: DocumentRef) -> dict[str, Any]:
        return {
            "number": value.number,
            "type_code": value.type_code,
            "issued_at": format_instant(value.issued_at),
            **totals(value.totals),
        }

    return {
        "type": "credit_note" if doc.is_credit_note else "invoice",
        "type_code": doc.type_code,
        "number": doc.number,
        "account": doc.account,
        "issued_at": format_instant(doc.issued_at),
        "due_at": format_instant(doc.due_at),
        "currency": doc.currency,
        "seller": {
            "name": doc.seller.name,
            "address": doc.seller.address,
            "vat_id": doc.seller.vat_id,
            "country": doc.seller.country,
            "iban": doc.seller.iban,
        },
        "buyer": {
            "name": doc.buyer.name,
            "address": doc.buyer.address,
            "country": doc.buyer.country,
            "vat_id": doc.buyer.vat_id,
            "erased": doc.buyer.erased,
        },
        "lines": [
            {
                "name": line.name,
                "period_start": format_instant(line.period_start),
                "period_end": format_instant(line.period_end),
                "quantity": line.quantity,
                "net": format_amount(line.net),
                "tax_category": line.tax_category,
                "tax_rate": line.tax_rate,
                "tax": format_amount(line.tax),
                "note": line.note,
            }
            for line in doc.lines
        ],
        "vat_breakdown": [
            {
                "category": row.category,
                "rate": row.rate,
                "taxable": format_amount(row.taxable),
                "tax": format_amount(row.tax),
                "exemption_code": row.exemption_code,
                "exemption_reason": row.exemption_reason,
            }
            for row in doc.vat_breakdown
        ],
        "totals": totals(doc.totals),
        "mentions": list(doc.mentions),
        "credit_notes": [ref(note) for note in doc.credit_notes],
        "corrects": None if doc.corrects is None else ref(doc.corrects),
        "paid": format_amount(doc.paid),
        "refunded": format_amount(doc.refunded),
        "credited": format_amount(doc.credited),
        "amount_due": format_amount(doc.amount_due),
        "status": doc.status,
        "payment": None
        if doc.payment is None
        else {
            "means_code": doc.payment.means_code,
            "iban": doc.payment.iban,
            "reference": doc.payment.reference,
        },
        "taxed": doc.taxed,
    }
