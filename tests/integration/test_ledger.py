"""The real ledger on each event store (a SQLite file, a PostgreSQL schema): event store,
scheduler, projections and consumers.

Everything goes through `build_ledger` (the composition root every caller uses); only the
payment provider is the simulated one of the scenario format.
"""

from __future__ import annotations

import copy
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import Backend
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_case
from hypothesis import strategies as st
from ledger_kit import CATALOG, LedgerFactory, open_ledger

from consumers.payment_provider import SimulatedPaymentProvider
from domain import commands as c
from domain.account import Account, account_id
from domain.calendar import parse_instant
from domain.errors import ErrorCode, Rejected
from domain.money import format_amount
from domain.profiles import BUILT_IN_PROFILES
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from infra.tools.scenario import load_scenario, run_scenario
from projections.account_view import apply, new_doc, observe
from projections.journal import postings_for

# The public scenarios live in ../shared/scenarios beside the project; a copy is kept in
# tests/scenarios/public so that a clone on its own still runs them. Where the shared
# folder is present, its files are the ones run (a newer example is picked up at once).
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"
VENDORED = Path(__file__).resolve().parents[1] / "scenarios" / "public"
SCENARIOS = SHARED if SHARED.is_dir() else VENDORED
SCENARIO_FILES = sorted(
    {p.name: p for p in [*VENDORED.glob("*.json"), *SHARED.glob("*.json")]}.values()
)
T0 = "2026-01-05T09:00:00Z"


def t(text: str) -> datetime:
    return parse_instant(text)


def do(ledger: Ledger, command: str, at: str | datetime, **fields: Any) -> Any:
    """Run one command through the ledger, from the scenario vocabulary."""
    when = t(at) if isinstance(at, str) else at
    return ledger.execute(parse_command(command, fields, when))


def max_id(ledger: Ledger) -> int:
    return ledger.app.recorder.max_notification_id() or 0


def event_names(ledger: Ledger, ref: str) -> list[str]:
    return [type(e).__name__ for e in ledger.events(ref)]


def rejected(ledger: Ledger, code: ErrorCode, command: str, at: str, **fields: Any) -> Rejected:
    """Section 0: refused with `code`, recording nothing (the log does not move)."""
    ledger.tick(t(at))  # due work may record; the command itself must not
    before = max_id(ledger)
    views = {ref: ledger.state(ref) for ref in ledger.store.refs()}
    with pytest.raises(Rejected) as caught:
        do(ledger, command, at, **fields)
    assert caught.value.code is code, caught.value.message
    assert max_id(ledger) == before, f"rejected {command} recorded events"
    assert {ref: ledger.state(ref) for ref in ledger.store.refs()} == views
    return caught.value


def db_bytes(database: Path) -> dict[str, bytes]:
    """The SQLite file and its companions (-wal, -shm, -journal) as they are on disk."""
    return {
        p.name: p.read_bytes()
        for p in database.parent.iterdir()
        if p.name.startswith(database.name)
    }


# ================================================================ scenarios
def test_scenario_folder_is_found() -> None:
    """FORMAT.md: the public scenarios are found, and the copy is the shared folder's."""
    assert (SCENARIOS / "FORMAT.md").is_file()
    assert len(SCENARIO_FILES) >= 6
    if SHARED.is_dir():
        stale = [
            p.name
            for p in VENDORED.glob("*.json")
            if not (SHARED / p.name).is_file() or (SHARED / p.name).read_bytes() != p.read_bytes()
        ]
        assert stale == [], f"tests/scenarios/public differs from {SHARED}: {stale}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_public_scenario_passes(path: Path, backend: Backend) -> None:
    """FORMAT.md: every public scenario runs on the real ledger with no failed step, on
    SQLite and on PostgreSQL (`scenario run --database-url`)."""
    scenario = load_scenario(path)
    db = backend.database("scenario")
    result = run_scenario(
        scenario, database=db.path, database_url=None if db.is_sqlite else db.url()
    )
    assert result.failures == []
    assert result.steps == len(scenario.steps)
    assert len(result.emitted) == sum(
        1 for s in scenario.steps if s.expect is not None and "__invalid__" not in s.expect
    )


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_emission_is_byte_identical_across_runs(path: Path, tmp_path: Path) -> None:
    """Section 8: projections give the same answer on every run from an empty store."""
    first = run_scenario(load_scenario(path), database=tmp_path / "one.db")
    second = run_scenario(load_scenario(path), database=tmp_path / "two.db")
    assert first.emitted
    assert first.emitted == second.emitted
    for line in first.emitted:
        assert orjson.loads(line)["state"]


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_emission_is_byte_identical_on_both_stores(
    path: Path, tmp_path: Path, postgres: Backend
) -> None:
    """The event store is a setting, not a behaviour: SQLite and PostgreSQL emit the same
    bytes for the same scenario."""
    on_sqlite = run_scenario(load_scenario(path), database=tmp_path / "one.db")
    on_postgres = run_scenario(load_scenario(path), database_url=postgres.url("emit"))
    assert on_sqlite.emitted
    assert on_sqlite.emitted == on_postgres.emitted


