"""MRR movements (issue 18) against figures computed by hand, on both stores, and the
identity opening + movements = closing on random command streams (a hypothesis property).

The book: monthly-autorenew, basic 29.00/month or 290.00/year, pro 99.00/month. February
2026, MRR in cents:
- a1 basic monthly by card since 01-01 (2900); upgrades to pro on 02-10: expansion +7000.
- a2 pro monthly by card since 01-15 (9900); downgrades to basic, taking effect at the
  02-15 renewal (CHANGE-3): contraction -7000.
- a3 subscribes basic annual on 02-03: new +2416 (29000 / 12, whole cents down).
- a4 basic monthly since 01-01, cancelled 01-20: ends 02-01: churn -2900.
- a5 basic monthly by bank transfer since 01-01 (paid), not renewed (RENEW-2): churn -2900
  at 02-01; subscribes again on 02-20: reactivation +2900.
- a6 basic monthly by card since 01-10, terminated by the vendor on 02-12: churn -2900.
Opening (as of 02-01) 2900 + 9900 + 2900 + 2900 + 2900 = 21500; closing (as of 03-01)
a1 9900 + a2 2900 + a3 2416 + a5 2900 = 18116 = 21500 + 2416 + 7000 - 7000 - 8700 + 2900.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from backends import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_kit import open_ledger

from domain.calendar import add_months, parse_instant
from domain.errors import Rejected
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from projections.mrr_movements import MOVEMENTS

BOOK = {"basic": {"monthly": 2900, "annual": 29000}, "pro": {"monthly": 9900, "annual": 99000}}


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def customer(
    ledger: Ledger,
    ref: str,
    at: str,
    plan: str = "basic",
    term: str = "monthly",
    method: str = "card",
) -> None:
    do(ledger, "register_account", at, account=ref, name=ref, email=f"{ref}@x.test")
    do(ledger, "subscribe", at, account=ref, plan=plan, term=term, payment_method=method)


def february(ledger: Ledger) -> None:
    customer(ledger, "a1", "2026-01-01T00:00:00Z")
    customer(ledger, "a4", "2026-01-01T00:00:00Z")
    customer(ledger, "a5", "2026-01-01T00:00:00Z", method="bank_transfer")
    do(
        ledger,
        "record_payment",
        "2026-01-01T00:00:00Z",
        account="a5",
        amount="29.00",
        reference="a5-1",
    )
    customer(ledger, "a6", "2026-01-10T00:00:00Z")
    customer(ledger, "a2", "2026-01-15T00:00:00Z", plan="pro")
    do(ledger, "request_cancellation", "2026-01-20T00:00:00Z", account="a4")
    do(ledger, "change_plan", "2026-02-01T12:00:00Z", account="a2", plan="basic")
    customer(ledger, "a3", "2026-02-03T00:00:00Z", term="annual")
    do(ledger, "change_plan", "2026-02-10T00:00:00Z", account="a1", plan="pro")
    do(ledger, "terminate_by_vendor", "2026-02-12T00:00:00Z", account="a6", reason="abuse")
    do(
        ledger,
        "subscribe",
        "2026-02-20T00:00:00Z",
        account="a5",
        plan="basic",
        term="monthly",
        payment_method="card",
    )
    ledger.tick(parse_instant("2026-03-10T00:00:00Z"))


def mrr_total(ledger: Ledger, at: datetime) -> int:
    return sum(row["mrr"] for row in ledger.report("mrr", as_of=at))


def assert_reconciles(ledger: Ledger, month: str, row: dict[str, Any]) -> None:
    """opening + movements = closing; opening and closing are the `mrr` report's totals
    as of the month's first instant and of its end (or the month-to-date instant)."""
    first = parse_instant(f"{month}-01T00:00:00Z")
    assert row["opening"] + sum(row[m] for m in MOVEMENTS) == row["closing"], row
    assert row["opening"] == mrr_total(ledger, first), row
    assert row["closing"] == mrr_total(ledger, parse_instant(row["until"])), row
    assert row["contraction"] <= 0 and row["churn"] <= 0, row
    assert min(row["new"], row["expansion"], row["reactivation"]) >= 0, row


