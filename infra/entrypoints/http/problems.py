"""RFC 9457 problem details: every refusal as `application/problem+json` with its code.

`code` is the SPEC error code (section 0) for a rule's refusal, or one of the API's own
(`unauthenticated`, `insufficient_scope`, `idempotency_key_reused`,
`idempotency_key_in_use`, `unsupported_media_type`, `payload_too_large`, `not_found`,
`method_not_allowed`, `internal_error`). The status says whose mistake it is: 4xx the
caller's, 5xx ours; bad input is never a 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from domain.errors import ErrorCode, Rejected

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:subledger:problem:"

# A rule's refusal: 400 the request itself is wrong, 404 the account is not there,
# 409 the account's state conflicts with it, 422 well formed but the contract says no.
STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.INVALID_AMOUNT: 422,
    ErrorCode.UNKNOWN_ACCOUNT: 404,
    ErrorCode.ACCOUNT_EXISTS: 409,
    ErrorCode.ACCOUNT_CLOSED: 409,
    ErrorCode.UNDERAGE: 422,
    ErrorCode.EMAIL_COOLDOWN: 422,
    ErrorCode.UNKNOWN_PLAN: 422,
    ErrorCode.TERM_NOT_OFFERED: 422,
    ErrorCode.ALREADY_SUBSCRIBED: 409,
    ErrorCode.TRIAL_ALREADY_USED: 409,
    ErrorCode.TRIAL_NOT_OFFERED: 422,
    ErrorCode.TRIAL_NOT_CANCELLABLE: 422,
    ErrorCode.PREPAID_NOT_CANCELLABLE: 422,
    ErrorCode.NOTHING_TO_CANCEL: 409,
    ErrorCode.PRICE_NOTICE_TOO_SHORT: 422,
    ErrorCode.UNKNOWN_INVOICE: 404,
    ErrorCode.DISPUTE_WINDOW_CLOSED: 422,
    ErrorCode.CLOSURE_REJECTED: 409,
    ErrorCode.CONFLICT: 409,  # concurrent updates outlasted the retries: try again
    ErrorCode.NO_SUBSCRIPTION: 409,  # CHANGE-1: nothing live to change
    ErrorCode.NO_CHANGE: 409,
    ErrorCode.CANCELLATION_PENDING: 409,  # CHANGE-1: revoke it first (CHANGE-4)
    ErrorCode.NO_RENEWAL: 409,  # CHANGE-3: the term will not renew
    ErrorCode.NOTHING_TO_REVOKE: 409,
    ErrorCode.ALREADY_SUSPENDED: 409,
    ErrorCode.NOT_SUSPENDED: 409,
    ErrorCode.VENDOR_TERMINATED: 409,  # VENDOR-2: the vendor refuses a new agreement
    ErrorCode.NOTHING_OVERDUE: 409,
    ErrorCode.NOT_OFFERED: 422,  # VENDOR-3: the contract has no such remedy
    ErrorCode.READ_ONLY: 503,  # the store was opened for reading only: ours, not the caller's
}
assert set(STATUS_OF) == set(ErrorCode), "every SPEC code has its HTTP status"


def problem(status: int, code: str, detail: str, **extensions: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    doc.update({k: v for k, v in extensions.items() if v is not None})
    return doc


def from_rejected(e: Rejected) -> dict[str, Any]:
    return problem(
        STATUS_OF[e.code], e.code.value, e.message, field=e.field, reasons=list(e.reasons) or None
    )
