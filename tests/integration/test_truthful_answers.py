"""Issue 13, "truthful answers": what the API says is what happened. In process (the
API app on a real ledger, both stores), where a failure can be put exactly between the
commit and the answer, and a request can be held exactly at the ledger's lock.

- a command whose events committed is answered with its receipt, even if the catch-up
  after it fails (the failure shows in /health), and its Idempotency-Key claim is never
  released: a retry gets the receipt, never a second run;
- a command without `at` is timed inside the ledger's lock: another command or tick
  moving the clock while it waits cannot get it refused (before: 400 `invalid_input` on
  a field the client never sent);
- a refusal that may pass when retried says so: 409 `conflict` or 503 `unavailable`,
  each with `Retry-After`, never 400.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from ledger_kit import LedgerFactory

from domain import commands as c
from domain.errors import ErrorCode, Rejected
from infra.application.ledger import Ledger
from infra.application.service import run_command
from infra.entrypoints.http.app import create_app
from infra.interface.vocabulary import parse_command
from infra.persistence.api_keys import ApiKeyStore, Scope
from infra.persistence.idempotency import ClaimState, IdempotencyStore

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    ledger: Ledger
    client: TestClient
    clock: Clock
    idempotency: IdempotencyStore

    def names(self, ref: str) -> list[str]:
        return [type(e).__name__ for e in self.ledger.events(ref)]


@pytest.fixture
def served(make_ledger: LedgerFactory) -> Iterator[Served]:
    ledger = make_ledger()
    datastore, dialect = ledger.app.datastore, ledger.store.dialect
    keys, idempotency = ApiKeyStore(datastore, dialect), IdempotencyStore(datastore, dialect)
    secret, _ = keys.create(frozenset(Scope), "test", NOW)
    clock = Clock()
    client = TestClient(
        create_app(ledger, keys, idempotency, clock),
        headers={"Authorization": f"Bearer {secret}"},
        raise_server_exceptions=False,
    )
    assert (
        client.post(
            "/accounts",
            json={
                "account": "ann",
                "name": "Ann",
                "email": "ann@example.com",
                "at": "2026-03-01T09:00:00Z",
            },
        ).status_code
        == 201
    )
    yield Served(ledger, client, clock, idempotency)


def test_a_committed_command_is_answered_even_when_the_catch_up_after_it_fails(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: 500 "nothing is lost, try again" and the claim deleted, so the retry with
    the same Idempotency-Key recorded the activity a second time."""

    def broken(*_: Any, **__: Any) -> int:
        raise RuntimeError("the read model's store broke")

    monkeypatch.setattr(served.ledger.projections, "run", broken)
    first = served.client.post(
        "/accounts/ann/activity",
        headers={"Idempotency-Key": "a-1"},
        json={"at": "2026-03-02T09:00:00Z"},
    )
    assert first.status_code == 200, first.text
    assert first.json()["recorded"] is True and first.json()["at"] == "2026-03-02T09:00:00Z"
    health = served.client.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    assert "the read model's store broke" in health.json()["catch_up"]["error"]

    monkeypatch.undo()
    again = served.client.post(
        "/accounts/ann/activity",
        headers={"Idempotency-Key": "a-1"},
        json={"at": "2026-03-02T09:00:00Z"},
    )
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert served.names("ann").count("ActivityRecorded") == 1
    served.ledger.settle()  # the next catch-up (a command, the ticker) works again
    assert served.client.get("/health").status_code == 200


