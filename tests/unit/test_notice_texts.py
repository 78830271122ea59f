"""What the notifier writes for each notice the ledger decides (consumers/notice_texts.py)."""

from __future__ import annotations

import pytest

from consumers.notice_texts import DELIVERABLE, notice_text


@pytest.mark.parametrize(
    ("name", "data", "subject", "in_body"),
    [
        (
            "NoticeSent",
            {
                "kind": "renewal_reminder",
                "effective_at": "2026-02-15T00:00:00Z",
                "details": {"renews_at": "2026-03-01T00:00:00+00:00"},
            },
            "Your subscription renews soon",
            "renews on 2026-03-01",
        ),
        (
            "NoticeSent",
            {
                "kind": "price_change",
                "effective_at": "2026-03-01T00:00:00Z",
                "details": {"new_price": 3500, "price_effective_at": "2026-06-01T00:00:00+00:00"},
            },
            "A price change for your plan",
            "changes on 2026-06-01T00:00:00+00:00 to 35.00 EUR",
        ),
        (
            "InvoiceIssued",
            {"n": 3, "amount": 29000, "due_at": "2026-02-04T09:00:00Z"},
            "Invoice 3",
            "290.00 EUR, due 2026-02-04T09:00:00Z",
        ),
        ("RefundIssued", {"amount": 1234}, "Your refund", "12.34 EUR"),
        (
            "InvoiceOverdue",
            {"n": 2, "at": "2026-02-05T00:00:00Z"},
            "Invoice 2 is overdue",
            "2026-02-05T00:00:00Z",
        ),
        ("AccessSuspended", {}, "Your access is suspended", "overdue amount"),
        # SPEC 2.0 sections 10-11
        (
            "NoticeSent",
            {
                "kind": "plan_changed",
                "details": {
                    "plan": "team",
                    "from_plan": "basic",
                    "term": "monthly",
                    "price": 6000,
                    "invoice": 2,
                    "prorated": 2000,
                },
            },
            "Your plan has changed",
            "we invoice 20.00 EUR (invoice 2); from the next renewal the "
            "monthly price is 60.00 EUR",
        ),
        (
            "NoticeSent",
            {
                "kind": "plan_change_scheduled",
                "details": {
                    "plan": "basic",
                    "term": "monthly",
                    "effective_at": "2026-05-01T00:00:00+00:00",
                    "price": 3000,
                },
            },
            "Your plan will change at the renewal",
            "from 2026-05-01 00:00:00Z you will be on basic / monthly at 30.00 EUR",
        ),
        (
            "NoticeSent",
            {"kind": "account_suspended", "details": {}},
            "Your access is suspended",
            "Billing continues",
        ),
        (
            "NoticeSent",
            {"kind": "account_reinstated", "details": {"payment_suspension": True}},
            "Your suspension has been lifted",
            "once the overdue amount is paid",
        ),
        (
            "NoticeSent",
            {
                "kind": "vendor_termination",
                "details": {"export_until": "2026-05-15T00:00:00+00:00"},
            },
            "We have ended your contract",
            "export your data until 2026-05-15 00:00:00Z",
        ),
        (
            "NoticeSent",
            {
                "kind": "nonpayment_cancellation",
                "details": {"damages": 24000, "accelerated": [2, 3]},
            },
            "Your contract is cancelled for non-payment",
            "Liquidated damages of 240.00 EUR are charged and invoice(s) 2, 3 are due now",
        ),
    ],
)
def test_each_notice_has_its_text(
    name: str, data: dict[str, object], subject: str, in_body: str
) -> None:
    text = notice_text(name, data, "acme", "EUR")
    assert text is not None
    assert text[0] == subject
    assert "acme" in text[1] and in_body in text[1]


def test_events_that_are_not_notices_send_nothing() -> None:
    assert notice_text("PaymentReceived", {"amount": 1}, "acme", "EUR") is None
    assert "PaymentReceived" not in DELIVERABLE
    assert {"NoticeSent", "InvoiceIssued"} <= DELIVERABLE
