"""What a run of scheduled work did, said from the events it recorded (issue 19).

`subledger tick` and `subledger scheduler` report per account what ran: read back from
the events the tick stored (the log after the position it started from), never guessed
again from the rules. Each event becomes one line: the account, a short verb (`renewed`,
`invoiced`, `overdue`, `suspended`, `ended`, `erased`, ...), its effective instant and,
for a few, a detail that tells two lines of one kind apart (the invoice number, the
notice's kind, the reason a subscription ended).
"""

from __future__ import annotations

import re
from typing import TypedDict

from projections.event_records import EventRecord

# Verbs for the events scheduled work records; any other event: its name in snake_case.
WHAT = {
    "TrialEnded": "trial_ended",
    "Renewed": "renewed",
    "InvoiceIssued": "invoiced",
    "CollectionRequested": "collection_requested",
    "PaymentReceived": "paid",
    "CollectionFailed": "collection_failed",
    "CreditApplied": "credit_applied",
    "InvoiceOverdue": "overdue",
    "InterestCharged": "interest_charged",
    "CompensationCharged": "compensation_charged",
    "CollectionCostRecorded": "collection_costs",
    "AccessSuspended": "suspended",
    "SubscriptionEnded": "ended",
    "PrepaidStarted": "prepaid_started",
    "PrepaidEnded": "prepaid_ended",
    "ScheduledChangeApplied": "plan_changed",
    "NoticeSent": "notice_sent",
    "NoticeDelivered": "notice_delivered",
    "AccountClosed": "closed",
    "PersonalDataErased": "erased",
    "PersonalDataSoftDeleted": "soft_deleted",
    "PersonalDataAnonymised": "anonymised",
    "InvoiceIdentityErased": "invoice_identity_erased",
    "ExportWindowClosed": "export_window_closed",
    "CreditWaived": "credit_waived",
    "RefundIssued": "refunded",
    "CreditNoteIssued": "credit_note_issued",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class WorkDone(TypedDict):
    account: str
    what: str
    at: str | None
    event: str
    detail: str | None


def what(event_type: str) -> str:
    return WHAT.get(event_type) or _CAMEL.sub("_", event_type).lower()


def detail(record: EventRecord) -> str | None:
    """What tells two lines of one verb apart, when the event says it."""
    kind = record.event_type
    if kind in ("InvoiceIssued", "InvoiceOverdue", "InterestCharged", "CompensationCharged"):
        n = record.get("n")
        return None if n is None else f"invoice {n}"
    if kind in ("NoticeSent", "NoticeDelivered"):
        return record.get("kind")
    if kind in ("SubscriptionEnded", "AccountClosed"):
        return record.get("reason")
    return None


def work_done(account: str, record: EventRecord) -> WorkDone:
    at = record.get("at")
    return {
        "account": account,
        "what": what(record.event_type),
        "at": at if isinstance(at, str) else None,
        "event": record.event_type,
        "detail": detail(record),
    }
