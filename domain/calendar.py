"""Instants, calendar months with clamping, exact days and working days (SPEC section 0).

Series of boundaries (term ends, interest months, started months) are always computed
from their first instant with `add_months(anchor, k)`, never chained, so an anchor on the
31st comes back to the 31st whenever the month has one.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import UTC, date, datetime, timedelta
from typing import overload

from domain.errors import invalid

DAY = timedelta(days=1)


def add_months(instant: datetime, months: int) -> datetime:
    """Add calendar months, keeping the time of day and clamping to the month's end."""
    month_index = instant.month - 1 + months
    year = instant.year + month_index // 12
    month = month_index % 12 + 1
    last_day = _calendar.monthrange(year, month)[1]
    return instant.replace(year=year, month=month, day=min(instant.day, last_day))


def add_days(instant: datetime, days: int) -> datetime:
    """Days are exact 24-hour durations."""
    return instant + days * DAY


def add_working_days(instant: datetime, days: int) -> datetime:
    """N working days (Monday to Friday, UTC, no holidays) after t, keeping t's time."""
    current = instant
    remaining = days
    while remaining > 0:
        current += DAY
        if current.weekday() < 5:
            remaining -= 1
    return current


def started_months(anchor: datetime, instant: datetime) -> int:
    """Number of k >= 0 with anchor + k months <= instant (CANCEL-3's m)."""
    if instant < anchor:
        return 0
    estimate = (instant.year - anchor.year) * 12 + (instant.month - anchor.month)
    k = max(estimate - 1, 0)
    while add_months(anchor, k + 1) <= instant:
        k += 1
    return k + 1


def add_years_to_date(day: date, years: int) -> date:
    """Anniversaries for ages; Feb 29 clamps to Feb 28 like month arithmetic does."""
    year = day.year + years
    last_day = _calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last_day))


def parse_instant(value: object, field: str = "at") -> datetime:
    """ISO-8601 UTC instant: `Z` or `+00:00` only; naive or other offsets are refused."""
    if not isinstance(value, str):
        raise invalid(
            f"{field} must be an ISO-8601 UTC instant such as 2026-01-05T09:00:00Z", field
        )
    text = value.strip()
    if not text.endswith("Z") and not text.endswith("+00:00"):
        raise invalid(f"{field} {value!r} is not a UTC instant (it must end in Z)", field)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{field} {value!r} is not a valid ISO-8601 instant", field) from None
    if "T" not in text:
        raise invalid(f"{field} {value!r} needs a time of day", field)
    return parsed.astimezone(UTC)


def parse_date(value: object, field: str) -> date:
    """A calendar date YYYY-MM-DD (birth dates)."""
    if not isinstance(value, str):
        raise invalid(f"{field} must be a date YYYY-MM-DD", field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"{field} {value!r} is not a valid date YYYY-MM-DD", field) from None


@overload
def format_instant(instant: datetime) -> str: ...
@overload
def format_instant(instant: None) -> None: ...
@overload
def format_instant(instant: datetime | None) -> str | None: ...
def format_instant(instant: datetime | None) -> str | None:
    """The output form: seconds precision with Z, fractions only when present (None
    stays None: an instant not set reads as null)."""
    if instant is None:
        return None
    utc = instant.astimezone(UTC)
    # not strftime: its %Y drops the leading zeros of a year before 1000 on glibc
    text = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"
    return f"{text}.{utc.microsecond:06d}Z" if utc.microsecond else f"{text}Z"


def sortable_instant(instant: datetime) -> str:
    """Fixed-width text that sorts like the instant (for index columns)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
