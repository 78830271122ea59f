"""Issue 13: a read model or consumer that fails on an event stops itself, not the ledger.

On both stores: the failure is recorded (name, position, event id, error), commands and
the other read models and consumers go on, reads stay true (folded from the log), and
the operator's two ways out work: fix and rebuild, or a recorded skip. A failure of the
database is not an event's: it halts nothing and is tried again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent
from ledger_kit import LedgerFactory, journal_net

from domain.account import account_id
from domain.calendar import parse_instant
from domain.errors import ErrorCode, Rejected
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from projections import account_view
from projections.isolation import Isolation, ReadModelHaltedError, is_transient
from projections.runner import AccountsProjection

T0 = "2026-01-05T09:00:00Z"
UNREADABLE = b"\x00 not an event"  # no JSON: neither the views nor the collector read it


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> Any:
    return ledger.execute(parse_command(command, fields, parse_instant(at)))


def inject(
    ledger: Ledger,
    topic: str = "domain.account:Account.CollectionRequested",
    state: bytes = UNREADABLE,
) -> int:
    """A stored event no fold can read, written straight into the event store as a bug,
    a hand edit or a newer writer could leave it; its log position."""
    ledger.app.recorder.insert_events(
        [StoredEvent(originator_id=uuid4(), originator_version=1, topic=topic, state=state)]
    )
    return ledger.app.recorder.max_notification_id() or 0


@pytest.fixture
def ledger(make_ledger: LedgerFactory) -> Iterator[Ledger]:
    opened = make_ledger()
    do(opened, "register_account", T0, account="ann", name="Ann", email="ann@example.com")
    do(
        opened,
        "subscribe",
        T0,
        account="ann",
        plan="basic",
        term="monthly",
        payment_method="bank_transfer",
    )
    do(opened, "register_account", T0, account="bob", name="Bob", email="bob@example.com")
    yield opened


def test_a_read_model_bug_stops_it_alone_and_a_fix_and_rebuild_recover(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account views fail on every payment (a bug of theirs): the payment is
    recorded and answered, the views stop just before it, the privacy keeper and the
    commands go on; after the fix, `rebuild` brings everything back."""

    def bug(_doc: dict[str, Any], _event: Any) -> None:
        raise ValueError("a bug in the payment fold")

    monkeypatch.setitem(account_view._HANDLERS, "PaymentReceived", bug)
    outcome = do(
        ledger,
        "record_payment",
        "2026-01-06T09:00:00Z",
        account="ann",
        amount="29.00",
        reference="bank-1",
    )
    assert outcome.recorded
    [(position, version)] = [
        (n.id, n.originator_version)
        for n in ledger.store.account_notifications(account_id("ann"), 10**9)
        if n.topic.endswith(".PaymentReceived")
    ]
    [failure] = ledger.halted()
    assert (failure.name, failure.position) == ("accounts", position)
    assert failure.event_id == f"{account_id('ann')}:{version}"
    assert failure.error == "ValueError: a bug in the payment fold"
    assert ledger.store.positions()["accounts"] == position - 1  # stopped just before it
    assert ledger.settle_failure is None  # an event's failure, not the database's

    # commands go on, and so do the other runners: Bob's erasure destroys his key
    do(ledger, "request_data_deletion", "2026-01-06T10:00:00Z", account="bob")
    assert ledger.app.keys.key(str(account_id("bob"))) is None
    assert ledger.state("bob")["privacy"]["personal_data"] == "erased"  # from the log
    with pytest.raises(ReadModelHaltedError):  # Ann's fold is the buggy one: no lie
        ledger.state("ann")
    with pytest.raises(ReadModelHaltedError):
        ledger.journal()

    monkeypatch.undo()  # the fix is deployed
    ledger.rebuild()
    assert ledger.halted() == []
    balance = ledger.state("ann")["balance"]
    assert (balance["paid"], balance["outstanding"]) == ("29.00", "0.00")
    assert sum(journal_net(ledger.journal()).values()) == 0
    assert ledger.store.positions()["accounts"] == ledger.app.recorder.max_notification_id()


