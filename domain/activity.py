"""ACCOUNT-3 (SPEC 1.1): which of the customer's commands count as activity.

The inactivity clock (crm-retention 6 calendar months, device-cloud 365 days) restarts
only at a command the customer makes; automatic work (renewals, collections, the payment
provider's answers, notices) and the vendor's commands never restart it. The list is the
SPEC's, in one place: the event body recording a customer's command calls
`Account._customer_command(<command name>, at)`, which looks the name up here. A new
customer command counts once its name is in this set and its event body makes that call.

Stored events replay through the same lookup, so taking a name *out* of the set would
change what recorded events mean; such a change is versioned in the event instead, as
`DataDeletionRequested.activity` does for `request_data_deletion` (activity under SPEC
1.0, not under 1.1).
"""

from __future__ import annotations

ACTIVITY_COMMANDS: frozenset[str] = frozenset(
    {
        "register_account",
        "record_activity",
        "start_trial",
        "subscribe",
        "purchase_prepaid",
        "cancel_queued",
        "request_cancellation",
        "revoke_cancellation",  # SPEC 2.0 CHANGE-4
        "change_plan",  # SPEC 2.0 CHANGE-1, CHANGE-2, CHANGE-3
        "update_personal_data",
        "export_personal_data",
        "dispute_invoice",
        "record_payment",  # money the customer sends, not the payment provider's collections
    }
)


def is_activity(command: str) -> bool:
    return command in ACTIVITY_COMMANDS
