"""Issue 14: rules that lived in infra/ are the domain's, and tested as the domain's.

- PRICE-2 and NOTICE-1: `PriceSchedule.announce` refuses a notice shorter than the
  profile's `min_price_notice`, counted from when the notice is received on its channel
  (email at once, courier a day later, mail two), and records nothing when it refuses;
- ACCOUNT-5: `email_cooldown.check_registration` decides, the key store only looks up;
- GDPR-5 / ACCOUNT-1: the "personal data was erased" refusal, written once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.account_state import PersonalState, personal_data_gone
from domain.email_cooldown import check_registration, cooldown_ends
from domain.errors import ErrorCode, Rejected
from domain.personal_data import personal_data_erased
from domain.pricing import NOTICE_DELAY_DAYS, PriceBook, PriceSchedule, notice_received_at
from domain.profiles import ANNUAL_B2B, MONTHLY_AUTORENEW, Period

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BOOK = PriceBook({"basic": {"monthly": 2900, "annual": 29000}})


def announce(
    schedule: PriceSchedule,
    *,
    effective_at: datetime,
    channel: str = "email",
    minimum: Period = MONTHLY_AUTORENEW.min_price_notice,
    plan: str = "basic",
    term: str = "monthly",
    new_price: int = 3500,
) -> datetime:
    return schedule.announce(
        plan=plan,
        term=term,
        new_price=new_price,
        effective_at=effective_at,
        announced_at=T,
        channel=channel,
        book=BOOK,
        min_notice=minimum,
    )


def refused(code: ErrorCode, **kwargs: object) -> None:
    """Refused with `code`, and nothing recorded (SPEC section 0)."""
    schedule = PriceSchedule()
    before = len(schedule.collect_events())
    with pytest.raises(Rejected) as caught:
        announce(schedule, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code is code
    assert len(schedule.collect_events()) == 0 and before == 1  # only the Opened event
    assert schedule.changes == []


@pytest.mark.parametrize(("channel", "delay"), sorted(NOTICE_DELAY_DAYS.items()))
def test_notice_1_a_notice_counts_from_its_receipt_by_channel(channel: str, delay: int) -> None:
    """NOTICE-1: email at once, courier the next day, mail two days later; PRICE-2's 30
    days (monthly-autorenew) run from then: one second earlier is too short."""
    earliest = T + timedelta(days=30 + delay)
    schedule = PriceSchedule()
    assert (
        announce(schedule, effective_at=earliest, channel=channel)
        == T + timedelta(days=delay)
        == notice_received_at(T, channel)
    )
    assert [(c.plan, c.term, c.new_price, c.effective_at) for c in schedule.changes] == [
        ("basic", "monthly", 3500, earliest)
    ]
    refused(
        ErrorCode.PRICE_NOTICE_TOO_SHORT,
        effective_at=earliest - timedelta(seconds=1),
        channel=channel,
    )


def test_price_2_annual_b2b_needs_a_calendar_month() -> None:
    """PRICE-2: annual-b2b's notice is one calendar month (Mar 1 -> Apr 1), not 30 days."""
    month = ANNUAL_B2B.min_price_notice
    assert (
        announce(
            PriceSchedule(),
            effective_at=datetime(2026, 4, 1, 9, tzinfo=UTC),
            minimum=month,
            term="annual",
        )
        == T
    )
    refused(
        ErrorCode.PRICE_NOTICE_TOO_SHORT,
        minimum=month,
        term="annual",
        effective_at=datetime(2026, 3, 31, 9, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("code", "kwargs"),
    [
        (ErrorCode.UNKNOWN_PLAN, {"plan": "gold"}),
        (ErrorCode.TERM_NOT_OFFERED, {"term": "quarterly"}),
        (ErrorCode.INVALID_AMOUNT, {"new_price": -1}),
        (ErrorCode.INVALID_INPUT, {"channel": "pigeon"}),
    ],
)
def test_price_1_an_announcement_names_a_catalog_price(
    code: ErrorCode, kwargs: dict[str, object]
) -> None:
    refused(code, effective_at=T + timedelta(days=90), **kwargs)


def test_account_5_the_cooldown_decision_is_the_domains() -> None:
    """ACCOUNT-5: refused inside [closed, closed + days), free at its end (section 0's
    half-open window), never without a cooldown or under a profile without one."""
    ends = cooldown_ends(T, 10)
    for at in (T, ends - timedelta(seconds=1)):
        with pytest.raises(Rejected) as caught:
            check_registration(10, ends, at)
        assert caught.value.code is ErrorCode.EMAIL_COOLDOWN
        assert "less than 10 days" in caught.value.message
    check_registration(10, ends, ends)
    check_registration(10, None, T)
    check_registration(0, ends, T)


@pytest.mark.parametrize(
    ("state", "gone"),
    [("present", False), ("soft_deleted", False), ("erased", True), ("anonymised", True)],
)
def test_gdpr_5_erased_or_anonymised_data_is_gone(state: PersonalState, gone: bool) -> None:
    assert personal_data_gone(state) is gone
    refusal = personal_data_erased()
    assert (refusal.code, refusal.field) == (ErrorCode.INVALID_INPUT, "account")
