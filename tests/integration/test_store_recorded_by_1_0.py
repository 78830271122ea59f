"""History does not change: a store recorded by the SPEC 1.0 code replays to what it showed.

`tests/legacy_1_0/` holds a SQLite store made by the ledger of commit c6f7601 (before SPEC
1.1; `make_store.py` says how), with the cases whose same-instant order or rule 1.1 changes:
an inactivity closure at a renewal's instant (device-cloud annual, crm-retention monthly),
credit held at an inactivity closure, interest at the closing instant, a deletion request
(activity under 1.0), a queued prepaid package chained from the previous end, a
subscription between a price announcement and its effective date. `expected.json` is what
the 1.0 code showed at the store's clock. Opened with today's code, the store must replay
to exactly that (states, journal, the deadline index), and the work scheduled after
opening follows the 1.1 rules, except where a stored event records the 1.0 rule it was
decided under (README, "Changelog").
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from domain.account import account_id
from domain.calendar import format_instant, parse_instant, sortable_instant
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import load_config
from infra.interface.vocabulary import parse_command
from projections.journal import trial_balance

FIXTURE = Path(__file__).resolve().parents[1] / "legacy_1_0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
END = parse_instant(EXPECTED["as_of"])


def t(text: str) -> datetime:
    return parse_instant(text)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    """The 1.0 store, copied (the fixture itself is never written), opened by today's code."""
    for name in (
        "SUBLEDGER_CONFIG",
        "SUBLEDGER_DB",
        "SUBLEDGER_DATABASE_URL",
        "SUBLEDGER_MASTER_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("ledger.db", "subledger.key", "subledger.toml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    opened = build_ledger(load_config(tmp_path / "subledger.toml"))
    yield opened
    opened.close()


def events(ledger: Ledger, ref: str) -> list[tuple[str, str | None]]:
    return [(type(e).__name__, format_instant(getattr(e, "at", None))) for e in ledger.events(ref)]


def as_recorded(observed: Any, recorded: Any) -> Any:
    """The observed state cut to the keys 1.0 recorded: SPEC 2.0 adds keys to the state
    (invoice `net`, `tax`, `kind`, `scheduled_change`, ...; FORMAT.md), which old answers
    cannot name. Lists keep their length, so nothing recorded can go missing."""
    if isinstance(recorded, dict) and isinstance(observed, dict):
        return {k: as_recorded(observed.get(k), v) for k, v in recorded.items()}
    if isinstance(recorded, list) and isinstance(observed, list) and len(recorded) == len(observed):
        return [as_recorded(o, r) for o, r in zip(observed, recorded, strict=True)]
    return observed


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, t(at)))


def test_the_1_0_store_replays_to_what_it_recorded(ledger: Ledger) -> None:
    """Rebuilt from position 0 by today's projections and replayed by today's aggregate,
    every account shows what 1.0 showed (balances, invoices, refunds, notices, privacy),
    the journal has the same lines and trial balance, each account's next deadline is
    the one the 1.0 recorder indexed, and opening recorded nothing."""
    head = ledger.app.recorder.max_notification_id()
    assert head == EXPECTED["events"]
    ledger.rebuild()
    for ref, recorded in EXPECTED["accounts"].items():
        state = ledger.state(ref, as_of=END)
        assert as_recorded(state, recorded) == recorded, ref
        assert as_recorded(ledger.state_as_of(ref, END), recorded) == recorded, ref
        for invoice in state["invoices"]:  # untaxed 1.0 documents: net is the amount
            assert (invoice["net"], invoice["tax"]) == (invoice["amount"], "0.00"), ref
        due = ledger.account(ref).next_deadline()  # None: nothing scheduled, no index row
        assert (None if due is None else sortable_instant(due)) == EXPECTED["deadlines"].get(
            str(account_id(ref))
        ), ref
    lines = ledger.journal()
    assert len(lines) == EXPECTED["journal_lines"]
    assert trial_balance(lines)["trial_balance"] == EXPECTED["trial_balance"]
    assert ledger.app.recorder.max_notification_id() == head


