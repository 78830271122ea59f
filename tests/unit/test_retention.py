"""GDPR-2 and GDPR-3 retention (domain/retention.py) and the personal-data states
(domain/account_state.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.account_state import PersonalState, personal_data_gone
from domain.profiles import BUILT_IN_PROFILES
from domain.retention import earlier_erasure, invoice_identity_until, path_after_relationship


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("profile", "path"),
    [
        ("monthly-autorenew", "erase"),
        ("device-cloud", "erase"),
        ("crm-retention", "schedule_erasure"),
        ("annual-b2b", "soft_delete"),
    ],
)
def test_gdpr_2_path_after_a_relationship_per_contract(profile: str, path: str) -> None:
    """GDPR-2 (and VENDOR-2, which runs it at the end of the export window): erase at
    once, erase a retention period later, or soft-delete then anonymise."""
    assert path_after_relationship(BUILT_IN_PROFILES[profile].retention) == path


def test_gdpr_2_an_unknown_policy_keeps_the_data_rather_than_erase_it() -> None:
    assert path_after_relationship("something_new") == "soft_delete"


@pytest.mark.parametrize(
    ("scheduled", "candidate", "expected"),
    [
        (None, utc(2026, 9, 1), utc(2026, 9, 1)),  # nothing scheduled: closure schedules
        (utc(2026, 10, 1), utc(2026, 9, 1), utc(2026, 9, 1)),  # closure is earlier: moves
        (utc(2026, 8, 1), utc(2026, 9, 1), None),  # the subscription's end was earlier
        (utc(2026, 9, 1), utc(2026, 9, 1), None),  # the same instant: it stands
    ],
)
def test_gdpr_2_termination_is_the_earlier_of_the_two(
    scheduled: datetime | None, candidate: datetime, expected: datetime | None
) -> None:
    """GDPR-2 (crm-retention): the last subscription's end or the closure, whichever comes
    first; an erasure is brought forward, never pushed back."""
    assert earlier_erasure(scheduled, candidate) == expected


@pytest.mark.parametrize(
    ("issued", "at", "years", "until"),
    [
        ([utc(2026, 1, 15, 10), utc(2027, 3, 1)], utc(2028, 1, 1), 10, utc(2037, 3, 1)),
        ([utc(2027, 3, 1), utc(2026, 1, 15, 10)], utc(2028, 1, 1), 10, utc(2037, 3, 1)),
        ([], utc(2026, 5, 5, 5), 10, utc(2036, 5, 5, 5)),  # no invoice: from `at`
        ([utc(2028, 2, 29, 12)], utc(2029, 1, 1), 10, utc(2038, 2, 28, 12)),  # clamped
        ([utc(2026, 1, 15)], utc(2029, 1, 1), 7, utc(2033, 1, 15)),
    ],
)
def test_gdpr_3_invoice_identity_kept_after_the_last_invoice(
    issued: list[datetime], at: datetime, years: int, until: datetime
) -> None:
    """GDPR-3: financial records are kept `financial_retention_years` after the last."""
    assert invoice_identity_until(issued, at, years) == until


@pytest.mark.parametrize(
    ("state", "gone"),
    [("present", False), ("soft_deleted", False), ("anonymised", True), ("erased", True)],
)
def test_gdpr_2_soft_deleted_data_is_still_held(state: PersonalState, gone: bool) -> None:
    """GDPR-2, ACCOUNT-6: soft-deleted data is still held (a deletion request erases it);
    anonymised or erased data is gone (nothing left to update or erase)."""
    assert personal_data_gone(state) is gone