def test_a_committed_command_is_answered_even_when_keeping_its_answer_fails(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Idempotency-Key is claimed in the command's transaction (issue 16); the answer
    is kept by a second one. If that one fails (the database away a moment), the client
    must still hear that its command was recorded, not 503 "nothing was recorded", and a
    retry with the key replays it from the log instead of running it again."""

    def broken(*_: Any, **__: Any) -> bool:
        raise OSError("the database went away")

    monkeypatch.setattr(served.idempotency, "answer", broken)
    first = served.client.post(
        "/accounts/ann/activity",
        headers={"Idempotency-Key": "keep-1"},
        json={"at": "2026-03-02T09:00:00Z"},
    )
    assert first.status_code == 200, first.text
    assert first.json()["recorded"] is True
    monkeypatch.undo()

    def retry() -> Any:
        return served.client.post(
            "/accounts/ann/activity",
            headers={"Idempotency-Key": "keep-1"},
            json={"at": "2026-03-02T09:00:00Z"},
        )

    soon = retry()  # the first request may still be answering: wait, never run twice
    assert soon.status_code == 409 and soon.headers["retry-after"] == "1"
    served.clock.now += timedelta(seconds=61)  # past the in-flight window
    again = retry()
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["recorded"] is True
    assert served.names("ann").count("ActivityRecorded") == 1


def test_a_committed_claim_is_never_released(served: Served) -> None:
    """`release` (a failure on our side) frees a claim whose command never ran, never one
    whose command's transaction marked it committed."""
    store = served.idempotency
    now = int(NOW.timestamp())
    assert store.claim("k", "pay-1", b"p", now).state is ClaimState.CLAIMED
    run_command(
        served.ledger,
        parse_command("record_activity", {"account": "ann"}, datetime(2026, 3, 2, 10, tzinfo=UTC)),
        mark=("k", "pay-1"),
    )
    store.release("k", "pay-1")
    assert store.claim("k", "pay-1", b"p", now + 61).state is ClaimState.COMMITTED
    assert store.claim("k", "pay-2", b"q", now).state is ClaimState.CLAIMED
    store.release("k", "pay-2")  # nothing ran under it: free at once
    assert store.claim("k", "pay-2", b"q", now + 1).state is ClaimState.CLAIMED


def test_a_command_without_at_is_timed_inside_the_ledgers_lock(served: Served) -> None:
    """The request waits at the lock while another command moves the clock a minute on;
    it is then recorded at that later instant, not refused as before scheduled work."""
    answers: list[Any] = []
    with served.ledger._lock:  # the ledger is busy
        waiting = threading.Thread(
            target=lambda: answers.append(
                served.client.post("/accounts/ann/activity", headers={"Idempotency-Key": "now-1"})
            )
        )
        waiting.start()
        time.sleep(0.5)  # it has read the body and waits for the lock
        served.clock.now = NOW + timedelta(minutes=1)
        served.ledger.execute(c.RecordActivity(at=NOW + timedelta(minutes=1), account="ann"))
    waiting.join(timeout=30)
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["at"] == "2026-03-02T12:01:00Z"
    assert served.names("ann").count("ActivityRecorded") == 2


def test_a_command_without_at_is_never_before_work_another_process_ran(served: Served) -> None:
    """Another process's wall clock may be a little ahead and its tick already ran to
    there: "now" is then that instant (the scheduler's clock), not a refusal."""
    ahead = NOW + timedelta(seconds=30)
    served.ledger.store.advance_clock(ahead)
    served.ledger.scheduler._clock = None  # as a fresh read of the stored clock
    answer = served.client.post("/accounts/ann/activity")
    assert answer.status_code == 200, answer.text
    assert answer.json()["at"] == "2026-03-02T12:00:30Z"


def test_a_conflict_says_retry_and_is_never_400(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def conflict(_command: Any, **_: Any) -> Any:
        raise Rejected(ErrorCode.CONFLICT, "account ann kept changing; try again")

    monkeypatch.setattr(served.ledger.app, "handle", conflict)
    refused = served.client.post(
        "/accounts/ann/activity",
        headers={"Idempotency-Key": "c-1"},
        json={"at": "2026-03-02T09:00:00Z"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    assert refused.headers["retry-after"] == "1"

    def locked(_command: Any, **_: Any) -> Any:
        raise OperationalError("database is locked") from sqlite3.OperationalError(
            "database is locked"
        )

    monkeypatch.setattr(served.ledger.app, "handle", locked)
    busy = served.client.post(
        "/accounts/ann/activity",
        headers={"Idempotency-Key": "b-1"},
        json={"at": "2026-03-02T09:00:00Z"},
    )
    assert busy.status_code == 503 and busy.json()["code"] == "unavailable"
    assert busy.headers["retry-after"] == "1"
    monkeypatch.undo()  # the database is back: the same keys run the command now
    for key in ("c-1", "b-1"):  # neither "try again" was kept as the key's answer
        retried = served.client.post(
            "/accounts/ann/activity",
            headers={"Idempotency-Key": key},
            json={"at": "2026-03-02T09:00:00Z"},
        )
        assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert served.names("ann").count("ActivityRecorded") == 2
