"""The aggregate cache of the command path (infra/application/repository.py) and the
price book kept in the application: what a command loads is always what a replay of the
stored events gives, whatever was refused, failed or written by another process."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from backends import Backend
from ledger_kit import LedgerFactory, open_ledger

from domain import commands as c
from domain.account import Account, account_id
from domain.errors import ErrorCode, Rejected
from infra.application.ledger import Ledger

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
CATALOG = {"basic": {"monthly": 2900}}


def _state(account: Account) -> dict[str, Any]:
    skip = {"_created_on", "_modified_on", "_pending_events"}
    return copy.deepcopy({k: v for k, v in vars(account).items() if k not in skip})


def _replayed(ledger: Ledger, ref: str, version: int | None = None) -> dict[str, Any]:
    aggregate: Any = None
    for event in ledger.app.events.get(account_id(ref), lte=version):
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Account)
    return _state(aggregate)


@pytest.fixture
def two_processes(backend: Backend) -> Iterator[tuple[Ledger, Ledger]]:
    """Two ledgers on one store, as two processes would have them."""
    db = backend.database("shared")
    here = open_ledger(db, catalog=CATALOG)
    elsewhere = open_ledger(db, catalog=CATALOG)
    yield here, elsewhere
    here.close()
    elsewhere.close()


def _customer(ledger: Ledger, ref: str, at: datetime = T0) -> None:
    ledger.execute(c.RegisterAccount(at=at, account=ref, name="N", email=f"{ref}@x.test"))
    ledger.execute(
        c.Subscribe(at=at, account=ref, plan="basic", term="monthly", payment_method="card")
    )


def test_a_refused_command_after_a_successful_one_leaves_no_trace(
    make_ledger: LedgerFactory,
) -> None:
    ledger = make_ledger(catalog=CATALOG)
    _customer(ledger, "acme")
    ledger.execute(c.RecordActivity(at=T0 + timedelta(hours=1), account="acme"))

    def changed_then_refused(account: Account) -> None:
        account.record_activity(at=T0 + timedelta(hours=2))  # an event, then a refusal
        raise Rejected(ErrorCode.INVALID_INPUT, "refused after a change")

    with pytest.raises(Rejected):
        ledger.app.update("acme", changed_then_refused)
    with pytest.raises(Rejected):  # refused by the domain
        ledger.execute(
            c.DisputeInvoice(at=T0 + timedelta(hours=3), account="acme", invoice=99, reason="x")
        )

    aid = account_id("acme")
    assert _state(ledger.app.load(aid)) == _replayed(ledger, "acme")
    assert _state(ledger.app.take(aid)) == _replayed(ledger, "acme")
    # and the next command goes on from the stored state, not the refused change
    ledger.execute(c.RecordActivity(at=T0 + timedelta(hours=4), account="acme"))
    assert _state(ledger.app.load(aid)) == _replayed(ledger, "acme")


def test_a_save_that_conflicts_leaves_no_trace_and_is_retried(
    two_processes: tuple[Ledger, Ledger],
) -> None:
    here, elsewhere = two_processes
    _customer(here, "acme")
    aid = account_id("acme")
    taken = here.app.take(aid)  # as a command of this process would, before the other's
    elsewhere.execute(c.RecordActivity(at=T0 + timedelta(hours=1), account="acme"))
    taken.record_activity(at=T0 + timedelta(hours=2))
    with pytest.raises(Exception, match=r"(?i)conflict|integrity|unique|duplicate"):
        here.app.save(taken)
    here.execute(c.RecordActivity(at=T0 + timedelta(hours=3), account="acme"))
    assert _state(here.app.load(aid)) == _replayed(here, "acme")
    assert len(list(here.app.events.get(aid))) == len(list(elsewhere.app.events.get(aid)))


def test_a_price_change_announced_by_another_process_is_priced_with(
    two_processes: tuple[Ledger, Ledger],
) -> None:
    here, elsewhere = two_processes
    _customer(here, "first")  # this process has read (and keeps) the price book
    assert here.app.price_book().changes == ()
    effective = T0 + timedelta(days=60)
    elsewhere.execute(
        c.AnnouncePriceChange(
            at=T0 + timedelta(hours=1),
            plan="basic",
            term="monthly",
            new_price=3900,
            effective_at=effective,
        )
    )
    # the save of the next command finds the schedule moved, reads it again, retries
    _customer(here, "second", T0 + timedelta(hours=2))
    assert [ch.new_price for ch in here.app.price_book().changes] == [3900]
    assert here.app.price_book().price("basic", "monthly", effective) == 3900
    assert _state(here.app.load(account_id("second"))) == _replayed(here, "second")


def test_a_query_never_sees_a_half_changed_account(make_ledger: LedgerFactory) -> None:
    """Readers copy under the cache's lock while commands change their own aggregate:
    every copy a reader gets is some stored version, exactly as replayed."""
    ledger = make_ledger(catalog=CATALOG)
    _customer(ledger, "acme")
    aid = account_id("acme")
    stop = threading.Event()
    seen: list[Account] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                seen.append(ledger.app.load(aid))
        except BaseException as e:  # reported below
            failures.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            ledger.execute(c.RecordActivity(at=T0 + timedelta(minutes=i + 1), account="acme"))
    finally:
        stop.set()
        reader.join()
    assert not failures
    assert len(seen) > 1
    replays: dict[int, dict[str, Any]] = {}
    for account in seen:
        if account.version not in replays:
            replays[account.version] = _replayed(ledger, "acme", account.version)
        assert _state(account) == replays[account.version]