def test_the_1_0_store_keeps_its_recorded_answers(ledger: Ledger) -> None:
    """The cases 1.1 decides otherwise, as 1.0 recorded them: renewed at the closing
    instant, credit kept on the closed accounts, interest month 6 at the closing instant,
    a queued package chained to Mar 28, no notice to the subscriber after an announcement."""
    accounts = EXPECTED["accounts"]
    assert len(accounts["dc-quiet"]["invoices"]) == 2
    assert ("Renewed", "2027-01-05T09:00:00Z") in events(ledger, "dc-quiet")
    assert len(accounts["crm-quiet"]["invoices"]) == 7
    assert accounts["crm-credit"]["balance"]["credit"] == "100.00"
    assert accounts["dc-credit"]["balance"]["credit"] == "12.34"
    assert accounts["b2b-quiet"]["balance"]["interest"] == "84.00"
    assert accounts["ma-late"]["notices"] == []
    ends = [e.ends_at for e in ledger.events("prepaid") if type(e).__name__ == "PrepaidPurchased"]
    assert ends == [t("2027-02-28T10:00:00Z"), t("2027-03-28T10:00:00Z")]


def test_work_after_opening_follows_1_1(ledger: Ledger) -> None:
    """New work follows the new rules: the quiet annual subscriber still to come is closed
    before its renewal; a package bought now joins the recorded series (anchor Jan 31:
    three months end Apr 30, starting where the recorded one ends, Mar 28); a payment on a
    closed account is accepted and its excess refunded. Recorded rules stay recorded: the
    1.0 deletion request still counts as activity (closure Jun 1, not Mar 1), a 1.0
    closure's dunning stays stopped, 1.0 closures keep the credit they kept."""
    do(
        ledger,
        "purchase_prepaid",
        "2027-02-20T00:00:00Z",
        account="prepaid",
        plan="cloud",
        months=1,
        payment_method="card",
    )
    last = [e for e in ledger.events("prepaid") if type(e).__name__ == "PrepaidPurchased"][-1]
    assert (last.starts_at, last.ends_at) == (t("2027-03-28T10:00:00Z"), t("2027-04-30T10:00:00Z"))
    ledger.tick(t("2027-04-01T00:00:00Z"))
    assert ledger.state("prepaid")["access_until"] == "2027-04-30T10:00:00Z"
    assert ledger.state("crm-deleted")["status"] == "none"  # not closed on Mar 1

    ledger.tick(t("2027-07-01T00:00:00Z"))
    late = ledger.state("dc-quiet-late")
    assert (late["status"], late["balance"]["invoiced"], len(late["invoices"])) == (
        "closed",
        "50.00",
        1,
    )
    assert events(ledger, "dc-quiet-late")[-4:] == [
        ("SubscriptionEnded", "2027-06-01T09:00:00Z"),
        ("AccountClosed", "2027-06-01T09:00:00Z"),
        ("PersonalDataErased", "2027-06-01T09:00:00Z"),
        ("InvoiceIdentityRetained", "2027-06-01T09:00:00Z"),
    ]
    assert "Renewed" not in [name for name, _ in events(ledger, "dc-quiet-late")]
    assert ("AccountClosed", "2027-06-01T10:00:00Z") in events(ledger, "crm-deleted")
    assert ledger.state("b2b-quiet")["balance"]["interest"] == "84.00"
    assert ledger.state("crm-credit")["balance"]["credit"] == "100.00"
    assert ledger.state("dc-credit")["balance"]["credit"] == "12.34"

    do(
        ledger,
        "record_payment",
        "2027-07-01T00:00:00Z",
        account="b2b-quiet",
        amount="1600.00",
        reference="bank-after-1.1",
    )
    paid = ledger.state("b2b-quiet")
    assert (paid["status"], paid["balance"]["outstanding"], paid["balance"]["refunded"]) == (
        "closed",
        "0.00",
        "76.00",
    )
    assert paid["refunds"] == [{"amount": "76.00", "at": "2027-07-01T00:00:00Z"}]
    assert trial_balance(ledger.journal())["balanced"]
