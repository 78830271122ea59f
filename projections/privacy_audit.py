"""The GDPR audit (SPEC GDPR-1, GDPR-2, GDPR-3, GDPR-6), folded into each account's view.

Per account: every deletion request with its deadline (kept after erasure), when it was
carried out and whether that was late; the retention schedule (what happens to the
personal data next, when, and why); a vendor termination's export window (VENDOR-2:
until when the customer may export, and what ran at its end); until when the financial
records are kept (GDPR-3: amounts stay, identity goes); and the processing records
(account_view.PROCESSING). Folded by the accounts projection's own `fold`, so it is
rebuildable and answers "as of" a position like every other view.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.calendar import add_months, format_instant, parse_instant
from projections.documents import (
    AccountDoc,
    AuditDeletionRequest,
    AuditRecord,
    DeletionRequestDoc,
    PrivacyDoc,
)

if TYPE_CHECKING:
    from projections.event_records import EventRecord


def _iso(value: str | datetime) -> str:
    if isinstance(value, str):
        return value  # records carry instants as ISO-8601 Z text already
    return format_instant(value)


def _privacy(doc: AccountDoc) -> PrivacyDoc:
    """The privacy part of the view, with the keys added since it was first folded."""
    privacy = doc["privacy"]
    privacy.setdefault("requests", [])
    privacy.setdefault("schedule", None)
    privacy.setdefault("financial_retention_years", 10)
    privacy.setdefault("last_financial_at", None)
    privacy.setdefault(
        "invoice_identity",
        {"state": "present", "retained_until": None, "reason": None, "erased_at": None},
    )
    return privacy


def on_event(doc: AccountDoc, event: EventRecord, posted: bool) -> None:
    privacy = _privacy(doc)
    name = event.event_type
    if posted:
        privacy["last_financial_at"] = _iso(event.at)
    if name == "Registered":
        privacy["financial_retention_years"] = int(
            (event.profile or {}).get("financial_retention_years", 10)
        )
    elif name in ("TerminatedByVendor", "ExportWindowClosed"):
        _export_window(privacy, event)
    elif name == "DataDeletionRequested":
        privacy["requests"].append(
            {"requested_at": _iso(event.at), "due_at": _iso(event.due_at), "completed_at": None}
        )
    elif name in ("PersonalDataErased", "PersonalDataAnonymised"):
        for request in privacy["requests"]:
            if request["completed_at"] is None:
                request["completed_at"] = _iso(event.at)
        privacy["schedule"] = None
    elif name == "ErasureScheduled":
        privacy["schedule"] = {
            "action": "erase",
            "at": _iso(event.erase_at),
            "reason": event.reason,
        }
    elif name == "PersonalDataSoftDeleted":
        privacy["schedule"] = {
            "action": "anonymise",
            "at": _iso(event.anonymise_at),
            "reason": "soft-deleted at deactivation (GDPR-2)",
        }
    elif name == "ErasureCancelled":
        privacy["schedule"] = None
    elif name == "InvoiceIdentityRetained":
        privacy["invoice_identity"] = {
            "state": "retained",
            "retained_until": _iso(event.until),
            "reason": event.reason,
            "erased_at": None,
        }
    elif name == "InvoiceIdentityErased":
        privacy["invoice_identity"] = {
            **privacy["invoice_identity"],
            "state": "erased",
            "erased_at": _iso(event.at),
        }


def _export_window(privacy: PrivacyDoc, event: EventRecord) -> None:
    """VENDOR-2: the window opens at the termination; its end sets off the profile's path
    (whose own events then show the schedule that follows)."""
    if event.event_type == "TerminatedByVendor":
        until = _iso(event.export_until)
        privacy["export_window"] = {
            "terminated_at": _iso(event.at),
            "export_until": until,
            "closed_at": None,
            "action": None,
        }
        if privacy["personal_data"] == "present":
            privacy["schedule"] = {
                "action": event.then,
                "at": until,
                "reason": "VENDOR-2: the end of the export window after a vendor termination",
            }
        return
    privacy["export_window"] = {
        **(privacy.get("export_window") or {}),
        "closed_at": _iso(event.at),
        "action": event.action,
    }
    privacy["schedule"] = None


def _overdue(request: DeletionRequestDoc, as_of: datetime | None) -> bool:
    due = parse_instant(request["due_at"])
    done = request["completed_at"]
    if done is not None:
        return parse_instant(done) > due
    return as_of is not None and as_of > due


def audit(doc: AccountDoc, as_of: datetime | None) -> AuditRecord:
    """The account's audit record as of an instant (overdue flags depend on it)."""
    privacy = _privacy(doc)
    last = privacy["last_financial_at"]
    kept_until = (
        None
        if last is None
        else format_instant(
            add_months(parse_instant(last), 12 * privacy["financial_retention_years"])
        )
    )
    return {
        "account": doc["ref"],
        "profile": doc["profile"],
        "personal_data": privacy["personal_data"],
        "erased_at": privacy["erased_at"],
        "deletion_requests": [_with_overdue(r, as_of) for r in privacy["requests"]],
        "retention": privacy["schedule"],
        "invoice_identity": privacy["invoice_identity"],
        "financial_records_kept_until": kept_until,
        "processing_records": privacy["records"],
        "export_window": privacy.get("export_window"),  # VENDOR-2, else None
    }


def _with_overdue(request: DeletionRequestDoc, as_of: datetime | None) -> AuditDeletionRequest:
    return {
        "requested_at": request["requested_at"],
        "due_at": request["due_at"],
        "completed_at": request["completed_at"],
        "overdue": _overdue(request, as_of),
    }


CSV_COLUMNS = (
    "account",
    "profile",
    "personal_data",
    "erased_at",
    "deletion_requested_at",
    "deletion_due_at",
    "deletion_completed_at",
    "deletion_overdue",
    "retention_action",
    "retention_at",
    "retention_reason",
    "invoice_identity",
    "invoice_identity_until",
    "financial_records_kept_until",
    "processing_records",
    "export_until",
    "export_window_closed_at",
    "export_window_action",
)


def csv_row(record: AuditRecord) -> dict[str, str | int | None]:
    """One line per account: its latest deletion request and next retention action."""
    requests = record["deletion_requests"]
    latest = requests[-1] if requests else None
    retention = record["retention"]
    window = record["export_window"] or {}
    return {
        "account": record["account"],
        "profile": record["profile"],
        "personal_data": record["personal_data"],
        "erased_at": record["erased_at"] or "",
        "deletion_requested_at": "" if latest is None else latest["requested_at"],
        "deletion_due_at": "" if latest is None else latest["due_at"],
        "deletion_completed_at": "" if latest is None else latest["completed_at"] or "",
        "deletion_overdue": "" if latest is None else str(latest["overdue"]).lower(),
        "retention_action": "" if retention is None else retention["action"],
        "retention_at": "" if retention is None else retention["at"],
        "retention_reason": "" if retention is None else retention["reason"],
        "invoice_identity": record["invoice_identity"]["state"],
        "invoice_identity_until": record["invoice_identity"]["retained_until"] or "",
        "financial_records_kept_until": record["financial_records_kept_until"] or "",
        "processing_records": len(record["processing_records"]),
        "export_until": window.get("export_until") or "",
        "export_window_closed_at": window.get("closed_at") or "",
        "export_window_action": window.get("action") or "",
    }
