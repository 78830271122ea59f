"""SPEC 1.1 through the real ledger, on both event stores: the parts of the 1.1 sentences
that live outside the aggregate (the cooldown's keyed hash, the export's fields, the
journal of a waived credit). The rules themselves: tests/unit/test_spec_1_1_rules.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from ledger_kit import LedgerFactory, journal_net

from domain.calendar import parse_instant
from domain.errors import ErrorCode, Rejected
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command

T0 = "2026-01-05T09:00:00Z"


def t(text: str) -> datetime:
    return parse_instant(text)


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> Any:
    return ledger.execute(parse_command(command, fields, t(at)))


def test_account_5_cooldown_normalised_half_open_and_only_a_hash_dropped_after(
    make_ledger: LedgerFactory,
) -> None:
    """ACCOUNT-5 (1.1) and section 0: the cooldown compares emails trimmed and lower-cased,
    refuses until X + 10 days and accepts at exactly X + 10 days; what it keeps is one
    keyed hash of the normalised address, dropped by the tick that passes the window."""
    ledger = make_ledger("device-cloud", name="cooldown.db")
    keys = ledger.app.keys
    do(ledger, "register_account", T0, account="d1", name="Dee", email="Dee.Ferrante@Example.test")
    do(ledger, "request_account_closure", "2026-01-12T09:00:00Z", account="d1")
    assert keys.cooldown_hashes() == [keys.email_hash("dee.ferrante@example.test")]
    assert keys.email_hash("  DEE.FERRANTE@example.TEST ") == keys.email_hash(
        "dee.ferrante@example.test"
    )
    with pytest.raises(Rejected) as caught:
        do(
            ledger,
            "register_account",
            "2026-01-22T08:59:59Z",
            account="d2",
            name="Dee",
            email="  DEE.ferrante@EXAMPLE.test ",
        )
    assert caught.value.code is ErrorCode.EMAIL_COOLDOWN
    ledger.tick(t("2026-01-22T08:59:59Z"))
    assert len(keys.cooldown_hashes()) == 1
    ledger.tick(t("2026-01-22T09:00:00Z"))  # the window [X, X + 10 days) is over
    assert keys.cooldown_hashes() == []
    do(
        ledger,
        "register_account",
        "2026-01-22T09:00:00Z",
        account="d2",
        name="Dee",
        email="DEE.FERRANTE@EXAMPLE.TEST",
    )
    assert ledger.state("d2")["status"] == "none"


def test_account_6_export_on_a_closed_account_shows_what_is_held(
    make_ledger: LedgerFactory,
) -> None:
    """ACCOUNT-6 (1.1) with GDPR-4: an annual-b2b account closed at the customer's request
    holds its data soft-deleted: the export returns it; after the deletion request the
    export returns every field as erased. Both exports are recorded (GDPR-6)."""
    ledger = make_ledger("annual-b2b", name="export.db")
    do(
        ledger,
        "register_account",
        T0,
        account="demo",
        name="Demo GmbH",
        email="demo@example.test",
        address="Hauptstr. 1, Berlin",
    )
    do(ledger, "start_trial", T0, account="demo", plan="basic")
    do(ledger, "request_account_closure", "2026-01-21T09:00:00Z", account="demo")
    held = ledger.export("demo", t("2026-02-01T00:00:00Z"))
    assert held["personal_data"] == "soft_deleted"
    assert (held["fields"]["name"], held["fields"]["email"]) == ("Demo GmbH", "demo@example.test")
    do(ledger, "request_data_deletion", "2026-02-01T00:00:00Z", account="demo")
    erased = ledger.export("demo", t("2026-02-02T00:00:00Z"))
    assert erased["personal_data"] == "erased"
    assert set(erased["fields"].values()) == {"erased"}
    assert erased["closed_at"] == "2026-01-21T09:00:00Z"
    assert erased["privacy"]["deletion_due_at"] == "2026-03-03T00:00:00Z"
    exports = [r for r in erased["processing_records"] if r["what"] == "export"]
    assert [r["at"] for r in exports] == ["2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"]


def test_account_3_waived_credit_is_other_income_in_the_journal(make_ledger: LedgerFactory) -> None:
    """ACCOUNT-3 (1.1): device-cloud's waived credit leaves the customer's credit for
    other income; the journal balances and the account's credit is zero."""
    ledger = make_ledger("device-cloud", name="waived.db")
    do(ledger, "register_account", T0, account="gift", name="Gift", email="g@example.test")
    do(ledger, "record_payment", T0, account="gift", amount="12.34", reference="bank-1")
    ledger.tick(t("2027-01-05T09:00:01Z"))
    assert "CreditWaived" in [type(e).__name__ for e in ledger.events("gift")]
    lines = ledger.journal("gift")
    waived = [line for line in lines if line["credit"] == "income:other"]
    assert [(w["debit"], w["amount"], w["at"]) for w in waived] == [
        ("liability:customer_credit", 1234, "2027-01-05T09:00:00Z")
    ]
    net = journal_net(lines)
    assert (net["cash"], net["liability:customer_credit"], net["income:other"]) == (1234, 0, -1234)
    assert sum(net.values()) == 0
    assert ledger.state("gift")["balance"]["credit"] == "0.00"