def test_an_unreadable_event_stops_who_reads_it_until_a_recorded_skip(ledger: Ledger) -> None:
    """No code can read the event: the account views and the collector (they read its
    topic) stop on it, the privacy keeper does not; the operator skips it, saying why,
    and every later fold (a rebuild, a report) skips it too."""
    position = inject(ledger)
    do(ledger, "record_activity", "2026-01-06T09:00:00Z", account="ann")
    assert {(f.name, f.position) for f in ledger.halted()} == {
        ("accounts", position),
        ("collector", position),
    }
    assert all("JSONDecodeError" in f.error or "Deserialis" in f.error for f in ledger.halted())
    state = ledger.state("ann", as_of=parse_instant("2026-01-06T09:00:00Z"))  # from the log
    assert [(i["n"], i["amount"]) for i in state["invoices"]] == [(1, "29.00")]
    assert state["balance"]["outstanding"] == "29.00"
    with pytest.raises(ReadModelHaltedError):  # every account's events: this one too
        ledger.report("mrr", as_of=parse_instant("2026-02-01T00:00:00Z"))

    skipped = ledger.store.isolation.skip(position, "written by hand; no code reads it")
    assert {s.name for s in skipped} == {"accounts", "collector"}
    do(ledger, "record_activity", "2026-01-07T09:00:00Z", account="ann")
    assert ledger.halted() == []
    head = ledger.app.recorder.max_notification_id()
    assert ledger.store.positions()["accounts"] == head
    assert [(s.name, s.position, s.reason) for s in ledger.store.isolation.skips()] == [
        ("accounts", position, "written by hand; no code reads it"),
        ("collector", position, "written by hand; no code reads it"),
    ]
    ledger.rebuild()  # the skip is a decision: it holds for every rebuild
    assert ledger.halted() == []
    assert ledger.report("subscriptions", as_of=parse_instant("2026-02-01T00:00:00Z"))
    assert ledger.store.isolation.skip(position, "again") == []  # nothing halted there


def test_a_database_failure_halts_nothing_and_is_tried_again(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database away for a moment during the catch-up after a command: the command
    is answered (it committed), the failure is kept for /health, nothing is halted, and
    the next catch-up folds what was missed."""
    real = AccountsProjection.process
    failed: list[int] = []

    def flaky(self: AccountsProjection, notifications: Any, *args: Any) -> None:
        if not failed and any(n.topic.endswith(".PaymentReceived") for n in notifications):
            failed.append(1)  # once, on the catch-up after the payment's commit
            raise OperationalError("database is locked") from sqlite3.OperationalError(
                "database is locked"
            )
        real(self, notifications, *args)

    monkeypatch.setattr(AccountsProjection, "process", flaky)
    assert do(
        ledger,
        "record_payment",
        "2026-01-06T09:00:00Z",
        account="ann",
        amount="29.00",
        reference="bank-1",
    ).recorded
    assert ledger.halted() == []
    assert (
        ledger.settle_failure is not None and "database is locked" in ledger.settle_failure["error"]
    )
    do(ledger, "record_activity", "2026-01-06T10:00:00Z", account="ann")
    assert ledger.settle_failure is None
    assert ledger.state("ann")["balance"]["paid"] == "29.00"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("x"), True),  # eventsourcing's: connection, lock, ...
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("no such column: x"), False),
        (Rejected(ErrorCode.CONFLICT, "kept changing"), True),
        (Rejected(ErrorCode.INVALID_INPUT, "bad"), False),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), False),
        (ValueError("invalid literal"), False),
        (KeyError("amount"), False),
        (ConnectionResetError(), True),
    ],
)
def test_what_counts_as_the_database_rather_than_the_event(
    error: BaseException, transient: bool
) -> None:
    assert is_transient(error) is transient


def test_a_psycopg_error_is_judged_by_its_sqlstate() -> None:
    """PostgreSQL says whose fault it is: class 08/40/53/55/57 the server's (retry),
    class 22 (data), 23 (integrity), 54 (a limit such as an index row too large) the
    event's."""
    psycopg = pytest.importorskip("psycopg")
    assert is_transient(psycopg.errors.LockNotAvailable())
    assert is_transient(psycopg.errors.SerializationFailure())
    assert not is_transient(psycopg.errors.NumericValueOutOfRange())
    assert not is_transient(psycopg.errors.ProgramLimitExceeded())
    assert not is_transient(psycopg.errors.UntranslatableCharacter())


def test_a_skip_made_by_another_process_is_honoured_not_halted_again(ledger: Ledger) -> None:
    """A second process (its own Isolation, read before the skip) meets the event the
    operator has just skipped: it passes over it instead of recording the failure again."""
    position = inject(ledger)
    do(ledger, "record_activity", "2026-01-06T09:00:00Z", account="ann")
    other = Isolation(ledger.store)
    assert other.skipped("accounts") == frozenset()  # read before the skip
    ledger.store.isolation.skip(position, "no code reads it")
    [poison] = ledger.app.recorder.select_notifications(position, 1)
    folded: list[list[int]] = []

    def attempt(part: Any, _after: int) -> None:
        kept = other.kept("accounts", part)
        if any(n.id == position for n in kept):
            raise ValueError("unreadable")
        folded.append([n.id for n in kept])

    assert other.run("accounts", [poison], position - 1, attempt) is None
    assert folded == [[]]  # its position only
    assert ledger.halted() == []
