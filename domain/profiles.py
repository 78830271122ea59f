"""Contract profiles: the numbers of SPEC sections 1-7 as data, never as branches.

A profile is recorded in the account's `Registered` event, so replaying an account uses
the contract it signed even if the configuration changes later. A fifth profile is a
TOML table in the config file (read by `infra/config.py`), no code involved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.calendar import add_days, add_months, add_working_days

TERM_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
STORED_METHODS = frozenset({"card", "direct_debit"})  # TERM-3
MANUAL_METHODS = frozenset({"paypal", "cash", "one_time", "bank_transfer"})
PAYMENT_METHODS = STORED_METHODS | MANUAL_METHODS
CHARGE_CLASSES = ("collection_cost", "compensation", "interest", "principal")
RETENTION_POLICIES = ("erase_at_closure", "erase_after_end", "soft_delete_then_anonymise")
CREDIT_AT_CLOSURE = ("refund", "waive")  # ACCOUNT-3 (1.1)


@dataclass(frozen=True, slots=True)
class Period:
    """A span measured in calendar months, exact days or working days."""

    months: int = 0
    days: int = 0
    working_days: int = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Period:
        return self  # frozen: the aggregate cache's deep copies may share it

    def after(self, instant: datetime) -> datetime:
        result = add_months(instant, self.months) if self.months else instant
        if self.days:
            result = add_days(result, self.days)
        if self.working_days:
            result = add_working_days(result, self.working_days)
        return result

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True, slots=True)
class ContractProfile:
    name: str
    terms: tuple[str, ...]
    trial_days: int | None = None  # TRIAL-2; None: trial_not_offered
    trial_cancellable: bool = True  # TRIAL-5
    prepaid: bool = False  # TERM-6
    payment_terms_days: int = 0  # TERM-4
    auto_renew: str = "stored_method"  # RENEW-2: "always" or "stored_method"
    renewal_reminder_days: int | None = None  # RENEW-3
    renewal_reminder_min_months: int = 3
    cancellation_cutoff_days: int | None = None  # RENEW-4
    price_opt_out_days: int | None = None  # PRICE-4
    min_price_notice: Period = Period(days=30)  # PRICE-2
    prorated_refund_terms: tuple[str, ...] = ()  # CANCEL-3; empty: no refund (CANCEL-2)
    suspend_after_days: int = 7  # PAY-2
    late_interest_percent: Decimal | None = None  # PAY-3, per started month
    late_fee_percent: Decimal | None = None  # PAY-3 fixed compensation
    late_fee_min_minor: int = 0
    allocation_order: tuple[str, ...] = ("principal",)  # PAY-4
    collection_costs: bool = False  # PAY-5
    dispute_window_days: int = 7  # PAY-6
    inactivity: Period | None = None  # ACCOUNT-3
    closure_min_age_days: int = 0  # ACCOUNT-4 too_new
    credit_at_closure: str = "refund"  # ACCOUNT-3 (1.1): credit at an inactivity closure
    email_cooldown_days: int = 0  # ACCOUNT-5
    deletion_deadline: Period = Period(days=30)  # GDPR-1
    retention: str = "erase_at_closure"  # GDPR-2
    retention_period: Period = Period(months=6)
    financial_retention_years: int = 10  # GDPR-3
    nonpayment_damages_percent: Decimal | None = None  # VENDOR-3; None: not_offered
    nonpayment_damages_min_minor: int = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> ContractProfile:
        return self  # frozen: the aggregate cache's deep copies may share it

    def offers_term(self, term: str) -> bool:
        return term in self.terms

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, used in `Registered` events and `subledger init`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Period):
                value = value.as_dict()
            elif isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


# the kinds of the profile's fields: what a config table may give for each (infra/config.py)
# and how a recorded profile is read back (`profile_from_record`)
INT_FIELDS = {
    "payment_terms_days",
    "renewal_reminder_min_months",
    "suspend_after_days",
    "late_fee_min_minor",
    "dispute_window_days",
    "closure_min_age_days",
    "email_cooldown_days",
    "financial_retention_years",
    "nonpayment_damages_min_minor",
}
OPT_INT_FIELDS = {
    "trial_days",
    "renewal_reminder_days",
    "cancellation_cutoff_days",
    "price_opt_out_days",
}
BOOL_FIELDS = {"trial_cancellable", "prepaid", "collection_costs"}
PERIOD_FIELDS = {"min_price_notice", "deletion_deadline", "retention_period"}
OPT_DECIMAL_FIELDS = {"late_interest_percent", "late_fee_percent", "nonpayment_damages_percent"}


def profile_from_record(data: dict[str, Any]) -> ContractProfile:
    """A profile as a `Registered` event recorded it (`as_dict`), for replay.

    Replayed event bodies must never fail, so nothing is validated again here: keys a later
    version recorded are ignored. A key added since the record was written takes the value
    of the built-in profile of the same name (the contract the account signed, as the
    rules now read it: an old device-cloud account waives credit at an inactivity closure,
    ACCOUNT-3 1.1), else its default. Every number the record holds is kept.
    """
    known = {f.name for f in fields(ContractProfile)}
    built_in = BUILT_IN_PROFILES.get(str(data.get("name")))
    values: dict[str, Any] = (
        {}
        if built_in is None
        else {f.name: getattr(built_in, f.name) for f in fields(ContractProfile)}
    )
    for key, raw in data.items():
        if key not in known:
            continue
        value = raw
        if key in PERIOD_FIELDS or key == "inactivity":
            value = None if raw is None else Period(**raw)
        elif key in OPT_DECIMAL_FIELDS:
            value = None if raw is None else Decimal(raw)
        elif isinstance(raw, list):
            value = tuple(raw)
        values[key] = value
    return ContractProfile(**values)


MONTHLY_AUTORENEW = ContractProfile(
    name="monthly-autorenew",
    terms=("monthly", "quarterly", "semiannual", "annual"),
    trial_days=7,
    renewal_reminder_days=30,
    deletion_deadline=Period(days=30),
    retention="erase_at_closure",
)

ANNUAL_B2B = ContractProfile(
    name="annual-b2b",
    terms=("annual",),
    trial_days=15,
    payment_terms_days=14,
    auto_renew="always",
    cancellation_cutoff_days=15,
    price_opt_out_days=30,
    min_price_notice=Period(months=1),
    suspend_after_days=0,
    late_interest_percent=Decimal(1),
    late_fee_percent=Decimal(20),
    late_fee_min_minor=15000,
    allocation_order=CHARGE_CLASSES,
    collection_costs=True,
    retention="soft_delete_then_anonymise",
    nonpayment_damages_percent=Decimal(20),  # VENDOR-3 (003 art.11 par. 2-3)
    nonpayment_damages_min_minor=10000,
)

CRM_RETENTION = ContractProfile(
    name="crm-retention",
    terms=("monthly", "annual"),
    trial_days=None,
    inactivity=Period(months=6),
    deletion_deadline=Period(working_days=15),
    retention="erase_after_end",
)

DEVICE_CLOUD = ContractProfile(
    name="device-cloud",
    terms=("monthly", "annual"),
    trial_days=14,
    trial_cancellable=False,
    prepaid=True,
    prorated_refund_terms=("annual",),
    inactivity=Period(days=365),
    closure_min_age_days=7,
    credit_at_closure="waive",  # 004 s6.5.5
    email_cooldown_days=10,
    retention="erase_at_closure",
)

BUILT_IN_PROFILES: dict[str, ContractProfile] = {
    p.name: p for p in (MONTHLY_AUTORENEW, ANNUAL_B2B, CRM_RETENTION, DEVICE_CLOUD)
}
