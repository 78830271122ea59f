"""What the ledger's answers look like: confirmations, errors, state and event history,
for the `subledger` command line and, as plain JSON values (`plain`, `event_doc`,
`confirmation_json`), for the HTTP API.

Pure formatting, no ledger access: every function takes plain values and returns text (or
writes one document), so the entry points stay thin translators and the output is easy
to test.
Human output goes to stdout, errors to stderr; with `--json` everything is one JSON
document on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

from domain.calendar import format_instant
from infra.interface.answers import EVENT_MONEY, EVENT_RENAMED, MONEY_KEYS, event_money
from projections.documents import ObservedState

SEALED = "<sealed>"
SEALED_FIELDS = frozenset({"personal", "billing"})  # GDPR-5/GDPR-3 ciphertext: never printed
EVENT_MONEY_SHOWN = EVENT_MONEY | frozenset(EVENT_RENAMED.values())
EVENT_META = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "at"}
)


# ------------------------------------------------------------------ documents
def plain(value: Any) -> Any:
    """A JSON-ready copy: instants as ISO `Z`, ids and decimals as strings."""
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dumps(document: Any, *, pretty: bool = False) -> str:
    return json.dumps(plain(document), indent=2 if pretty else None, ensure_ascii=False)


def write_json(document: Any, out: TextIO | None = None, *, pretty: bool = False) -> None:
    print(dumps(document, pretty=pretty), file=out or sys.stdout)


def error(code: str, message: str, *, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    """Report a refusal; the exit status of every refusal is 2."""
    if as_json:
        write_json({"kind": "error", "error": code, "message": message, **(extra or {})})
    else:
        print(f"error: {code}: {message}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------ tables
def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    indent: str = "",
    *,
    align_right: Sequence[str] = (),
) -> list[str]:
    """Columns two spaces apart, left-aligned but for `align_right` (amounts)."""
    cells = [[str(h) for h in headers]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    right = [h in align_right for h in headers]
    return [
        indent
        + "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ).rstrip()
        for row in cells
    ]


def cell(value: Any) -> str:
    """A value as a table cell or `key=value` shows it: `-` for none, yes/no."""
    return _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ------------------------------------------------------------------ commands
def confirmation(
    do: str,
    account: str | None,
    at: datetime,
    recorded: bool,
    detail: dict[str, Any],
    state: ObservedState | None,
    *,
    currency: str | None = None,
) -> str:
    """One line for a command that succeeded (amounts with `currency`, when known)."""
    who = f" {account}" if account else ""
    line = f"ok: {do}{who} at {format_instant(at)}"
    if not recorded:
        line += ": already recorded, nothing changed"
    notified = detail.get("notified")
    if isinstance(notified, list):
        line += f": notified {len(notified)} account(s)"
        if notified:
            line += " (" + ", ".join(notified) + ")"
    if state is not None:
        line += f"; status {state['status']}, access {_cell(state['access'])}"
        if state.get("access_until"):
            line += f" until {state['access_until']}"
        line += f", outstanding {_money(state['balance']['outstanding'], currency)}"
    return line


def confirmation_json(
    do: str,
    account: str | None,
    at: datetime,
    recorded: bool,
    detail: dict[str, Any],
    state: ObservedState | None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"ok": True, "command": do}
    if account is not None:
        doc["account"] = account
    doc.update(at=format_instant(at), recorded=recorded)
    if detail:
        doc["detail"] = detail
    if state is not None:
        doc["status"] = state["status"]
        doc["access"] = state["access"]
    return doc


# ------------------------------------------------------------------ status
def state_text(
    account: str,
    at: datetime,
    state: ObservedState,
    *,
    profile: str | None = None,
    currency: str | None = None,
) -> str:
    """The observed account state (FORMAT.md) as readable text, amounts with the currency."""

    def m(amount: str | None) -> str:
        return _money(amount, currency)

    balance = state["balance"]
    lines = [f"account      {account}"]
    if profile:
        lines.append(f"profile      {profile}" + (f" ({currency})" if currency else ""))
    lines.append(f"as of        {format_instant(at)}")
    suspension = f" ({state['suspension']})" if state.get("suspension") else ""  # VENDOR-1
    lines.append(f"status       {state['status']}{suspension}")
    access = "yes" if state["access"] else "no"
    if state.get("access_until"):
        access += f" (until {state['access_until']})"
    lines.append(f"access       {access}")
    if state.get("plan"):
        lines.append(f"plan         {state['plan']} / {state.get('term') or '-'}")
    change = state.get("scheduled_change")
    if change:  # CHANGE-3
        lines.append(f"changes to   {change['plan']} / {change['term']} at {change['at']}")
    if state.get("export_until"):  # VENDOR-2
        lines.append(f"terminated   by the vendor; data export until {state['export_until']}")
    lines.append(
        f"balance      invoiced {m(balance['invoiced'])}, paid {m(balance['paid'])}, "
        f"refunded {m(balance['refunded'])}, credit {m(balance['credit'])}"
    )
    lines.append(
        f"outstanding  {m(balance['outstanding'])} (principal {m(balance['principal'])}, "
        f"interest {m(balance['interest'])}, fees {m(balance['fees'])})"
    )
    invoices = state.get("invoices", [])
    lines.append(f"invoices     {len(invoices) or 'none'}")
    if invoices:
        lines += table(
            ("n", "issued", "due", "amount", "paid", "status", "kind"),
            (
                [
                    i["n"],
                    i["issued_at"],
                    i["due_at"],
                    m(i["amount"]),
                    m(i["paid"]),
                    i["status"],
                    i.get("kind"),
                ]
                for i in invoices
            ),
            indent="  ",
            align_right=("amount", "paid"),
        )
    refunds = state.get("refunds", [])
    lines.append(f"refunds      {len(refunds) or 'none'}")
    lines += [f"  {m(r['amount'])} at {r['at']}" for r in refunds]
    notices = state.get("notices", [])
    lines.append(f"notices      {len(notices) or 'none'}")
    lines += [f"  {n['kind']} sent {n['sent_at']}, effective {n['effective_at']}" for n in notices]
    privacy = state.get("privacy", {})
    line = f"personal     {privacy.get('personal_data')}"
    if privacy.get("deletion_due_at"):
        line += f"; deletion due {privacy['deletion_due_at']}"
        if privacy.get("deletion_overdue"):
            line += " (OVERDUE)"
    lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------ events
def event_fields(event: Any) -> dict[str, Any]:
    """The domain fields of a stored event, personal ciphertext replaced by `<sealed>`."""
    fields = {k: v for k, v in vars(event).items() if k not in EVENT_META}
    for name in SEALED_FIELDS & fields.keys():
        if fields[name]:  # "" is no data at all (an account without invoice identity)
            fields[name] = SEALED
    return fields


def event_doc(event: Any) -> dict[str, Any]:
    doc: dict[str, Any] = plain(
        {
            "version": event.originator_version,
            "event": type(event).__name__,
            "at": getattr(event, "at", None),
            "recorded_at": event.timestamp,
            "fields": event_fields(event),
        }
    )
    return doc


def event_line(event: Any, *, currency: str | None = None) -> str:
    """`v3  2026-01-05T09:00:00Z  recorded ...  InvoiceIssued  n=1 amount="1200.00 EUR" ...`."""
    parts = []
    for key, value in event_money(event_fields(event)).items():
        shown = value
        if key == "profile" and isinstance(value, dict) and "name" in value:
            shown = value["name"]  # the full contract is in --json
        if key in EVENT_MONEY_SHOWN and isinstance(shown, str) and currency:
            shown = f"{shown} {currency}"
        parts.append(f"{key}={_field_text(shown)}")
    effective = format_instant(getattr(event, "at", None)) or "-"
    recorded = format_instant(event.timestamp.replace(microsecond=0))
    return (
        f"v{event.originator_version:<4} {effective:<20}  recorded "
        f"{recorded}  {type(event).__name__}  " + " ".join(parts)
    ).rstrip()


def _field_text(value: Any) -> str:
    value = plain(value)
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _money(amount: str | None, currency: str | None) -> str:
    """`29.00 EUR` from the state's decimal string (the currency left out when unknown)."""
    if amount is None:
        return "-"
    return f"{amount} {currency}" if currency else str(amount)