# ================================================================ rebuilds
def _b2b_history(ledger: Ledger) -> None:
    """Scenario 03 and 06 together, plus disputes, costs and a price change."""
    do(ledger, "register_account", T0, account="acme-bv", name="Acme BV", email="ap@acme-bv.test")
    do(
        ledger,
        "subscribe",
        T0,
        account="acme-bv",
        plan="basic",
        term="annual",
        payment_method="bank_transfer",
    )
    do(ledger, "register_account", T0, account="beta", name="Beta NV", email="finance@beta.test")
    do(ledger, "subscribe", T0, account="beta", plan="basic", term="annual", payment_method="card")
    do(
        ledger,
        "dispute_invoice",
        "2026-01-08T00:00:00Z",
        account="acme-bv",
        invoice=1,
        reason="seat count",
    )
    do(ledger, "record_collection_cost", "2026-02-01T00:00:00Z", account="acme-bv", amount="45.00")
    do(
        ledger,
        "record_payment",
        "2026-02-10T00:00:00Z",
        account="acme-bv",
        amount="500.00",
        reference="bank-0001",
    )
    do(
        ledger,
        "announce_price_change",
        "2026-03-01T00:00:00Z",
        plan="basic",
        term="annual",
        new_price="330.00",
        effective_at="2026-12-01T00:00:00Z",
        channel="mail",
    )
    do(
        ledger,
        "record_payment",
        "2026-04-01T00:00:00Z",
        account="acme-bv",
        amount="2000.00",
        reference="bank-0002",
    )
    do(ledger, "request_cancellation", "2026-12-21T09:00:01Z", account="beta")
    do(ledger, "request_data_deletion", "2026-12-22T00:00:00Z", account="beta")
    ledger.tick(t("2027-03-01T00:00:00Z"))


def test_rebuilt_projections_are_identical(make_ledger: LedgerFactory) -> None:
    """Section 8: every projection is rebuildable from the event log alone, identically."""
    ledger = make_ledger("annual-b2b")
    _b2b_history(ledger)
    refs = ledger.store.refs()
    assert refs == ["acme-bv", "beta"]
    states = {ref: ledger.state(ref, as_of=t("2027-03-01T00:00:00Z")) for ref in refs}
    docs = {ref: ledger.store.doc(ref) for ref in refs}
    rows = ledger.store.journal_rows()
    assert rows
    far = t("2100-01-01T00:00:00Z")
    next_work = ledger.store.due_accounts(before=far, limit=10)
    log_end = max_id(ledger)
    charges = list(ledger.provider.charges)  # type: ignore[attr-defined]

    ledger.store.drop_views()
    assert ledger.store.refs() == []
    assert ledger.store.journal_rows() == []
    ledger.projections.run()

    assert ledger.store.refs() == refs
    assert {ref: ledger.state(ref, as_of=t("2027-03-01T00:00:00Z")) for ref in refs} == states
    assert {ref: ledger.store.doc(ref) for ref in refs} == docs
    assert ledger.store.journal_rows() == rows
    assert ledger.store.due_accounts(before=far, limit=10) == next_work
    ledger.settle()  # the consumers are not re-run by a view rebuild
    assert max_id(ledger) == log_end
    assert ledger.provider.charges == charges  # type: ignore[attr-defined]


