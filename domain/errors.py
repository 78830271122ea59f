"""Typed rejections with the stable error codes of SPEC section 0.

A rejected command records nothing; the code is what callers (CLI, scenario runner, later
the HTTP API) branch on, the message is for people.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_ACCOUNT = "unknown_account"
    ACCOUNT_EXISTS = "account_exists"
    ACCOUNT_CLOSED = "account_closed"
    UNDERAGE = "underage"
    EMAIL_COOLDOWN = "email_cooldown"
    UNKNOWN_PLAN = "unknown_plan"
    TERM_NOT_OFFERED = "term_not_offered"
    ALREADY_SUBSCRIBED = "already_subscribed"
    TRIAL_ALREADY_USED = "trial_already_used"
    TRIAL_NOT_OFFERED = "trial_not_offered"
    TRIAL_NOT_CANCELLABLE = "trial_not_cancellable"
    PREPAID_NOT_CANCELLABLE = "prepaid_not_cancellable"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    PRICE_NOTICE_TOO_SHORT = "price_notice_too_short"
    UNKNOWN_INVOICE = "unknown_invoice"
    DISPUTE_WINDOW_CLOSED = "dispute_window_closed"
    CLOSURE_REJECTED = "closure_rejected"
    CONFLICT = "conflict"
    # 2.0, sections 10-11: plan changes and the vendor's own actions
    NO_SUBSCRIPTION = "no_subscription"
    NO_CHANGE = "no_change"
    CANCELLATION_PENDING = "cancellation_pending"
    NO_RENEWAL = "no_renewal"
    NOTHING_TO_REVOKE = "nothing_to_revoke"
    ALREADY_SUSPENDED = "already_suspended"
    NOT_SUSPENDED = "not_suspended"
    VENDOR_TERMINATED = "vendor_terminated"
    NOTHING_OVERDUE = "nothing_overdue"
    NOT_OFFERED = "not_offered"
    # not a rule of the contracts: the store was opened for reading only (issue 19)
    READ_ONLY = "read_only"


class LedgerError(Exception):
    """Base of every subledger error."""


class Rejected(LedgerError):
    """A command was refused by a rule; nothing was recorded.

    `reasons` carries the sub-reasons of composite rejections (ACCOUNT-4 closure).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.reasons = reasons

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.code.value, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.reasons:
            out["reasons"] = list(self.reasons)
        return out


def invalid(message: str, field: str | None = None) -> Rejected:
    return Rejected(ErrorCode.INVALID_INPUT, message, field=field)
