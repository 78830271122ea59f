"""VAT by SPEC section 9: which rate and category a document gets, and its integer cents.

Pure arithmetic, no I/O. Rates are percent decimal strings ("21", "5.5"), computed as exact
fractions, never floats; every document rounds half-up to the cent once
(SPEC section 0, `TAX-1`). Without a tax table nothing here is consulted: the ledger
issues documents with tax 0, rate "0" and no category (sections 0-8 unchanged).

Categories are the EN 16931 / UNCL 5305 codes the documents carry: `S` standard rate,
`AE` reverse charge, `O` outside the scope of VAT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor

from domain.errors import invalid

STANDARD, REVERSE_CHARGE, OUTSIDE_SCOPE = "S", "AE", "O"
NO_TAX_RATE = "0"  # the rate of a document issued without a tax table
_RATE = re.compile(r"^\d{1,3}(\.\d{1,4})?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def normalise_rate(value: object, where: str = "rate") -> str:
    """A percent between 0 and 100 as a decimal string without trailing zeros ("21",
    "5.5"); floats are refused, whole numbers accepted."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(
            f'{where} must be a percent as a decimal string, such as "21" or "5.5"', where
        )
    text = str(value).strip()
    if not _RATE.match(text) or Decimal(text) > 100:
        raise invalid(
            f"{where} {value!r} is not a percent between 0 and 100 with at most four decimals",
            where,
        )
    exact = Decimal(text).normalize()
    return format(exact, "f") if exact != 0 else NO_TAX_RATE


def _fraction(rate: str) -> Fraction:
    return Fraction(Decimal(rate))


def round_half_up(value: Fraction) -> int:
    """Half away from zero, as SPEC section 0 rounds every computed charge."""
    magnitude = floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def tax_on(net: int, rate: str) -> int:
    """TAX-1: `round_half_up(net x rate / 100)`, once per document."""
    return round_half_up(net * _fraction(rate) / 100)


def gross_of(net: int, rate: str) -> int:
    """What is owed for a net amount at a rate (TAX-4: the monthly price taken gross)."""
    return net + tax_on(net, rate)


def credit_split(
    gross: int, rate: str, *, remaining_net: int, remaining_tax: int
) -> tuple[int, int]:
    """TAX-4: a credit note of gross `G` at rate `r` carries
    `tax = round_half_up(G x r / (100 + r))` and `net = G - tax`.

    A credit note that takes the document to zero takes exactly what it still carries,
    so a voided document ends at net 0 and tax 0 whatever earlier notes rounded to; no
    note takes more tax than the document still carries."""
    if gross == remaining_net + remaining_tax:
        return remaining_net, remaining_tax
    r = _fraction(rate)
    tax = min(round_half_up(gross * r / (100 + r)), remaining_tax)
    return gross - tax, tax


@dataclass(frozen=True)
class TaxTable:
    """`{seller_country, rates: {country: percent}}` of SPEC section 9 (`TAX-2`): the
    configuration's `[tax]`, or a scenario's `tax`."""

    seller_country: str
    rates: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: object, where: str = "tax") -> TaxTable:
        """From a config table or scenario object; errors name the key."""
        if not isinstance(raw, Mapping):
            raise invalid(f"{where} must be a table with seller_country and rates", where)
        unknown = sorted(set(raw) - {"seller_country", "rates"})
        if unknown:
            raise invalid(f"unknown key(s) {unknown}", f"{where}.{unknown[0]}")
        seller = raw.get("seller_country")
        if not isinstance(seller, str) or not _COUNTRY.match(seller.strip().upper()):
            raise invalid(
                'seller_country must be an ISO 3166-1 alpha-2 code such as "BE"',
                f"{where}.seller_country",
            )
        seller = seller.strip().upper()
        rates = raw.get("rates")
        if not isinstance(rates, Mapping) or not rates:
            raise invalid('rates must map country -> percent, e.g. {BE = "21"}', f"{where}.rates")
        parsed: dict[str, str] = {}
        for country, rate in rates.items():
            key = f"{where}.rates.{country}"
            code = str(country).strip().upper()
            if not _COUNTRY.match(code):
                raise invalid(f"{country!r} is not an ISO 3166-1 alpha-2 country code", key)
            if code in parsed:
                raise invalid(f"{code} is given twice", key)
            parsed[code] = normalise_rate(rate, key)
        if seller not in parsed:
            raise invalid(
                f"rates must give the seller country's own rate ({seller})", f"{where}.rates"
            )
        return cls(seller_country=seller, rates=dict(sorted(parsed.items())))

    def as_dict(self) -> dict[str, object]:
        return {"seller_country": self.seller_country, "rates": dict(self.rates)}


@dataclass(frozen=True, slots=True)
class TaxTerms:
    """What a document is taxed at: fixed when it is issued (`TAX-2`)."""

    rate: str
    category: str | None  # None: issued without a tax table

    @property
    def reverse_charge(self) -> bool:
        return self.category == REVERSE_CHARGE


UNTAXED = TaxTerms(rate=NO_TAX_RATE, category=None)


def terms_for(table: TaxTable | None, country: str | None, vat_registered: bool) -> TaxTerms:
    """TAX-2 (a)-(d). `vat_registered`: the customer holds a VAT id that was validated for
    `country` (an id that could not be checked plays no part). An account without a
    country (registered before the ledger had a tax table) is taxed as a domestic sale,
    the seller's safe default until its country is given."""
    if table is None:
        return UNTAXED
    buyer = country or table.seller_country
    if buyer == table.seller_country:
        return TaxTerms(table.rates[buyer], STANDARD)  # (a)
    if buyer not in table.rates:
        return TaxTerms(NO_TAX_RATE, OUTSIDE_SCOPE)  # (d)
    if vat_registered:
        return TaxTerms(NO_TAX_RATE, REVERSE_CHARGE)  # (b)
    return TaxTerms(table.rates[buyer], STANDARD)  # (c) B2C distance sale
