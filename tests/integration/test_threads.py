"""One ledger shared by threads: commands serialise, none is lost or refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from ledger_kit import LedgerFactory

from domain import commands as c


def test_eight_threads_share_one_ledger(make_ledger: LedgerFactory) -> None:
    ledger = make_ledger("monthly-autorenew", catalog={"basic": {"monthly": 2900}})
    t = datetime(2026, 1, 5, 9, tzinfo=UTC)

    def customer(i: int) -> None:
        ref = f"c{i}"
        ledger.execute(c.RegisterAccount(at=t, account=ref, name="N", email=f"{ref}@x.test"))
        ledger.execute(
            c.Subscribe(at=t, account=ref, plan="basic", term="monthly", payment_method="card")
        )

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(customer, range(16)))
        states = [ledger.state(f"c{i}") for i in range(16)]
        assert all(s["status"] == "active" and s["balance"]["paid"] == "29.00" for s in states)
        rows = ledger.store.journal_rows()
        debits = sum(r[6] for r in rows)
        assert debits == 16 * 2 * 2900  # invoice and payment posted once each, per customer
    finally:
        ledger.close()
