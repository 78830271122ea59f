"""ACCOUNT-5 (SPEC 1.1) and section 0's restriction windows: the email cooldown.

A device-cloud account's email cannot register again for `email_cooldown_days` after the
account closed. Section 0 (1.1): a restriction "for N days after X" is the half-open
window [X, X + N days), so a registration at exactly X + N days is no longer restricted
(unlike a deadline, which is inclusive for the customer). Emails compare trimmed and
lower-cased, so "  Fay@Example.TEST " is the address "fay@example.test" closed last week.

Only a keyed hash of the normalised address is kept for the cooldown (the account's
personal data is erased at closure) and it is dropped once the window is over: the
key store (`infra/persistence/keystore.py`) only looks up when a cooldown ends; whether
a registration is refused is decided here (`check_registration`).
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import add_days
from domain.errors import ErrorCode, Rejected


def normalise_email(email: str) -> str:
    """The form emails are compared in: surrounding white space gone, lower case."""
    return email.strip().lower()


def cooldown_ends(closed_at: datetime, days: int) -> datetime:
    """The first instant after the window [closed_at, closed_at + days)."""
    return add_days(closed_at, days)


def restricted(ends_at: datetime, at: datetime) -> bool:
    """Section 0 (1.1): inside the half-open window, i.e. strictly before its end."""
    return at < ends_at


def check_registration(cooldown_days: int, ends_at: datetime | None, at: datetime) -> None:
    """ACCOUNT-5: a registration at `at` with an email whose cooldown ends at `ends_at`
    (None: no cooldown held for it) is refused `email_cooldown` while the cooldown runs,
    under a profile that has one (`email_cooldown_days`)."""
    if cooldown_days and ends_at is not None and restricted(ends_at, at):
        raise Rejected(
            ErrorCode.EMAIL_COOLDOWN,
            f"this email belonged to an account closed less than {cooldown_days} days ago",
        )
