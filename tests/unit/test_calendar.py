"""SPEC section 0 "Time": UTC instants, clamped calendar months, exact days, working days."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    add_days,
    add_months,
    add_working_days,
    format_instant,
    parse_instant,
    started_months,
)
from domain.errors import ErrorCode, Rejected


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (utc(2026, 1, 31, 10), 1, utc(2026, 2, 28, 10)),  # clamp to February's end
        (utc(2028, 1, 31, 10), 1, utc(2028, 2, 29, 10)),  # leap year
        (utc(2026, 1, 31, 10), 2, utc(2026, 3, 31, 10)),  # from the anchor, not chained
        (utc(2026, 1, 31, 10), 3, utc(2026, 4, 30, 10)),
        (utc(2026, 3, 31, 10), 3, utc(2026, 6, 30, 10)),  # scenario 02's quarterly term
        (utc(2026, 3, 31, 10), 6, utc(2026, 9, 30, 10)),
        (utc(2026, 1, 5, 9), 12, utc(2027, 1, 5, 9)),
        (utc(2026, 11, 30, 23, 59, 59), 3, utc(2027, 2, 28, 23, 59, 59)),
        (utc(2026, 12, 15), 1, utc(2027, 1, 15)),
        (utc(2024, 2, 29, 12), 12, utc(2025, 2, 28, 12)),
        (utc(2024, 2, 29, 12), 48, utc(2028, 2, 29, 12)),
        (utc(2026, 5, 31, 8, 30), -1, utc(2026, 4, 30, 8, 30)),
        (utc(2026, 1, 20, 8), 0, utc(2026, 1, 20, 8)),
    ],
)
def test_add_months_clamps_and_keeps_time(start: datetime, months: int, expected: datetime) -> None:
    """Section 0 Months: keep the time of day, clamp the day to the month's end."""
    assert add_months(start, months) == expected


def test_add_months_series_is_computed_from_the_anchor_not_chained() -> None:
    """Section 0 Months: anchor Jan 31 gives Feb 28, Mar 31, Apr 30, ... (never Mar 28)."""
    anchor = utc(2026, 1, 31, 9)
    series = [add_months(anchor, k) for k in range(1, 7)]
    assert [d.day for d in series] == [28, 31, 30, 31, 30, 31]
    chained = add_months(add_months(anchor, 1), 1)
    assert chained.day == 28  # what chaining would give, and why the series must not chain
    assert series[1] == utc(2026, 3, 31, 9)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (utc(2026, 1, 9, 10), 1, utc(2026, 1, 12, 10)),  # Friday + 1 = Monday
        (utc(2026, 1, 9, 10), 15, utc(2026, 1, 30, 10)),  # GDPR-1 crm: scenario 05
        (utc(2026, 1, 10, 10), 1, utc(2026, 1, 12, 10)),  # Saturday + 1 = Monday
        (utc(2026, 1, 11, 23, 59), 1, utc(2026, 1, 12, 23, 59)),  # Sunday + 1 = Monday
        (utc(2026, 1, 12, 7, 15, 30), 5, utc(2026, 1, 19, 7, 15, 30)),  # Mon + 5 = Mon
        (utc(2026, 1, 14, 10), 2, utc(2026, 1, 16, 10)),  # Wed + 2 = Fri
        (utc(2026, 1, 14, 10), 3, utc(2026, 1, 19, 10)),  # Wed + 3 = Mon
        (utc(2026, 1, 14, 10), 0, utc(2026, 1, 14, 10)),
    ],
)
def test_add_working_days(start: datetime, days: int, expected: datetime) -> None:
    """Section 0 Working days: Monday to Friday UTC, no holidays, keeping t's time of day."""
    assert add_working_days(start, days) == expected


def test_add_days_is_exact_24_hours() -> None:
    """Section 0 Days: exact 24-hour durations (a window ends at X + N x 24h)."""
    assert add_days(utc(2026, 3, 28, 22, 30), 2) == utc(2026, 3, 30, 22, 30)
    assert add_days(utc(2026, 1, 5, 9), -15) == utc(2025, 12, 21, 9)


