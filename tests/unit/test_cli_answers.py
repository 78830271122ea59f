"""The command line's money and instant forms (infra/interface/answers.py, issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.calendar import format_instant
from infra.interface.answers import answer, event_money, instant, major, money


def test_money_is_a_decimal_string_in_major_units_with_the_currency_for_people() -> None:
    assert (major(2900), major(-5), major(0)) == ("29.00", "-0.05", "0.00")
    assert money(120000, "EUR") == "1200.00 EUR"
    assert money("29.00", "EUR") == "29.00 EUR"  # the account state's strings
    assert money(None, "EUR") == "-"


def test_event_fields_in_major_units_without_minor_keys() -> None:
    fields = {
        "amount": 2900,
        "n": 1,
        "allocations": [["inv:1", 2500], ["int:1", 400]],
        "profile": {"late_fee_min_minor": 15000, "trial_days": 7},
        "details": {"price": 29000, "plan": "basic"},
        "basis": 120000,  # VENDOR-3: what liquidated damages were charged on
        "collect": True,
    }
    assert event_money(fields) == {
        "amount": "29.00",
        "n": 1,
        "allocations": [["inv:1", "25.00"], ["int:1", "4.00"]],
        "profile": {"late_fee_min": "150.00", "trial_days": 7},
        "details": {"price": "290.00", "plan": "basic"},
        "damages_basis": "1200.00",
        "collect": True,
    }


def test_instants_for_people_to_the_second_with_four_digit_years() -> None:
    recorded = datetime(2026, 1, 31, 0, 0, 0, 123456, tzinfo=UTC)
    assert instant(recorded) == "2026-01-31T00:00:00Z"
    assert instant("2026-01-31T00:00:00.123456Z") == "2026-01-31T00:00:00Z"
    assert format_instant(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05Z"


def test_an_answer_names_its_kind_first_and_leaves_out_what_was_not_asked() -> None:
    doc = answer("journal", account=None, as_of="2026-01-31T00:00:00Z", position=None, rows=[])
    assert list(doc) == ["kind", "as_of", "rows"]