# ------------------------------------------------------------------ privacy
def export_text(account: str, doc: dict[str, Any], *, currency: str | None) -> str:
    """GDPR-4's export for a person: one `key: value` per line, nested keys indented,
    amounts with the currency (`--json` gives the document)."""
    lines = [f"everything held about {account} (GDPR-4; --json for the document)"]
    lines += _outline(doc, "", lambda k, v: _money(v, currency) if k in MONEY_KEYS else None)
    return "\n".join(lines)


def privacy_text(as_of: str, records: list[dict[str, Any]]) -> str:
    """The GDPR audit for a person: per account, its state, requests and deadlines."""
    lines = [f"privacy audit as of {as_of}: {len(records)} account(s) (--json, --csv for all)"]
    for record in records:
        lines.append("")
        lines += _outline(record, "", lambda _k, _v: None)
    return "\n".join(lines)


def _outline(value: Any, indent: str, shown: Any) -> list[str]:
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{indent}{key}:")
                lines += _outline(item, indent + "  ", shown)
            else:
                text = shown(key, item) if isinstance(item, str) else None
                lines.append(f"{indent}{key}: {text or _cell(item if item != [] else None)}")
    elif isinstance(value, list):
        for n, item in enumerate(value, 1):
            if isinstance(item, (dict, list)):
                lines.append(f"{indent}- {n}")
                lines += _outline(item, indent + "  ", shown)
            else:
                lines.append(f"{indent}- {_cell(item)}")
    return lines
