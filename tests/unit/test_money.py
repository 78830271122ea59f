"""SPEC section 0 "Money": integer minor units, two-place decimal strings, half-up once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.bounds import MAX_AMOUNT_MINOR
from domain.errors import ErrorCode, Rejected
from domain.money import format_amount, parse_amount, parse_percent, percent_of


@pytest.mark.parametrize(
    ("value", "minor"),
    [
        ("1200.00", 120000),
        ("0.01", 1),
        ("0.1", 10),
        ("5", 500),
        ("-3.25", -325),  # the sign is kept so the command can answer invalid_amount
        ("0", 0),
        (7, 700),
        (Decimal("12.5"), 1250),
        (Decimal("0.99"), 99),
        ("9999999999.99", 999_999_999_999),  # the largest amount (domain/bounds.py)
        ("-9999999999.99", -999_999_999_999),
    ],
)
def test_parse_amount_accepts_decimal_strings(value: object, minor: int) -> None:
    """Section 0 Money: decimal strings (or exact ints/Decimals) become integer cents."""
    assert parse_amount(value) == minor
    assert type(parse_amount(value)) is int


@pytest.mark.parametrize(
    "value",
    [
        "1.234",  # more than two decimals
        "0.001",
        Decimal("1.005"),
        12.5,  # floats never touch an amount
        0.1,
        True,
        False,
        None,
        "",
        "abc",
        "12,50",
        "1e3",
        "NaN",
        "Infinity",
        "1 000.00",
        "€12.00",
        "\u0663\u0660.00",  # Arabic-Indic digits (issue 13): ASCII digits only
        "\uff11\uff12.00",  # fullwidth digits
        "1" * 40,  # longer than any amount
        ["12.00"],
        {"amount": "12.00"},
    ],
)
def test_parse_amount_rejects_as_invalid_input(value: object) -> None:
    """Section 0 error codes: more than two decimals, floats and garbage are invalid_input."""
    with pytest.raises(Rejected) as caught:
        parse_amount(value, "amount")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.field == "amount"


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (120000, "1200.00"),
        (146152, "1461.52"),
        (-1, "-0.01"),
        (-325, "-3.25"),
        (-100000, "-1000.00"),
    ],
)
def test_format_amount_two_places(minor: int, text: str) -> None:
    """Section 0 Money: amounts in output are decimal strings with two places."""
    assert format_amount(minor) == text


@pytest.mark.parametrize(
    ("minor", "percent", "expected"),
    [
        (120000, Decimal(20), 24000),  # PAY-3 fixed compensation on 1200.00
        (120000, Decimal(1), 1200),  # PAY-3 interest on 1200.00
        (95200, Decimal(1), 952),  # scenario 03: 1% of 952.00 = 9.52
        (123450, Decimal(1), 1235),  # 12.345 -> 12.35: half-up, not half-even
        (123250, Decimal(1), 1233),  # 12.325 -> 12.33: half-up (banker's would give 12.32)
        (123449, Decimal(1), 1234),  # 12.3449 -> 12.34
        (50, Decimal(1), 1),  # 0.005 -> 0.01
        (49, Decimal(1), 0),  # 0.0049 -> 0.00
        (7500, Decimal(20), 1500),  # TERM-5 promo on 75.00
        (2900, Decimal("12.5"), 363),  # 3.625 -> 3.63
        (2900, Decimal("33.33"), 967),  # 9.6657 -> 9.67
        (999, Decimal(50), 500),  # 4.995 -> 5.00
        (0, Decimal(20), 0),
        (2900, Decimal(0), 0),
        (2900, Decimal(100), 2900),
    ],
)
def test_percent_of_rounds_half_up_to_the_cent(minor: int, percent: Decimal, expected: int) -> None:
    """Section 0 Money: every computed charge rounds half-up to the cent, once."""
    assert percent_of(minor, percent) == expected


@pytest.mark.parametrize("value", [20, "20", "12.5", "0", "100", Decimal("33.33")])
def test_parse_percent_accepts(value: object) -> None:
    """TERM-5: a discount_percent is a number between 0 and 100, at most two decimals."""
    assert parse_percent(value) == Decimal(str(value))


@pytest.mark.parametrize("value", [12.5, True, "abc", "-1", "100.01", "1.234", None, "NaN"])
def test_parse_percent_rejects_as_invalid_input(value: object) -> None:
    """Section 0 error codes: a malformed discount_percent is invalid_input."""
    with pytest.raises(Rejected) as caught:
        parse_percent(value)
    assert caught.value.code is ErrorCode.INVALID_INPUT


@given(st.integers(min_value=-MAX_AMOUNT_MINOR, max_value=MAX_AMOUNT_MINOR))
def test_format_then_parse_round_trips_any_int(minor: int) -> None:
    """Section 0 Money: the decimal-string form loses nothing, for any amount within the
    documented maximum (domain/bounds.py)."""
    assert parse_amount(format_amount(minor)) == minor


@given(st.integers(min_value=MAX_AMOUNT_MINOR + 1, max_value=2**80))
def test_an_amount_beyond_the_maximum_is_invalid_amount(minor: int) -> None:
    """Issue 13: however it is written (string, Decimal, whole major units), an amount
    beyond the maximum is refused `invalid_amount` naming the field; before, it was
    stored and overflowed the journal's BIGINT."""
    for value in (format_amount(minor), Decimal(format_amount(-minor)), minor // 100 + 1):
        with pytest.raises(Rejected) as caught:
            parse_amount(value, "amount")
        assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_AMOUNT, "amount")


@given(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False),
)
def test_percent_of_is_exact_half_up(minor: int, percent: Decimal) -> None:
    """Section 0 Money: percent_of equals the exact rational value rounded half-up."""
    numerator = minor * int(percent * 100)  # exact value * 10_000
    whole, rest = divmod(numerator, 10_000)
    expected = whole + (1 if rest * 2 >= 10_000 else 0)
    assert percent_of(minor, percent) == expected