# ================================================================ idempotency
def test_rejected_commands_record_nothing(make_ledger: LedgerFactory) -> None:
    """Section 0: a rejected command records nothing, whatever the error code."""
    ledger = make_ledger("device-cloud")
    do(ledger, "register_account", T0, account="cam", name="Cam Lee", email="cam@example.test")
    rejected(
        ledger,
        ErrorCode.ACCOUNT_EXISTS,
        "register_account",
        T0,
        account="cam",
        name="Cam Again",
        email="cam2@example.test",
    )
    rejected(
        ledger,
        ErrorCode.UNKNOWN_ACCOUNT,
        "subscribe",
        T0,
        account="ghost",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    rejected(
        ledger,
        ErrorCode.UNDERAGE,
        "register_account",
        T0,
        account="kid",
        name="Kid",
        email="kid@example.test",
        birth_date="2010-01-01",
    )
    rejected(ledger, ErrorCode.UNKNOWN_PLAN, "start_trial", T0, account="cam", plan="gold")
    do(ledger, "start_trial", T0, account="cam", plan="cloud")
    rejected(
        ledger,
        ErrorCode.TRIAL_ALREADY_USED,
        "start_trial",
        "2026-01-06T09:00:00Z",
        account="cam",
        plan="cloud",
    )
    rejected(
        ledger,
        ErrorCode.TRIAL_NOT_CANCELLABLE,
        "request_cancellation",
        "2026-01-06T09:00:00Z",
        account="cam",
    )
    rejected(
        ledger,
        ErrorCode.TERM_NOT_OFFERED,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="cam",
        plan="basic",
        term="quarterly",
        payment_method="card",
    )
    do(
        ledger,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="cam",
        plan="cloud",
        term="annual",
        payment_method="bank_transfer",
    )
    rejected(
        ledger,
        ErrorCode.ALREADY_SUBSCRIBED,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="cam",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    rejected(
        ledger,
        ErrorCode.INVALID_AMOUNT,
        "record_payment",
        "2026-01-06T09:00:00Z",
        account="cam",
        amount="0.00",
        reference="zero",
    )
    rejected(
        ledger,
        ErrorCode.UNKNOWN_INVOICE,
        "dispute_invoice",
        "2026-01-06T09:00:00Z",
        account="cam",
        invoice=9,
        reason="?",
    )
    rejected(
        ledger, ErrorCode.NOTHING_TO_CANCEL, "cancel_queued", "2026-01-06T09:00:00Z", account="cam"
    )
    error = rejected(
        ledger,
        ErrorCode.CLOSURE_REJECTED,
        "request_account_closure",
        "2026-01-07T09:00:00Z",
        account="cam",
    )
    assert {"too_new", "balance", "open_invoices", "active_subscription"} <= set(error.reasons)
    rejected(
        ledger,
        ErrorCode.PRICE_NOTICE_TOO_SHORT,
        "announce_price_change",
        "2026-01-07T09:00:00Z",
        plan="cloud",
        term="annual",
        new_price="60.00",
        effective_at="2026-02-06T08:59:59Z",
    )
    rejected(
        ledger,
        ErrorCode.DISPUTE_WINDOW_CLOSED,
        "dispute_invoice",
        "2026-01-13T09:00:01Z",
        account="cam",
        invoice=1,
        reason="late",
    )
    # an instant before scheduled work already run is malformed (section 0: no going back)
    before = max_id(ledger)
    with pytest.raises(Rejected) as caught:
        do(ledger, "record_activity", "2026-01-01T00:00:00Z", account="cam")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert max_id(ledger) == before


def test_same_payment_reference_twice_books_one_payment(make_ledger: LedgerFactory) -> None:
    """Section 0 idempotency / PAY-1: the second booking of a reference is a no-op."""
    ledger = make_ledger("annual-b2b")
    do(ledger, "register_account", T0, account="acme", name="Acme", email="ap@acme.test")
    do(
        ledger,
        "subscribe",
        T0,
        account="acme",
        plan="basic",
        term="annual",
        payment_method="bank_transfer",
    )
    first = do(
        ledger,
        "record_payment",
        "2026-01-10T00:00:00Z",
        account="acme",
        amount="100.00",
        reference="bank-7",
    )
    assert first.recorded is True
    log_end = max_id(ledger)
    again = do(
        ledger,
        "record_payment",
        "2026-01-11T00:00:00Z",
        account="acme",
        amount="100.00",
        reference="bank-7",
    )
    assert again.recorded is False
    other_amount = do(
        ledger,
        "record_payment",
        "2026-01-11T00:00:00Z",
        account="acme",
        amount="999.00",
        reference="bank-7",
    )
    assert other_amount.recorded is False
    assert max_id(ledger) == log_end
    assert event_names(ledger, "acme").count("PaymentReceived") == 1
    state = ledger.state("acme")
    assert state["balance"]["paid"] == "100.00"
    assert state["invoices"][0]["paid"] == "100.00"


def test_tick_twice_runs_nothing_the_second_time(make_ledger: LedgerFactory) -> None:
    """Section 0 / scheduler: running a tick twice does nothing twice."""
    ledger = make_ledger("annual-b2b")
    do(ledger, "register_account", T0, account="acme", name="Acme", email="ap@acme.test")
    do(
        ledger,
        "subscribe",
        T0,
        account="acme",
        plan="basic",
        term="annual",
        payment_method="bank_transfer",
    )
    until = t("2026-06-01T00:00:00Z")
    assert ledger.tick(until) > 0
    log_end = max_id(ledger)
    state = ledger.state("acme")
    assert ledger.tick(until) == 0
    assert max_id(ledger) == log_end
    assert ledger.state("acme") == state


def test_command_at_a_deadline_sees_the_state_before_the_work(make_ledger: LedgerFactory) -> None:
    """Section 0: a command at exactly T sees the state before the work scheduled for T."""
    ledger = make_ledger("monthly-autorenew")
    do(ledger, "register_account", T0, account="acme", name="Acme", email="a@acme.test")
    do(ledger, "subscribe", T0, account="acme", plan="basic", term="monthly", payment_method="card")
    do(ledger, "request_cancellation", "2026-02-05T09:00:00Z", account="acme")
    ledger.tick(t("2026-02-05T09:00:01Z"))
    state = ledger.state("acme")
    assert state["status"] == "ended"
    assert len(state["invoices"]) == 1


# ================================================================ price changes
def test_price_1_2_notice_1_announcement_and_minimum_notice(make_ledger: LedgerFactory) -> None:
    """PRICE-1, PRICE-2, NOTICE-1: notices to live subscriptions on that plan and term,
    at least 30 days after the notice's effective time (email 0, courier +1, mail +2 days)."""
    ledger = make_ledger("monthly-autorenew")
    for ref, term in (("m1", "monthly"), ("m2", "monthly"), ("a1", "annual")):
        do(ledger, "register_account", T0, account=ref, name=ref, email=f"{ref}@x.test")
        do(ledger, "subscribe", T0, account=ref, plan="basic", term=term, payment_method="card")
    do(ledger, "register_account", T0, account="none", name="n", email="n@x.test")
    at = "2026-01-10T12:00:00Z"
    for channel, days in (("email", 30), ("courier", 31), ("mail", 32)):
        earliest = t(at) + timedelta(days=days)
        rejected(
            ledger,
            ErrorCode.PRICE_NOTICE_TOO_SHORT,
            "announce_price_change",
            at,
            plan="basic",
            term="monthly",
            new_price="35.00",
            effective_at=(earliest - timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            channel=channel,
        )
        outcome = do(
            ledger,
            "announce_price_change",
            at,
            plan="basic",
            term="monthly",
            new_price="35.00",
            effective_at=earliest.isoformat().replace("+00:00", "Z"),
            channel=channel,
        )
        assert sorted(outcome.detail["notified"]) == ["m1", "m2"]
    notices = ledger.state("m1")["notices"]
    assert [(n["kind"], n["sent_at"], n["effective_at"]) for n in notices] == [
        ("price_change", at, "2026-01-10T12:00:00Z"),
        ("price_change", at, "2026-01-11T12:00:00Z"),
        ("price_change", at, "2026-01-12T12:00:00Z"),
    ]
    assert ledger.state("a1")["notices"] == []
    assert ledger.state("none")["notices"] == []
    rejected(
        ledger,
        ErrorCode.UNKNOWN_PLAN,
        "announce_price_change",
        at,
        plan="gold",
        term="monthly",
        new_price="1.00",
        effective_at="2027-01-01T00:00:00Z",
    )


def test_price_2_b2b_one_calendar_month(make_ledger: LedgerFactory) -> None:
    """PRICE-2: annual-b2b needs one calendar month: Jan 31 -> Feb 28, not 30 days."""
    ledger = make_ledger("annual-b2b")
    do(ledger, "register_account", T0, account="acme", name="Acme", email="a@acme.test")
    do(ledger, "subscribe", T0, account="acme", plan="basic", term="annual", payment_method="card")
    rejected(
        ledger,
        ErrorCode.PRICE_NOTICE_TOO_SHORT,
        "announce_price_change",
        "2026-01-31T09:00:00Z",
        plan="basic",
        term="annual",
        new_price="330.00",
        effective_at="2026-02-28T08:59:59Z",
    )
    outcome = do(
        ledger,
        "announce_price_change",
        "2026-01-31T09:00:00Z",
        plan="basic",
        term="annual",
        new_price="330.00",
        effective_at="2026-02-28T09:00:00Z",
    )
    assert outcome.detail["notified"] == ["acme"]


def test_price_3_renewal_at_the_new_price(make_ledger: LedgerFactory) -> None:
    """PRICE-3 / RENEW-1: the running term keeps its price; the next term pays the new one."""
    ledger = make_ledger("monthly-autorenew")
    do(ledger, "register_account", T0, account="acme", name="Acme", email="a@acme.test")
    do(ledger, "subscribe", T0, account="acme", plan="basic", term="monthly", payment_method="card")
    do(
        ledger,
        "announce_price_change",
        "2026-01-06T09:00:00Z",
        plan="basic",
        term="monthly",
        new_price="35.00",
        effective_at="2026-03-05T09:00:00Z",
    )
    ledger.tick(t("2026-04-06T00:00:00Z"))
    amounts = [i["amount"] for i in ledger.state("acme")["invoices"]]
    assert amounts == ["29.00", "29.00", "35.00", "35.00"]


# ================================================================ accounts
def test_account_6_unknown_account_and_account_exists(make_ledger: LedgerFactory) -> None:
    """ACCOUNT-6: unknown_account for any command on a missing id; account_exists."""
    ledger = make_ledger("monthly-autorenew")
    rejected(ledger, ErrorCode.UNKNOWN_ACCOUNT, "record_activity", T0, account="ghost")
    rejected(ledger, ErrorCode.UNKNOWN_ACCOUNT, "export_personal_data", T0, account="ghost")
    with pytest.raises(Rejected) as caught:
        ledger.state("ghost")
    assert caught.value.code is ErrorCode.UNKNOWN_ACCOUNT
    do(ledger, "register_account", T0, account="acme", name="Acme", email="a@acme.test")
    rejected(
        ledger,
        ErrorCode.ACCOUNT_EXISTS,
        "register_account",
        T0,
        account="acme",
        name="Other",
        email="other@acme.test",
    )


def test_account_5_email_cooldown_after_closure(
    make_sqlite_ledger: LedgerFactory, tmp_path: Path
) -> None:
    """ACCOUNT-5: device-cloud: a closed account's email cannot register for 10 days, and
    only a keyed hash of it is kept."""
    ledger = make_sqlite_ledger("device-cloud", name="cool.db")
    do(
        ledger,
        "register_account",
        T0,
        account="d1",
        name="Dee Ferrante",
        email="Dee.Ferrante@Example.test",
    )
    do(ledger, "request_account_closure", "2026-01-12T09:00:00Z", account="d1")
    assert ledger.state("d1")["status"] == "closed"
    rejected(
        ledger,
        ErrorCode.EMAIL_COOLDOWN,
        "register_account",
        "2026-01-12T10:00:00Z",
        account="d2",
        name="Dee",
        email="dee.ferrante@example.test",
    )
    do(
        ledger,
        "register_account",
        "2026-01-12T10:00:00Z",
        account="other",
        name="O",
        email="someone.else@example.test",
    )
    rejected(
        ledger,
        ErrorCode.EMAIL_COOLDOWN,
        "register_account",
        "2026-01-22T08:59:59Z",
        account="d2",
        name="Dee",
        email="Dee.Ferrante@Example.test",
    )
    database = tmp_path / "cool.db"
    leaks = [name for name, blob in db_bytes(database).items() if b"ferrante" in blob.lower()]
    assert leaks == [], f"the email is in clear in {leaks}"
    do(
        ledger,
        "register_account",
        "2026-01-22T09:00:00Z",
        account="d2",
        name="Dee",
        email="dee.ferrante@example.test",
    )
    assert ledger.state("d2")["status"] == "none"


# ================================================================ personal data
NAME = "Zebulon Quixotic-Farnsworth"
EMAIL = "zebulon.quixotic@farnsworth-example.test"
PHONE = "+32 470 98 76 54"
ADDRESS = "Rue des Zephyrs 42, Bruxelles"


def test_gdpr_5_personal_data_never_in_clear_and_erased_by_key_destruction(
    make_sqlite_ledger: LedgerFactory, tmp_path: Path
) -> None:
    """GDPR-5 / GDPR-1 / GDPR-3 / GDPR-4: sealed at rest; after the deletion deadline the
    key is gone, the export says "erased", and the money is untouched."""
    ledger = make_sqlite_ledger("monthly-autorenew", name="gdpr.db")
    do(
        ledger,
        "register_account",
        T0,
        account="zq",
        name=NAME,
        email=EMAIL,
        phone=PHONE,
        address=ADDRESS,
        birth_date="1980-05-17",
    )
    do(ledger, "subscribe", T0, account="zq", plan="basic", term="annual", payment_method="card")
    do(
        ledger,
        "update_personal_data",
        "2026-01-06T09:00:00Z",
        account="zq",
        address=ADDRESS + " bis",
    )
    exported = ledger.export("zq", t("2026-01-07T09:00:00Z"))
    assert exported["fields"]["name"] == NAME  # GDPR-4: everything held, in clear
    assert exported["fields"]["email"] == EMAIL
    assert exported["fields"]["address"] == ADDRESS + " bis"
    assert "PersonalDataExported" in event_names(ledger, "zq")

    secrets = [
        NAME.encode(),
        EMAIL.encode(),
        PHONE.encode(),
        b"Zephyrs",
        b"Quixotic",
        b"1980-05-17",
    ]
    files = db_bytes(tmp_path / "gdpr.db")
    assert "gdpr.db" in files
    leaks = [(name, secret) for name, blob in files.items() for secret in secrets if secret in blob]
    assert leaks == [], f"personal data in clear on disk: {leaks}"

    balance = ledger.state("zq")["balance"]
    do(ledger, "request_data_deletion", "2026-01-08T09:00:00Z", account="zq")
    assert ledger.state("zq")["privacy"]["deletion_due_at"] == "2026-02-07T09:00:00Z"
    # the contact key is destroyed at once; the invoice identity stays for the invoices
    assert ledger.app.keys.key(str(account_id("zq"))) is None
    exported = ledger.export("zq", t("2026-01-09T00:00:00Z"))
    assert exported["invoice_identity"]["state"] == "retained"
    assert exported["invoice_identity"]["fields"] == {"name": NAME, "address": ADDRESS + " bis"}
    assert exported["invoice_identity"]["retained_until"] == "2036-01-05T09:00:00Z"
    ledger.tick(t("2026-02-07T09:00:01Z"))
    state = ledger.state("zq", as_of=t("2026-02-07T09:00:01Z"))
    assert state["privacy"] == {
        "personal_data": "erased",
        "deletion_due_at": "2026-02-07T09:00:00Z",
        "deletion_overdue": False,
    }
    assert state["balance"] == balance
    exported = ledger.export("zq", t("2026-02-08T00:00:00Z"))
    assert exported["personal_data"] == "erased"
    assert set(exported["fields"].values()) == {"erased"}
    # GDPR-3: ten years after the last invoice, the scheduler shreds the invoice identity
    # (cancelled, so that no later invoice extends it)
    do(ledger, "request_cancellation", "2026-02-09T00:00:00Z", account="zq")
    ledger.tick(t("2036-01-05T09:00:01Z"))
    assert ledger.app.keys.key(f"{account_id('zq')}:invoice") is None
    assert ledger.export("zq", t("2036-01-06T00:00:00Z"))["invoice_identity"] == {
        "state": "erased",
        "fields": "erased",
        "retained_until": None,
    }
    assert ledger.state("zq", as_of=t("2036-01-06T00:00:00Z"))["balance"] == balance
    # GDPR-5: every event stays; replaying history still works and shows the erasure
    events = ledger.events("zq")
    assert type(events[0]).__name__ == "Registered"
    assert "PersonalDataErased" in [type(e).__name__ for e in events]
    replayed = _replay(events)
    assert replayed.personal_state == "erased"
    assert ledger.app.personal_data(replayed) is None
    doc = new_doc("zq")
    for event in events:
        apply(doc, event)
    assert observe(doc, None)["privacy"]["personal_data"] == "erased"


def test_gdpr_5_destroyed_key_is_not_left_on_disk(
    make_sqlite_ledger: LedgerFactory, tmp_path: Path
) -> None:
    """GDPR-5: erasure destroys the key: after it, the key's bytes are nowhere in the
    SQLite files (database, write-ahead log), or the ciphertext could still be opened."""
    ledger = make_sqlite_ledger("monthly-autorenew", name="shred.db")
    do(ledger, "register_account", T0, account="zq", name=NAME, email=EMAIL)
    data_key = ledger.app.keys.key(str(account_id("zq")))
    assert data_key is not None and len(data_key) == 32
    assert [
        name for name, blob in db_bytes(tmp_path / "shred.db").items() if data_key in blob
    ] == []  # only ever stored wrapped by the master key
    with ledger.app.keys.datastore.transaction(commit=False) as c:
        c.execute("SELECT data_key FROM subject_keys WHERE account_id=?", (str(account_id("zq")),))
        key = bytes(c.fetchone()[0])  # the wrapped key, as stored
    assert any(key in blob for blob in db_bytes(tmp_path / "shred.db").values()), (
        "the scan must find the wrapped key while it lives"
    )
    do(ledger, "request_data_deletion", "2026-01-08T09:00:00Z", account="zq")
    ledger.tick(t("2026-02-07T09:00:01Z"))
    assert ledger.app.keys.key(str(account_id("zq"))) is None
    leaks = [name for name, blob in db_bytes(tmp_path / "shred.db").items() if key in blob]
    assert leaks == [], f"the destroyed data key is still readable in {leaks}"


# ================================================================ replay determinism
REFS = ("alpha", "beta")
PROFILE_PLANS = {
    "monthly-autorenew": "basic",
    "annual-b2b": "basic",
    "crm-retention": "basic",
    "device-cloud": "cloud",
}
TERMS = ("monthly", "quarterly", "annual")  # for price changes; subscriptions pick from
# the profile's own terms so that most of them are accepted
METHODS = ("card", "direct_debit", "bank_transfer", "paypal")

refs = st.sampled_from(REFS)
tick = st.tuples(st.just("tick"), st.integers(0, 120), st.integers(0, 23))


def subscriptions(account: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just("subscribe"),
        account,
        st.integers(0, 3),
        st.sampled_from(METHODS),
        st.sampled_from([None, Decimal(10), Decimal("12.5")]),
    )


subscribe = subscriptions(refs)
pay = st.tuples(st.just("pay"), refs, st.integers(-100, 200_000), st.integers(0, 3))
# duplicated branches weigh more: subscriptions, payments and time make the history
operations = st.one_of(
    tick,
    tick,
    tick,
    subscribe,
    subscribe,
    subscribe,
    pay,
    pay,
    st.tuples(st.just("trial"), refs),
    st.tuples(st.just("cancel"), refs),
    st.tuples(st.just("prepaid"), refs, st.integers(1, 6), st.sampled_from(METHODS)),
    st.tuples(st.just("cancel_queued"), refs),
    st.tuples(st.just("psp"), refs, st.sampled_from(("approve", "decline"))),
    st.tuples(st.just("dispute"), refs, st.integers(1, 3)),
    st.tuples(st.just("activity"), refs),
    st.tuples(st.just("delete"), refs),
    st.tuples(st.just("cost"), refs, st.integers(1, 10_000)),
    st.tuples(
        st.just("price"), st.sampled_from(TERMS), st.integers(100, 50_000), st.integers(25, 90)
    ),
)
closing = st.tuples(st.just("close"), refs)


def _command(op: tuple[Any, ...], at: datetime, profile: str) -> c.Command:
    plan = PROFILE_PLANS[profile]
    kind = op[0]
    if kind == "subscribe":
        terms = BUILT_IN_PROFILES[profile].terms
        return c.Subscribe(
            at=at,
            account=op[1],
            plan=plan,
            term=terms[op[2] % len(terms)],
            payment_method=op[3],
            discount_percent=op[4],
        )
    if kind == "trial":
        return c.StartTrial(at=at, account=op[1], plan=plan)
    if kind == "pay":
        return c.RecordPayment(at=at, account=op[1], amount=op[2], reference=f"ref-{op[3]}")
    if kind == "cancel":
        return c.RequestCancellation(at=at, account=op[1])
    if kind == "prepaid":
        return c.PurchasePrepaid(
            at=at, account=op[1], plan=plan, months=op[2], payment_method=op[3]
        )
    if kind == "cancel_queued":
        return c.CancelQueued(at=at, account=op[1])
    if kind == "dispute":
        return c.DisputeInvoice(at=at, account=op[1], invoice=op[2], reason="random")
    if kind == "activity":
        return c.RecordActivity(at=at, account=op[1])
    if kind == "delete":
        return c.RequestDataDeletion(at=at, account=op[1])
    if kind == "close":
        return c.RequestAccountClosure(at=at, account=op[1])
    if kind == "cost":
        return c.RecordCollectionCost(at=at, account=op[1], amount=op[2])
    assert kind == "price"
    return c.AnnouncePriceChange(
        at=at, plan=plan, term=op[1], new_price=op[2], effective_at=at + timedelta(days=op[3])
    )


def _replay(events: Iterable[Any]) -> Account:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Account)
    return aggregate


def _decision_state(account: Account) -> dict[str, Any]:
    skip = {"_id", "_version", "_created_on", "_modified_on", "_pending_events"}
    return copy.deepcopy({k: v for k, v in vars(account).items() if k not in skip})


def _journal_balance(rows: list[tuple[Any, ...]], aid: str) -> dict[str, str]:
    net: dict[str, int] = defaultdict(int)
    debited: dict[str, int] = defaultdict(int)
    credited: dict[str, int] = defaultdict(int)
    for _pos, _line, account, _at, debit, credit, amount, _memo in rows:
        if account != aid:
            continue
        net[debit] += amount
        net[credit] -= amount
        debited[debit] += amount
        credited[credit] += amount
    principal, interest = net["receivable:principal"], net["receivable:interest"]
    fees = net["receivable:fees"]
    values = {
        "invoiced": credited["revenue:deferred"] - debited["revenue:credit_notes"],
        "paid": debited["cash"],
        "refunded": credited["cash"],
        "credit": -net["liability:customer_credit"],
        "outstanding": principal + interest + fees,
        "principal": principal,
        "interest": interest,
        "fees": fees,
    }
    return {k: format_amount(v) for k, v in values.items()}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    profile=st.sampled_from(sorted(PROFILE_PLANS)),
    first=subscriptions(st.just("alpha")),
    ops=st.lists(operations, min_size=4, max_size=25),
    closures=st.lists(st.tuples(st.integers(0, 24), closing), max_size=1),
)
def test_replay_is_deterministic(
    backend: Backend,
    profile: str,
    ops: list[tuple[Any, ...]],
    closures: list[tuple[int, tuple[str, str]]],
    first: tuple[Any, ...],
) -> None:
    """Section 8 + GDPR-5 + section 0: for any valid command sequence, (a) a fresh fold of
    the stored events equals the stored view, (b) the aggregate replays to the same state
    every time (and to the state the commands left), (c) the journal balances and agrees
    with the observed balances; a rejected command records nothing."""
    ops = [first, *ops]
    for position, closure in closures:  # at most one closure attempt, anywhere
        ops = [*ops[:position], closure, *ops[position:]]
    with tempfile.TemporaryDirectory(prefix="subledger-replay-") as tmp:
        provider = SimulatedPaymentProvider()
        target = Path(tmp) / "replay.db" if backend.kind == "sqlite" else backend.database("replay")
        ledger = open_ledger(target, profile, CATALOG, provider)
        try:
            clock = t(T0)
            for ref in REFS:
                do(
                    ledger,
                    "register_account",
                    clock,
                    account=ref,
                    name=f"Name {ref}",
                    email=f"{ref}@example.test",
                )
            for op in ops:
                if op[0] == "tick":
                    clock += timedelta(days=op[1], hours=op[2])
                    ledger.tick(clock)
                    continue
                if op[0] == "psp":
                    provider.set_outcome(op[1], op[2])
                    continue
                ledger.tick(clock)
                before = max_id(ledger)
                try:
                    ledger.execute(_command(op, clock, profile))
                except Rejected as e:
                    note_case(f"{op[0]} rejected {e.code.value}")
                    assert max_id(ledger) == before, f"rejected {op} recorded events"
                else:
                    note_case(f"{op[0]} accepted")
            ledger.tick(clock)
            ledger.settle()

            rows = ledger.store.journal_rows()
            for row in rows:
                assert row[4] != row[5] and row[6] > 0, row
            for ref in REFS:
                aid = str(account_id(ref))
                events = ledger.events(ref)
                # (a) a fresh fold equals the stored view document
                doc = new_doc(ref)
                for event in events:
                    apply(doc, event)
                stored = ledger.store.doc(ref)
                assert orjson.loads(orjson.dumps(doc)) == stored
                # (b) loading the aggregate twice gives the same state, and the state
                # the repository (the commands' own copy) has
                once = _decision_state(_replay(ledger.events(ref)))
                twice = _decision_state(_replay(ledger.events(ref)))
                assert once == twice
                assert once == _decision_state(ledger.account(ref))
                # (c) journal: debits equal credits, and the balances are read off it
                mine = [r for r in rows if r[2] == aid]
                assert sum(r[6] for r in mine) == sum(
                    p.amount for e in events for p in postings_for(e)
                )
                assert _journal_balance(rows, aid) == ledger.state(ref)["balance"]
                account = ledger.account(ref)
                balance = ledger.state(ref)["balance"]
                assert balance["outstanding"] == format_amount(account.outstanding())
                assert balance["credit"] == format_amount(account.credit)
        finally:
            ledger.close()
