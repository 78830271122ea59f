"""The texts of the notices the ledger sends: subject and body per event kind.

The notifier (`consumers/notifier.py`) sends them through the email port
(`consumers.ports.EmailPort`; the SMTP adapter is `infra/messaging/smtp.py`).
"""

from __future__ import annotations

from typing import Any

from domain.money import format_amount


def _money(data: dict[str, Any], key: str) -> str:
    return format_amount(int(data.get(key, 0)))


Text = tuple[str, str]


def _notice(d: dict[str, Any], account: str, currency: str) -> Text:
    kind, details = d.get("kind", "notice"), d.get("details") or {}
    if kind == "renewal_reminder":
        return (
            "Your subscription renews soon",
            f"Account {account}: your subscription "
            f"renews on {details.get('renews_at', d.get('effective_at'))}.",
        )
    if kind == "price_change":
        price = (
            f" to {format_amount(int(details['new_price']))} {currency}"
            if "new_price" in details
            else ""
        )
        when = details.get("price_effective_at", d.get("effective_at"))
        return (
            "A price change for your plan",
            f"Account {account}: the price of your plan changes on {when}{price}.",
        )
    text = _NOTICES_2_0.get(kind)
    if text is not None:
        return text(details, account, currency)  # type: ignore[no-any-return]
    return (f"Notice: {kind}", f"Account {account}: {kind} ({d.get('effective_at')}).")


def _when(value: Any) -> str:
    """An instant as the notices print it: the date and time in UTC."""
    text = str(value or "")
    return text.replace("+00:00", "Z").replace("T", " ", 1) if text else "-"


# SPEC 2.0 sections 10-11: what the customer is told (details as the ledger recorded them)
_NOTICES_2_0: dict[str, Any] = {
    "plan_changed": lambda d, account, currency: (
        "Your plan has changed",
        f"Account {account}: you are now on {d.get('plan')} "
        f"(was {d.get('from_plan')}). For the rest of the current term we invoice "
        f"{format_amount(int(d.get('prorated', 0)))} {currency} (invoice {d.get('invoice')}); "
        f"from the next renewal the {d.get('term')} price is "
        f"{format_amount(int(d.get('price', 0)))} {currency}.",
    ),
    "plan_change_scheduled": lambda d, account, currency: (
        "Your plan will change at the renewal",
        f"Account {account}: from "
        f"{_when(d.get('effective_at'))} you will be on {d.get('plan')} / {d.get('term')}"
        + (f" at {format_amount(int(d['price']))} {currency}" if d.get("price") is not None else "")
        + ". Nothing changes before then.",
    ),
    "account_suspended": lambda _d, account, _currency: (
        "Your access is suspended",
        f"Account {account}: we have suspended your access. Billing continues; please contact us.",
    ),
    "account_reinstated": lambda d, account, _currency: (
        "Your suspension has been lifted",
        f"Account {account}: we have lifted our "
        "suspension."
        + (
            " Access comes back once the overdue amount is paid."
            if d.get("payment_suspension")
            else " Your access is back."
        ),
    ),
    "vendor_termination": lambda d, account, _currency: (
        "We have ended your contract",
        f"Account {account}: your contract has ended and "
        "access is off. Invoices already issued remain due. You can export your data "
        f"until {_when(d.get('export_until'))}.",
    ),
    "nonpayment_cancellation": lambda d, account, currency: (
        "Your contract is cancelled for non-payment",
        f"Account {account}: because of an "
        "overdue invoice your contract is cancelled and access is off. Liquidated damages "
        f"of {format_amount(int(d.get('damages', 0)))} {currency} are charged"
        + (
            f" and invoice(s) {', '.join(str(n) for n in d['accelerated'])} are due now"
            if d.get("accelerated")
            else ""
        )
        + ".",
    ),
}


_TEXTS: dict[str, Any] = {
    "NoticeSent": _notice,
    "InvoiceIssued": lambda d, account, currency: (
        f"Invoice {d.get('n')}",
        f"Account {account}: invoice {d.get('n')} for "
        f"{_money(d, 'amount')} {currency}, due {d.get('due_at')}.",
    ),
    "RefundIssued": lambda d, account, currency: (
        "Your refund",
        f"Account {account}: we refunded {_money(d, 'amount')} {currency}.",
    ),
    "InvoiceOverdue": lambda d, account, _currency: (
        f"Invoice {d.get('n')} is overdue",
        f"Account {account}: invoice {d.get('n')} is overdue since {d.get('at')}.",
    ),
    "AccessSuspended": lambda _d, account, _currency: (
        "Your access is suspended",
        f"Account {account}: access is suspended until the overdue amount is paid.",
    ),
}
DELIVERABLE = frozenset(_TEXTS)


def notice_text(name: str, data: dict[str, Any], account: str, currency: str) -> Text | None:
    """Subject and body of the notice an event calls for; None when it calls for none."""
    text = _TEXTS.get(name)
    return None if text is None else text(data, account, currency)