@pytest.mark.parametrize(
    ("anchor", "instant", "expected"),
    [
        (utc(2026, 1, 20, 8), utc(2026, 1, 19, 8), 0),  # before the anchor
        (utc(2026, 1, 20, 8), utc(2026, 1, 20, 8), 1),  # k = 0 counts at the anchor
        (utc(2026, 1, 20, 8), utc(2026, 2, 20, 7, 59, 59), 1),
        (utc(2026, 1, 20, 8), utc(2026, 2, 20, 8), 2),  # exactly S + 1 month
        (utc(2026, 1, 20, 8), utc(2026, 4, 25), 4),  # CANCEL-3, scenario 04
        (utc(2026, 1, 31, 9), utc(2026, 2, 28, 9), 2),  # clamped boundary is reached
        (utc(2026, 1, 31, 9), utc(2026, 3, 30, 9), 2),  # Mar 31 is the next one
        (utc(2026, 1, 31, 9), utc(2026, 3, 31, 9), 3),
        (utc(2026, 1, 5, 9), utc(2027, 1, 5, 8, 59), 12),
        (utc(2026, 1, 5, 9), utc(2027, 1, 5, 9), 13),
    ],
)
def test_started_months(anchor: datetime, instant: datetime, expected: int) -> None:
    """CANCEL-3 / section 0: m = number of k >= 0 with anchor + k months <= t."""
    assert started_months(anchor, instant) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T09:00:00Z", utc(2026, 1, 5, 9)),
        ("2026-01-05T09:00:00+00:00", utc(2026, 1, 5, 9)),
        ("2028-02-29T23:59:59Z", utc(2028, 2, 29, 23, 59, 59)),
        ("2026-01-05T09:00:00.250000Z", utc(2026, 1, 5, 9, 0, 0, 250000)),
    ],
)
def test_parse_instant_accepts_utc(text: str, expected: datetime) -> None:
    """Section 0 Time: timezone-aware UTC instants, ISO-8601 with Z."""
    parsed = parse_instant(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-05T09:00:00",  # naive
        "2026-01-05T10:00:00+01:00",  # a non-UTC offset, even for the same instant
        "2026-01-05T04:00:00-05:00",
        "2026-02-30T09:00:00Z",  # impossible date
        "2027-02-29T09:00:00Z",  # not a leap year
        "2026-13-01T09:00:00Z",
        "2026-01-05T25:00:00Z",
        "2026-01-05Z",  # no time of day
        "2026-01-05",
        "yesterday",
        "",
        None,
        1767603600,
        utc(2026, 1, 5, 9),  # not a string: the edge takes text only
    ],
)
def test_parse_instant_rejects_as_invalid_input(text: object) -> None:
    """Section 0 error codes: non-UTC time, naive time, impossible date -> invalid_input."""
    with pytest.raises(Rejected) as caught:
        parse_instant(text, "at")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.field == "at"


def test_format_instant_uses_z() -> None:
    """Section 0 Time: output instants are ISO-8601 with Z."""
    assert format_instant(utc(2026, 1, 5, 9)) == "2026-01-05T09:00:00Z"
    plus_one = datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=1)))
    assert format_instant(plus_one) == "2026-01-05T09:00:00Z"
    assert format_instant(None) is None


# ---------------------------------------------------------------- properties
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


@given(instants, st.integers(min_value=-240, max_value=600))
def test_add_months_day_is_clamped_and_time_kept(anchor: datetime, k: int) -> None:
    """Section 0 Months: day = min(anchor day, month length); the time of day is kept."""
    result = add_months(anchor, k)
    months_since_year_0 = anchor.year * 12 + anchor.month - 1 + k
    assert result.year * 12 + result.month - 1 == months_since_year_0
    length = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(anchor.day, length)
    assert result.timetz() == anchor.timetz()


@given(instants, st.integers(min_value=0, max_value=600))
def test_started_months_at_each_boundary(anchor: datetime, k: int) -> None:
    """CANCEL-3: started_months(anchor, anchor + k months) == k + 1."""
    assert started_months(anchor, add_months(anchor, k)) == k + 1
    if k > 0:
        assert started_months(anchor, add_months(anchor, k) - timedelta(microseconds=1)) == k


@given(instants, st.integers(min_value=1, max_value=400))
def test_add_working_days_lands_on_weekday(start: datetime, days: int) -> None:
    """Section 0 Working days: the result is a weekday, keeps the time, skips weekends."""
    result = add_working_days(start, days)
    assert result.weekday() < 5
    assert result.timetz() == start.timetz()
    elapsed = (result.date() - start.date()).days
    weekdays = sum(
        1 for d in range(1, elapsed + 1) if (start.date() + timedelta(days=d)).weekday() < 5
    )
    assert weekdays == days


@given(instants, st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_add_working_days_is_monotonic(start: datetime, a: int, b: int) -> None:
    """Section 0 Working days: more working days never lands earlier."""
    lo, hi = sorted((a, b))
    assert add_working_days(start, lo) <= add_working_days(start, hi)
    if hi > lo:
        assert add_working_days(start, lo) < add_working_days(start, hi)
