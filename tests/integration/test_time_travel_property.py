"""Issue 7 property: for random valid command streams on the scenario clock, at every
log position the journal balances, the state asked `--position N` is the state the live
ledger showed when the log stood at N, and asking `--as-of` the instant of position N
gives the same account views as folding up to N. With a tax table too (TAX-5: VAT in the
journal), a domestic and a cross-border consumer."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_kit import journal_net, open_ledger

from domain.calendar import parse_instant
from domain.errors import Rejected
from domain.tax import TaxTable
from infra.interface.vocabulary import parse_command
from projections.account_view import observe

REFS = ("u1", "u2")
BOOK = {"basic": {"monthly": 2900, "annual": 29000}}
T0 = parse_instant("2026-01-05T09:00:00Z")
TAX = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "FR": "5.5"}})
COUNTRIES = {"u1": "BE", "u2": "FR"}

step = st.one_of(
    st.tuples(
        st.just("subscribe"),
        st.sampled_from(REFS),
        st.sampled_from(["monthly", "annual"]),
        st.sampled_from(["card", "bank_transfer"]),
    ),
    st.tuples(st.just("record_payment"), st.sampled_from(REFS), st.integers(100, 40_000)),
    st.tuples(st.just("request_cancellation"), st.sampled_from(REFS)),
    st.tuples(st.just("request_data_deletion"), st.sampled_from(REFS)),
    st.tuples(st.just("wait"), st.integers(1, 70)),
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(step, min_size=3, max_size=14))
@pytest.mark.parametrize("taxed", [False, True], ids=["untaxed", "taxed"])
def test_positions_and_instants_agree_with_what_was_seen(
    taxed: bool, steps: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="subledger-tt-") as tmp:
        ledger = open_ledger(
            Path(tmp) / "tt.db", "monthly-autorenew", BOOK, tax=TAX if taxed else None
        )
        try:
            clock = T0
            seen: list[tuple[int, Any, dict[str, Any], bool]] = []

            def look(ticked: bool = False) -> None:
                head = ledger.app.recorder.max_notification_id() or 0
                seen.append((head, clock, {r: ledger.state(r, as_of=clock) for r in REFS}, ticked))

            for ref in REFS:
                ledger.execute(
                    parse_command(
                        "register_account",
                        {
                            "account": ref,
                            "name": ref,
                            "email": f"{ref}@x.test",
                            "country": COUNTRIES[ref] if taxed else None,
                        },
                        clock,
                    )
                )
            look()
            for n, (kind, *args) in enumerate(steps):
                if kind == "wait":
                    clock += timedelta(days=args[0])
                    ledger.tick(clock)
                    look(ticked=True)
                    continue
                fields: dict[str, Any] = {"account": args[0]}
                if kind == "subscribe":
                    fields |= {"plan": "basic", "term": args[1], "payment_method": args[2]}
                elif kind == "record_payment":
                    fields |= {"amount": f"{args[1] / 100:.2f}", "reference": f"p{n}"}
                with contextlib.suppress(Rejected):  # refusals record nothing
                    ledger.execute(parse_command(kind, fields, clock))
                look()
            for position, at, states, _ in seen:
                net = journal_net(ledger.journal(position=position))
                assert sum(net.values()) == 0, position
                for ref in REFS:
                    assert ledger.state_at(ref, position, as_of=at) == states[ref], (ref, position)
            # as of an instant T, right after the clock was moved to T: every event effective
            # before T, and nothing else (work due at T runs strictly after it)
            for _, at, states, ticked in seen:
                if not ticked:
                    continue
                by_instant = {doc["ref"]: doc for doc in ledger.docs_as_of(at).values()}
                for ref in REFS:
                    assert observe(by_instant[ref], at) == states[ref], (ref, at)
        finally:
            ledger.close()