def test_mrr_movements_match_the_hand_computed_figures(backend: Backend) -> None:
    ledger = open_ledger(backend.database("mrr"), "monthly-autorenew", BOOK)
    february(ledger)
    row = ledger.report(
        "mrr-movements", as_of=parse_instant("2026-03-10T00:00:00Z"), month="2026-02"
    )
    assert row == [
        {
            "month": "2026-02",
            "opening": 21500,
            "new": 2416,
            "expansion": 7000,
            "contraction": -7000,
            "churn": -8700,
            "reactivation": 2900,
            "closing": 18116,
            "until": "2026-03-01T00:00:00Z",
        }
    ]
    assert_reconciles(ledger, "2026-02", row[0])
    # January: everyone but a3 is new; nothing else moved
    january = ledger.report(
        "mrr-movements", as_of=parse_instant("2026-03-10T00:00:00Z"), month="2026-01"
    )[0]
    assert (january["opening"], january["new"], january["closing"]) == (0, 21500, 21500)
    # month to date: as of 02-11, a1's upgrade is in, a2's downgrade (02-15) not yet
    to_date = ledger.report(
        "mrr-movements", as_of=parse_instant("2026-02-11T00:00:00Z"), month="2026-02"
    )[0]
    assert (
        to_date["until"],
        to_date["expansion"],
        to_date["contraction"],
        to_date["churn"],
        to_date["closing"],
    ) == ("2026-02-11T00:00:00Z", 7000, 0, -5800, 21500 + 2416 + 7000 - 5800)
    assert_reconciles(ledger, "2026-02", to_date)
    ledger.close()


# ---------------------------------------------------------------- the property
REFS = ("u1", "u2", "u3")
T0 = parse_instant("2026-01-05T09:00:00Z")
step = st.one_of(
    st.tuples(
        st.just("subscribe"),
        st.sampled_from(REFS),
        st.sampled_from(["basic", "pro"]),
        st.sampled_from(["monthly", "annual"]),
        st.sampled_from(["card", "bank_transfer"]),
    ),
    st.tuples(
        st.just("change_plan"),
        st.sampled_from(REFS),
        st.sampled_from(["basic", "pro"]),
        st.sampled_from([None, "monthly", "annual"]),
    ),
    st.tuples(st.just("request_cancellation"), st.sampled_from(REFS)),
    st.tuples(st.just("revoke_cancellation"), st.sampled_from(REFS)),
    st.tuples(st.just("suspend_account"), st.sampled_from(REFS)),
    st.tuples(st.just("reinstate_account"), st.sampled_from(REFS)),
    st.tuples(st.just("terminate_by_vendor"), st.sampled_from(REFS)),
    st.tuples(st.just("record_payment"), st.sampled_from(REFS), st.integers(100, 40_000)),
    st.tuples(st.just("wait"), st.integers(1, 50)),
)


def _fields(kind: str, args: list[Any], n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"account": args[0]}
    if kind == "subscribe":
        fields |= {"plan": args[1], "term": args[2], "payment_method": args[3]}
    elif kind == "change_plan":
        fields |= {"plan": args[1]} | ({} if args[2] is None else {"term": args[2]})
    elif kind in ("suspend_account", "terminate_by_vendor"):
        fields["reason"] = "property"
    elif kind == "record_payment":
        fields |= {"amount": f"{args[1] / 100:.2f}", "reference": f"p{n}"}
    return fields


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(step, min_size=4, max_size=18))
def test_opening_plus_movements_is_closing_on_random_command_streams(
    steps: list[tuple[Any, ...]],
) -> None:
    """For every month the stream touched: opening + new + expansion + contraction +
    churn + reactivation = closing, opening and closing are the `mrr` report as of the
    month's bounds, and each month opens where the previous one closed."""
    with tempfile.TemporaryDirectory(prefix="subledger-mrr-") as tmp:
        ledger = open_ledger(Path(tmp) / "mrr.db", "monthly-autorenew", BOOK)
        try:
            clock = T0
            for ref in REFS:
                ledger.execute(
                    parse_command(
                        "register_account",
                        {"account": ref, "name": ref, "email": f"{ref}@x.test"},
                        clock,
                    )
                )
            for n, (kind, *args) in enumerate(steps):
                if kind == "wait":
                    clock += timedelta(days=args[0])
                    continue
                with contextlib.suppress(Rejected):  # refusals record nothing
                    ledger.execute(parse_command(kind, _fields(kind, args, n), clock))
            end = add_months(clock, 2)
            ledger.tick(end)
            month, closing = parse_instant("2026-01-01T00:00:00Z"), 0
            while month < end:
                label = f"{month.year:04d}-{month.month:02d}"
                row = ledger.report("mrr-movements", as_of=end, month=label)[0]
                assert_reconciles(ledger, label, row)
                assert row["opening"] == closing, (label, row)
                closing = row["closing"]
                month = add_months(month, 1)
        finally:
            ledger.close()
