"""What the notifier writes for each notice the ledger decides (consumers/email.py)."""

from __future__ import annotations

import pytest

from consumers.email import DELIVERABLE, notice_text


@pytest.mark.parametrize(("name", "data", "subject", "in_body"), [
    ("NoticeSent", {"kind": "renewal_reminder", "effective_at": "2026-02-15T00:00:00Z",
                    "details": {"renews_at": "2026-03-01T00:00:00+00:00"}},
     "Your subscription renews soon", "renews on 2026-03-01"),
    ("NoticeSent", {"kind": "price_change", "effective_at": "2026-03-01T00:00:00Z",
                    "details": {"new_price": 3500,
                                "price_effective_at": "2026-06-01T00:00:00+00:00"}},
     "A price change for your plan", "changes on 2026-06-01T00:00:00+00:00 to 35.00 EUR"),
    ("InvoiceIssued", {"n": 3, "amount": 29000, "due_at": "2026-02-04T09:00:00Z"},
     "Invoice 3", "290.00 EUR, due 2026-02-04T09:00:00Z"),
    ("RefundIssued", {"amount": 1234}, "Your refund", "12.34 EUR"),
    ("InvoiceOverdue", {"n": 2, "at": "2026-02-05T00:00:00Z"}, "Invoice 2 is overdue",
     "2026-02-05T00:00:00Z"),
    ("AccessSuspended", {}, "Your access is suspended", "overdue amount"),
])
def test_each_notice_has_its_text(name: str, data: dict[str, object], subject: str,
                                  in_body: str) -> None:
    text = notice_text(name, data, "acme", "EUR")
    assert text is not None
    assert text[0] == subject
    assert "acme" in text[1] and in_body in text[1]


def test_events_that_are_not_notices_send_nothing() -> None:
    assert notice_text("PaymentReceived", {"amount": 1}, "acme", "EUR") is None
    assert "PaymentReceived" not in DELIVERABLE
    assert {"NoticeSent", "InvoiceIssued"} <= DELIVERABLE
