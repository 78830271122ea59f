"""The bounds of everything a caller sends, declared once (issue 13).

Each field of each command is parsed by one of the parsers below (the fields of
`infra/interface/fields.py`, which the command declarations use), so a new field is
bounded by choosing one; the CLI, the HTTP API, the scenario runner and the OpenAPI
document all read the same numbers, and the README lists them. A value out of bounds is
refused before anything is stored: `invalid_input` naming the field, or `invalid_amount`
for an amount beyond the maximum.

Why these numbers:
- Amounts: every store and read model keeps amounts as 64-bit integers (PostgreSQL
  BIGINT, SQLite INTEGER, the journal's lines and the account views' sums). One amount is
  at most `MAX_AMOUNT_MINOR` (9,999,999,999.99), so a 64-bit sum holds 9.2 million of the
  largest amounts: room for interest, prepaid packages (at most `MAX_MONTHS` times a
  price) and any realistic history. A read model that still overflows stops itself, not
  the ledger (projections/isolation.py).
- Identifiers (a new account's reference): ASCII letters, digits and `. _ - @ + :`, at
  most `MAX_ID_LENGTH`, starting with a letter or digit and without `..`: usable as a
  URL path segment as is (no `/`, no NUL, nothing a client or proxy rewrites).
- Free text: no control characters (a newline only where a postal address needs one),
  no unpaired surrogates, each field with its own length.
- Instants in commands and queries lie in [1970-01-01, 3000-01-01): far enough for any
  contract, and every date computed from them (renewals, retention) stays inside what
  the calendar and the stores hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from domain.calendar import format_instant, parse_date, parse_instant
from domain.errors import invalid

INT64_MAX = 2**63 - 1
MAX_AMOUNT_MINOR = 999_999_999_999  # 9,999,999,999.99 in the account's currency
MAX_AMOUNT_TEXT_LENGTH = 32  # "-9999999999.99" and spaces, generously
MAX_MONTHS = 120  # a prepaid package: ten years at most
MAX_INVOICE_NUMBER = 2**31 - 1
MAX_POSITION = INT64_MAX  # a log position is a BIGINT
MAX_ID_LENGTH = 128
MAX_JSON_DEPTH = 16  # a command body is one flat object; anything deeper is refused
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# field -> longest accepted text, in characters (after trimming); other fields: "text".
# `account` is a reference to an existing account (new ones are identifiers, below):
# accounts registered before identifiers were bounded stay addressable.
TEXT_LENGTHS = {
    "account": 255,
    "name": 200,
    "email": 254,
    "phone": 32,
    "address": 500,
    "reason": 500,
    "reference": 128,
    "plan": 64,
    "text": 500,
}
MULTILINE_FIELDS = frozenset({"address"})  # a newline is allowed there, nothing else
# field -> largest accepted whole number (the smallest is 1); other fields: "whole".
WHOLE_MAXIMA = {
    "months": MAX_MONTHS,
    "invoice": MAX_INVOICE_NUMBER,
    "position": MAX_POSITION,
    "whole": INT64_MAX,
}

ID_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._@+:-]*$"
_ID = re.compile(ID_PATTERN)
REF_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # what the OpenAPI document says of a reference
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)
_FORBIDDEN = frozenset({"Cc", "Cs"})  # control characters, unpaired surrogates


def _check_chars(text: str, field: str, *, multiline: bool = False) -> None:
    for ch in text:
        if unicodedata.category(ch) in _FORBIDDEN and not (multiline and ch == "\n"):
            raise invalid(f"{field} holds a control character ({ch!r}); plain text only", field)


def bounded_text(max_length: int, *, multiline: bool = False) -> Callable[[Any, str], str]:
    """A parser of a non-empty text of at most `max_length` characters (as sent, before
    it is trimmed: as the OpenAPI document's `maxLength` counts)."""

    def parse(value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"{field} must be a non-empty string", field)
        if len(value) > max_length:
            raise invalid(f"{field} is longer than {max_length} characters", field)
        _check_chars(value, field, multiline=multiline)
        return value.strip()

    return parse


def field_text(value: Any, field: str) -> str:
    """A free-text field bounded by its name (`TEXT_LENGTHS`, `MULTILINE_FIELDS`)."""
    length = TEXT_LENGTHS.get(field, TEXT_LENGTHS["text"])
    return bounded_text(length, multiline=field in MULTILINE_FIELDS)(value, field)


def identifier(value: Any, field: str) -> str:
    """A new identifier (a new account's reference): see the module's docstring. Taken
    as sent: no spaces to trim, since it becomes a URL path segment."""
    if not isinstance(value, str) or not value:
        raise invalid(f"{field} must be a non-empty string", field)
    if len(value) > MAX_ID_LENGTH:
        raise invalid(f"{field} is longer than {MAX_ID_LENGTH} characters", field)
    if not _ID.fullmatch(value):
        raise invalid(
            f"{field} {value[:40]!r} is not an identifier: ASCII letters, digits "
            "and `. _ - @ + :`, starting with a letter or digit, without `..`",
            field,
        )
    return value


def whole(maximum: int, minimum: int = 1) -> Callable[[Any, str], int]:
    """A parser of a whole number in [minimum, maximum] (an integer, never a string)."""

    def parse(value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise invalid(f"{field} must be a whole number from {minimum} to {maximum}", field)
        return value

    return parse


def field_whole(value: Any, field: str) -> int:
    """A whole number from 1 to the field's maximum (`WHOLE_MAXIMA`)."""
    return whole(WHOLE_MAXIMA.get(field, WHOLE_MAXIMA["whole"]))(value, field)


def instant(value: Any, field: str = "at") -> datetime:
    """An ISO-8601 UTC instant (`domain.calendar.parse_instant`) within the bounds."""
    if isinstance(value, str) and (len(value) > 40 or not value.isascii()):
        raise invalid(f"{field} is not an ISO-8601 UTC instant such as 2026-01-05T09:00:00Z", field)
    parsed = parse_instant(value, field)
    if not EARLIEST_INSTANT <= parsed < LATEST_INSTANT:
        raise invalid(
            f"{field} {format_instant(parsed)} is outside "
            f"{format_instant(EARLIEST_INSTANT)} .. {format_instant(LATEST_INSTANT)}",
            field,
        )
    return parsed


def birth_date(value: Any, field: str) -> date:
    if isinstance(value, str) and (len(value) > 10 or not value.isascii()):
        raise invalid(f"{field} {value[:40]!r} is not a date YYYY-MM-DD", field)
    parsed = parse_date(value, field)
    if not EARLIEST_BIRTH_DATE <= parsed < LATEST_INSTANT.date():
        raise invalid(
            f"{field} must lie between {EARLIEST_BIRTH_DATE} and {LATEST_INSTANT.date()}", field
        )
    return parsed


def month(value: Any, field: str = "month") -> str:
    """A calendar month `YYYY-MM` (reports) within the instants' bounds."""
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise invalid(f"{field} must be a month YYYY-MM (01 to 12)", field)
    if not EARLIEST_INSTANT.year <= int(value[:4]) < LATEST_INSTANT.year:
        raise invalid(
            f"{field} must lie between {EARLIEST_INSTANT.year}-01 and {LATEST_INSTANT.year - 1}-12",
            field,
        )
    return value


def json_depth(document: Any) -> int:
    """How deeply a decoded JSON document nests (an object of scalars is 1), without
    recursion: a hostile document cannot exhaust the stack here."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        pending.extend((child, depth + 1) for child in children)
    return deepest
