"""Retention of personal data and of the invoice identity: which path a contract takes
and until when things are kept (GDPR-2, GDPR-3, and VENDOR-2's path after an export
window).

Pure functions of the contract's policy and instants: the account decides when a
relationship ends and records what these return. GDPR-1's deadline is the contract's
`deletion_deadline` period after the request (`Period.after`), with nothing to decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, TypeAlias

from domain.calendar import add_months

# GDPR-2, per contract (`ContractProfile.retention`; domain/profiles.py RETENTION_POLICIES).
RetentionPolicy: TypeAlias = Literal[
    "erase_at_closure", "erase_after_end", "soft_delete_then_anonymise"
]
# What happens to the personal data once a relationship has ended (VENDOR-2 records it
# in `TerminatedByVendor.then`; "none" in `ExportWindowClosed.action`: nothing left).
RetentionPath: TypeAlias = Literal["erase", "schedule_erasure", "soft_delete"]

_PATHS: dict[str, RetentionPath] = {
    "erase_at_closure": "erase",
    "erase_after_end": "schedule_erasure",
    "soft_delete_then_anonymise": "soft_delete",
}


def path_after_relationship(policy: str) -> RetentionPath:
    """GDPR-2: erase at once (monthly-autorenew, device-cloud), schedule the erasure a
    retention period later (crm-retention) or soft-delete and anonymise later
    (annual-b2b). A policy this module does not know soft-deletes: the path that keeps
    the data longest never erases too early."""
    return _PATHS.get(policy, "soft_delete")


def earlier_erasure(scheduled: datetime | None, candidate: datetime) -> datetime | None:
    """GDPR-2 (crm-retention): termination is the earlier of the last subscription's end
    and a closure at the customer's request, so a closure can bring a scheduled erasure
    forward, never push it back. The new instant, or None when the scheduled one stands."""
    return candidate if scheduled is None or scheduled > candidate else None


def invoice_identity_until(
    issued: Iterable[datetime], at: datetime, financial_retention_years: int
) -> datetime:
    """GDPR-3: financial records, and the invoice identity on them, are kept
    `financial_retention_years` after the last invoice (after `at` when there is none)."""
    last = max(issued, default=at)
    return add_months(last, 12 * financial_retention_years)
