"""Money in integer minor units (cents); decimal strings only at the edges.

SPEC section 0: no float ever touches an amount, percentages round half-up to the cent
once, when charged. Amounts inside events are plain `int` minor units; the currency is
the account's (recorded once at registration), so no event can mix currencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from domain.bounds import MAX_AMOUNT_MINOR, MAX_AMOUNT_TEXT_LENGTH
from domain.errors import ErrorCode, Rejected, invalid

MINOR_PER_MAJOR = 100
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")  # ASCII digits only


@dataclass(frozen=True, slots=True)
class Money:
    """An amount with its currency, for the serialization boundary and reports."""

    minor: int
    currency: str

    def __str__(self) -> str:
        return f"{format_amount(self.minor)} {self.currency}"


def parse_amount(value: object, field: str = "amount") -> int:
    """Parse a decimal amount ("1200.00", "5", 12.5 as exact Decimal) into minor units.

    More than two decimals, floats, booleans, digits other than ASCII and garbage are
    `invalid_input`; the sign is kept so that the command can answer `invalid_amount` for
    zero or negative amounts. Beyond `MAX_AMOUNT_MINOR` either way is `invalid_amount`
    (domain/bounds.py: what every store and read model holds, with room for sums).
    """
    if isinstance(value, (bool, float)):
        raise invalid(f'{field} must be a decimal string such as "12.00"', field)
    if isinstance(value, int):
        return _bounded(value * MINOR_PER_MAJOR, field)
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > MAX_AMOUNT_MINOR:
            raise _too_large(field)
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise invalid(f'{field} must be a decimal string such as "12.00"', field)
    if len(text) > MAX_AMOUNT_TEXT_LENGTH or not _AMOUNT.match(text):
        raise invalid(f"{field} {value!r:.40} is not an amount with at most two decimals", field)
    try:
        scaled = Decimal(text) * MINOR_PER_MAJOR
    except InvalidOperation:  # pragma: no cover - the regex already guards this
        raise invalid(f"{field} {value!r} is not a number", field) from None
    return _bounded(int(scaled), field)


def _bounded(minor: int, field: str) -> int:
    if abs(minor) > MAX_AMOUNT_MINOR:
        raise _too_large(field)
    return minor


def _too_large(field: str) -> Rejected:
    return Rejected(
        ErrorCode.INVALID_AMOUNT,
        f"{field} is beyond the largest amount, {format_amount(MAX_AMOUNT_MINOR)}",
        field=field,
    )


def format_amount(minor: int) -> str:
    """Minor units as the two-place decimal string used in files and output."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), MINOR_PER_MAJOR)
    return f"{sign}{whole}.{cents:02d}"


def percent_of(minor: int, percent: Decimal) -> int:
    """`percent`% of an amount, rounded half-up to the cent (SPEC section 0)."""
    exact = Decimal(minor) * percent / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def prorated(minor: int, part: int, whole: int) -> int:
    """`minor` x part / whole, rounded half-up to the cent (CHANGE-2: exact seconds of a
    term), in integers so that no float or precision limit touches the amount."""
    if whole <= 0 or part < 0:
        raise ValueError("a share needs 0 <= part and a positive whole")
    sign = -1 if minor < 0 else 1
    return sign * ((2 * abs(minor) * part + whole) // (2 * whole))


def parse_percent(value: object, field: str = "discount_percent") -> Decimal:
    """A percentage between 0 and 100 with at most two decimals."""
    if isinstance(value, (bool, float)):
        raise invalid(f"{field} must be a whole or decimal number", field)
    if isinstance(value, str) and (not value.isascii() or len(value) > 16):
        raise invalid(f"{field} {value!r:.40} is not a number", field)
    try:
        pct = Decimal(str(value)) if isinstance(value, (int, str, Decimal)) else None
    except InvalidOperation:
        pct = None
    if pct is None or not pct.is_finite():
        raise invalid(f"{field} {value!r} is not a number", field)
    exponent = pct.as_tuple().exponent
    if not 0 <= pct <= 100 or (isinstance(exponent, int) and exponent < -2):
        raise invalid(f"{field} must be between 0 and 100 with at most two decimals", field)
    return pct
