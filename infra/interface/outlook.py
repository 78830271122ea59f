"""What a person should know beside an answer, said by `subscribe` and `status` (issue
19): a term that will not renew (`RENEW-2`, or a pending cancellation), and a scheduler
clock ahead of the wall clock (a simulation's `--allow-future` moved it: commands
without `--at` are then timed at that clock, not now)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.account_state import RenewalOutlook
from domain.calendar import format_instant, parse_instant


def renewal_doc(outlook: RenewalOutlook | None) -> dict[str, Any] | None:
    if outlook is None:
        return None
    doc: dict[str, Any] = {"renews": outlook.renews, "at": format_instant(outlook.at)}
    if not outlook.renews:
        doc["reason"] = outlook.reason
        if outlook.reason == "manual_method":
            doc["rule"] = "RENEW-2"
            doc["payment_method"] = outlook.method
    return doc


def renewal_text(outlook: RenewalOutlook | None, profile: str) -> str | None:
    if outlook is None:
        return None
    at = format_instant(outlook.at)
    if outlook.renews:
        return f"renews automatically at {at}"
    if outlook.reason == "cancelled":
        return f"will not renew: cancelled, the subscription ends at {at}"
    return (
        f"will not renew: the term ends at {at} (RENEW-2: {profile} renews only with a "
        f"stored payment method; {outlook.method} is paid by hand)"
    )


def clock_ahead(clock: str | None, wall: datetime) -> dict[str, str] | None:
    """The scheduler's clock when it is ahead of the wall clock, else None."""
    if clock is None:
        return None
    ran_to = parse_instant(clock)
    if ran_to <= wall:
        return None
    return {"scheduler_clock": format_instant(ran_to), "wall_clock": format_instant(wall)}


def clock_ahead_text(ahead: dict[str, str]) -> str:
    return (
        f"warning: scheduled work has run up to {ahead['scheduler_clock']}, ahead of the "
        f"wall clock ({ahead['wall_clock']}): a command without --at is timed at "
        f"{ahead['scheduler_clock']}, and one before it is refused"
    )
