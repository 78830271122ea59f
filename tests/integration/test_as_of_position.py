"""Projections answer "as of" a log position through the same fold as the live view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger_kit import LedgerFactory

from domain import commands as c


def test_state_at_each_position_equals_the_live_state_seen_then(make_ledger: LedgerFactory) -> None:
    """SPEC section 8: every projection can be asked "as of" an earlier position."""
    ledger = make_ledger("annual-b2b", catalog={"basic": {"annual": 120000}})
    try:
        t = datetime(2026, 1, 5, 9, tzinfo=UTC)
        steps = [
            c.RegisterAccount(at=t, account="b", name="B", email="b@x.test"),
            c.Subscribe(
                at=t, account="b", plan="basic", term="annual", payment_method="bank_transfer"
            ),
            c.RecordPayment(at=t + timedelta(days=30), account="b", amount=50000, reference="p1"),
            c.RecordPayment(at=t + timedelta(days=40), account="b", amount=200000, reference="p2"),
        ]
        seen: list[tuple[int, dict[str, object]]] = []
        for command in steps:
            ledger.execute(command)
            head = ledger.app.recorder.max_notification_id()
            seen.append((head, ledger.state("b", as_of=command.at)))
        for (head, live), command in zip(seen, steps, strict=True):
            assert ledger.state_at("b", head, as_of=command.at) == live
        # PAY-3/PAY-4: fees and interest charged at the due date were paid first by p1
        assert seen[1][1]["balance"]["principal"] == "1200.00"
        assert seen[2][1]["balance"]["principal"] == "952.00"
        assert seen[2][1]["balance"]["paid"] == "500.00"
    finally:
        ledger.close()
