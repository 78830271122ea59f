"""SPEC section 9 arithmetic (`domain/tax.py`): the rate and category a document gets
(TAX-2), half-up rounding once per document (TAX-1), and the credit note split (TAX-4)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ErrorCode, Rejected
from domain.tax import (
    UNTAXED,
    TaxTable,
    TaxTerms,
    credit_split,
    gross_of,
    normalise_rate,
    round_half_up,
    tax_on,
    terms_for,
)

TABLE = TaxTable.parse(
    {"seller_country": "BE", "rates": {"BE": "21", "NL": "21", "FR": "5.5", "DE": "19"}}
)


@pytest.mark.parametrize(
    ("country", "vat_registered", "expected"),
    [
        ("BE", False, TaxTerms("21", "S")),  # (a) domestic
        ("BE", True, TaxTerms("21", "S")),  # (a) a Belgian business pays Belgian VAT
        ("NL", True, TaxTerms("0", "AE")),  # (b) reverse charge
        ("FR", True, TaxTerms("0", "AE")),
        ("FR", False, TaxTerms("5.5", "S")),  # (c) B2C distance sale at the buyer's rate
        ("DE", False, TaxTerms("19", "S")),
        ("NO", False, TaxTerms("0", "O")),  # (d) outside the table
        ("US", True, TaxTerms("0", "O")),
        (None, False, TaxTerms("21", "S")),  # no country (registered before the table)
    ],
)
def test_tax_2_rate_and_category(
    country: str | None, vat_registered: bool, expected: TaxTerms
) -> None:
    """TAX-2 (a)-(d) against the table {seller BE, BE 21, NL 21, FR 5.5, DE 19}."""
    assert terms_for(TABLE, country, vat_registered) == expected
    assert expected.reverse_charge is (expected.category == "AE")


def test_without_a_table_every_document_is_untaxed() -> None:
    """SPEC section 9: no table, every tax 0, no category."""
    assert terms_for(None, "BE", True) == UNTAXED == TaxTerms("0", None)
    assert tax_on(123456, UNTAXED.rate) == 0


@pytest.mark.parametrize(
    ("net", "rate", "tax"),
    [
        (100000, "21", 21000),
        (2900, "21", 609),
        (2900, "5.5", 160),  # 159.5 rounds half up
        (2899, "5.5", 159),  # 159.445
        (1, "50", 1),  # 0.5
        (3, "16.5", 0),  # 0.495
        (6563, "21", 1378),  # 1378.23
        (0, "21", 0),
        (5000, "0", 0),
    ],
)
def test_tax_1_half_up_once_per_document(net: int, rate: str, tax: int) -> None:
    """TAX-1: tax = round_half_up(net x rate / 100), in integer cents."""
    assert tax_on(net, rate) == tax
    assert gross_of(net, rate) == net + tax


def test_round_half_up_goes_away_from_zero() -> None:
    assert [round_half_up(Fraction(n, 2)) for n in (-3, -1, 1, 3)] == [-2, -1, 1, 2]


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("21", "21"),
        ("21.0", "21"),
        ("5.50", "5.5"),
        (" 5.5 ", "5.5"),
        (7, "7"),
        ("0.00", "0"),
        ("100", "100"),
        ("8.125", "8.125"),
    ],
)
def test_rates_are_decimal_strings_without_trailing_zeros(given: object, normal: str) -> None:
    """FORMAT.md: tax_rate is the table's percent with no trailing zeros."""
    assert normalise_rate(given) == normal


@pytest.mark.parametrize("bad", [5.5, "101", "-1", "5.12345", "abc", True, None, "1e1"])
def test_a_rate_is_never_a_float_nor_out_of_range(bad: object) -> None:
    with pytest.raises(Rejected) as caught:
        normalise_rate(bad, "tax.rates.BE")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.field == "tax.rates.BE"


@pytest.mark.parametrize(
    ("gross", "rate", "remaining", "split"),
    [
        (4840, "21", (5000, 1050), (4000, 840)),  # 4840 x 21 / 121 = 840
        (3163, "5.5", (5000, 275), (2998, 165)),  # 164.89... rounds to 165
        (6050, "21", (5000, 1050), (5000, 1050)),  # the whole document: all it carries
        (1000, "0", (1000, 0), (1000, 0)),
        (100, "21", (1000, 10), (90, 10)),  # 17.35 -> 17, but only 10 of tax is left
    ],
)
def test_tax_4_credit_note_split(
    gross: int, rate: str, remaining: tuple[int, int], split: tuple[int, int]
) -> None:
    """TAX-4: tax = round_half_up(G x r / (100 + r)), net = G - tax."""
    net, tax = credit_split(gross, rate, remaining_net=remaining[0], remaining_tax=remaining[1])
    assert (net, tax) == split
    assert net + tax == gross


@given(
    net=st.integers(0, 10**12), rate=st.sampled_from(["0", "5.5", "7", "19", "21", "8.125", "100"])
)
def test_tax_4_crediting_a_whole_document_takes_exactly_its_tax(net: int, rate: str) -> None:
    """TAX-4's formula on a document's whole gross gives back its TAX-1 tax: a voided
    invoice ends at net 0 and tax 0."""
    tax = tax_on(net, rate)
    r = Fraction(rate)
    assert round_half_up((net + tax) * r / (100 + r)) == tax
    assert credit_split(net + tax, rate, remaining_net=net, remaining_tax=tax) == (net, tax)


@given(
    net=st.integers(1, 10**9), part=st.integers(1, 10**9), rate=st.sampled_from(["5.5", "19", "21"])
)
def test_a_partial_credit_note_never_takes_more_than_the_document_holds(
    net: int, part: int, rate: str
) -> None:
    tax = tax_on(net, rate)
    gross = min(part, net + tax)
    note_net, note_tax = credit_split(gross, rate, remaining_net=net, remaining_tax=tax)
    assert note_net + note_tax == gross
    assert 0 <= note_tax <= tax and 0 <= note_net <= net


def test_the_table_is_parsed_strictly_naming_the_key() -> None:
    table = TaxTable.parse({"seller_country": "be", "rates": {"be": "21.0", "nl": 21}})
    assert table == TaxTable("BE", {"BE": "21", "NL": "21"})
    for raw, field in [
        ({"rates": {"BE": "21"}}, "tax.seller_country"),
        ({"seller_country": "BE", "rates": {"NL": "21"}}, "tax.rates"),
        ({"seller_country": "BE", "rates": {"BE": 21.0}}, "tax.rates.BE"),
        ({"seller_country": "BE", "rates": {"B1": "21", "BE": "21"}}, "tax.rates.B1"),
        ({"seller_country": "BE", "rates": {"BE": "21"}, "vat": 1}, "tax.vat"),
        ({"seller_country": "BE", "rates": {}}, "tax.rates"),
        ("BE", "tax"),
    ]:
        with pytest.raises(Rejected) as caught:
            TaxTable.parse(raw)
        assert caught.value.field == field, raw
