"""The command line's one rule for money and for `--json` answers (README "Output: money,
JSON, instants").

People read amounts as decimal strings with the currency (`29.00 EUR`); machines get one
JSON object per answer, with `kind` naming what it is, money as decimal strings in major
units (`"29.00"`) and the currency beside them (`"currency"` at the top of the answer).
The ledger keeps integer minor units inside (events, read models, the journal, reports);
this module is the one place where the CLI turns them into what people and programs
read, so that no answer prints cents and no other answer prints euros. The HTTP API and
the Kafka CloudEvents keep their own contracts and do not pass through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.calendar import format_instant
from domain.money import MINOR_PER_MAJOR, format_amount

# Report columns that hold money, by report (the rest are counts, rates, labels).
REPORT_MONEY = {
    "subscriptions": (),
    "mrr": ("mrr", "arr"),
    "conversion": (),
    "churn": (),
    "revenue": ("invoiced", "collected", "recognised"),
    "ageing": ("current", "1-30", "31-60", "61-90", "90+"),
    "vat": ("net", "tax"),
    "mrr-movements": (
        "opening",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "closing",
    ),
}
# Keys whose values are money, in every `--json` answer of the CLI (the test of every
# answer walks them; README lists them). A key here holds a decimal string in major units
# (or null); no other key does.
MONEY_KEYS = frozenset(
    {
        # account state (status, export): balance, invoices, refunds
        "invoiced",
        "paid",
        "refunded",
        "credit",
        "outstanding",
        "principal",
        "interest",
        "fees",
        "amount",
        "net",
        "tax",
        # events' fields
        "list_price",
        "discount",
        "to_credit",
        "price",
        "new_price",
        "prorated",
        "damages_basis",
        "damages",
        "late_fee_min",
        "nonpayment_damages_min",
        # journal (its lines name the ledger accounts `debit_account`, `credit_account`)
        "debits",
        "credits",
        # invoice documents (projections/invoice_document.py)
        "gross",
        "credited",
        "amount_due",
    }
    | {column for columns in REPORT_MONEY.values() for column in columns}
)
EVENT_MONEY = frozenset(
    {
        "amount",
        "list_price",
        "discount",
        "net",
        "tax",
        "to_credit",
        "principal",
        "price",
        "new_price",
        "prorated",
        "damages",
    }
)
# Event fields whose name means something else elsewhere in the answers: `basis` is the
# amount liquidated damages were charged on (VENDOR-3), and a processing record's lawful
# basis in the privacy answers.
EVENT_RENAMED = {"basis": "damages_basis"}
_MINOR_SUFFIX = "_minor"
_DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]{2}$")


def major(minor: int) -> str:
    """Integer minor units as the decimal string in major units (`2900` -> `"29.00"`)."""
    assert MINOR_PER_MAJOR == 100, "format_amount shows two places: the domain's only exponent"
    return format_amount(minor)


def money(amount: int | str | None, currency: str | None) -> str:
    """For people: `29.00 EUR`, from minor units or from a decimal string already in
    major units (the account state's); `-` when there is no amount."""
    if amount is None:
        return "-"
    shown = amount if isinstance(amount, str) else major(amount)
    return f"{shown} {currency}" if currency else shown


def is_decimal(value: object) -> bool:
    return isinstance(value, str) and bool(_DECIMAL.match(value))


def instant(value: datetime | str | None) -> str:
    """An instant for people: to the second, four-digit year, `Z` (a recorded time
    keeps its microseconds in `--json`, not in the sentences people read)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return re.sub(r"\.[0-9]+Z$", "Z", value)
    return format_instant(value.replace(microsecond=0))


def answer(kind: str, /, **fields: Any) -> dict[str, Any]:
    """One `--json` answer: `kind` first, then what was asked, then the content; fields
    given as None that say what was asked (`account`, `as_of`, `position`, `month`) are
    left out rather than printed as null."""
    doc: dict[str, Any] = {"kind": kind}
    for key, value in fields.items():
        if value is None and key in ("account", "as_of", "position", "month"):
            continue
        doc[key] = value
    return doc


def decimal_rows(rows: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> list[dict[str, Any]]:
    """Rows with the money columns `keys` as decimal strings."""
    wanted = frozenset(keys)
    return [
        {k: major(v) if k in wanted and isinstance(v, int) else v for k, v in row.items()}
        for row in rows
    ]


def event_money(value: Any) -> Any:
    """An event's fields with their amounts in major units: the money fields, the
    allocations' `[charge, amount]` pairs, notice details, and the profile's `*_minor`
    settings (renamed without the suffix: the unit is the answer's, not the key's)."""
    if isinstance(value, dict):
        shown: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith(_MINOR_SUFFIX) and isinstance(item, int):
                shown[key[: -len(_MINOR_SUFFIX)]] = major(item)
            elif key in EVENT_RENAMED and isinstance(item, int):
                shown[EVENT_RENAMED[key]] = major(item)
            elif key in EVENT_MONEY and isinstance(item, int) and not isinstance(item, bool):
                shown[key] = major(item)
            elif key == "allocations" and isinstance(item, list):
                shown[key] = [
                    [pair[0], major(pair[1])]
                    if isinstance(pair, (list, tuple)) and len(pair) == 2
                    else pair
                    for pair in item
                ]
            else:
                shown[key] = event_money(item)
        return shown
    if isinstance(value, list):
        return [event_money(v) for v in value]
    return value


def journal_money(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The journal and its trial balance (projections/journal.py) in major units. A line's
    `debit` and `credit` name ledger accounts: `debit_account`, `credit_account` here, so
    that `credit` means money in every answer (an account's credit balance); a ledger
    account's totals are its `debits`, `credits` and `net`."""
    return {
        "lines": [
            {
                "position": line["position"],
                "line": line["line"],
                "account": line["account"],
                "at": line["at"],
                "debit_account": line["debit"],
                "credit_account": line["credit"],
                "amount": major(line["amount"]),
                "memo": line["memo"],
            }
            for line in doc["lines"]
        ],
        "trial_balance": {
            name: {
                "debits": major(row["debit"]),
                "credits": major(row["credit"]),
                "net": major(row["net"]),
            }
            for name, row in doc["trial_balance"].items()
        },
        "debits": major(doc["debits"]),
        "credits": major(doc["credits"]),
        "balanced": doc["balanced"],
    }
