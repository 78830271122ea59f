"""`Idempotency-Key` on every POST, and payments posted at once by many clients.

A retry with the same key and body gets the first answer (status, body, headers) and
records nothing; the same key with another body is refused 422; keys belong to the API
key that used them. Apart from idempotency keys, a payment reference is booked once
whatever the clients do (SPEC section 0): eight clients with eight different keys, on
two server processes sharing the store, book one payment.
"""

from __future__ import annotations

import sqlite3
import threading

import httpx
import pytest
from api_kit import Installation, Server, day, events_of, stored_bytes


def _register(api: httpx.Client, account: str, key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(
        "/accounts",
        headers=headers,
        json={
            "account": account,
            "name": account.title(),
            "email": f"{account}@example.com",
            "at": day(0),
        },
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_retry_gets_the_first_answer_and_another_body_is_refused(
    server: Server, installation: Installation
) -> None:
    api = server.client(installation.key("write", "read"))
    first = _register(api, "dee", key="reg-dee")
    assert first.status_code == 201 and first.headers["location"] == "/accounts/dee"
    again = _register(api, "dee", key="reg-dee")
    assert again.status_code == 201  # not 409 account_exists: the first answer, replayed
    assert again.content == first.content and again.headers["location"] == "/accounts/dee"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # the same JSON in another key order and spacing is the same request
    same = api.post(
        "/accounts",
        headers={"Idempotency-Key": "reg-dee", "Content-Type": "application/json"},
        content=b'{ "at": "%s", "email": "dee@example.com", "name": "Dee", '
        b'"account": "dee" }' % day(0).encode(),
    )
    assert same.status_code == 201 and same.content == first.content

    other = api.post(
        "/accounts",
        headers={"Idempotency-Key": "reg-dee"},
        json={"account": "eve", "name": "Eve", "email": "eve@example.com", "at": day(0)},
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    elsewhere = api.post(
        "/accounts/dee/activity", headers={"Idempotency-Key": "reg-dee"}, json={"at": day(0)}
    )
    assert elsewhere.status_code == 422  # a key names one request, on one path
    assert elsewhere.json()["code"] == "idempotency_key_reused"
    assert api.get("/accounts/eve").status_code == 404
    assert [e["event"] for e in events_of(installation, "dee")] == ["Registered"]

    # a refusal is an answer too: replayed, not re-run after the rules would allow it
    refused = _register(api, "dee", key="reg-dee-2")
    assert refused.status_code == 409 and refused.json()["code"] == "account_exists"
    assert _register(api, "dee", key="reg-dee-2").content == refused.content

    # keys belong to the API key that used them
    other_client = server.client(installation.key("write"))
    mine = _register(other_client, "fay", key="reg-dee")
    assert mine.status_code == 201 and "idempotent-replayed" not in mine.headers

    if installation.backend.kind == "sqlite":  # what idempotency keeps is no personal data
        stored = stored_bytes(installation)
        assert b"reg-dee" in stored  # the scan reads the right files
        for plaintext in (b"dee@example.com", b"fay@example.com"):
            assert plaintext not in stored


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_eight_clients_paying_with_one_reference_book_one_payment(
    installation: Installation,
) -> None:
    servers = [Server(installation).start(), Server(installation).start()]
    try:
        key = installation.key("write", "read")
        setup = servers[0].client(key)
        assert _register(setup, "gus").status_code == 201
        assert (
            setup.post(
                "/accounts/gus/subscription",
                json={
                    "plan": "basic",
                    "term": "monthly",
                    "payment_method": "bank_transfer",
                    "at": day(0),
                },
            ).status_code
            == 200
        )
        barrier = threading.Barrier(8)
        answers: list[httpx.Response] = []
        failures: list[BaseException] = []

        def pay(n: int) -> None:
            try:
                client = servers[n % 2].client(key)
                barrier.wait(timeout=30)
                answers.append(
                    client.post(
                        "/accounts/gus/payments",
                        headers={"Idempotency-Key": f"client-{n}"},
                        json={"amount": "29.00", "reference": "bank-tx-4711", "at": day(1)},
                    )
                )
            except BaseException as e:
                failures.append(e)

        threads = [threading.Thread(target=pay, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures
        assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
        recorded = sorted(a.json()["recorded"] for a in answers)
        assert recorded == [False] * 7 + [True]
        state = setup.get("/accounts/gus", params={"as_of": day(2)}).json()
    finally:
        for s in servers:
            assert s.stop() == 0
    payments = [e for e in events_of(installation, "gus") if e["event"] == "PaymentReceived"]
    assert len(payments) == 1 and payments[0]["fields"]["amount"] == "29.00"
    assert state["balance"]["paid"] == "29.00" and state["balance"]["outstanding"] == "0.00"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_retry_after_a_lost_answer_does_not_run_the_command_again(
    server: Server, installation: Installation
) -> None:
    """A server killed after the command's commit and before its answer is stored leaves a
    claim without an answer, marked committed by the command's own transaction. Made here
    by taking the stored answers away and ageing the claims past the takeover delay."""
    api = server.client(installation.key("write", "read"))
    first = _register(api, "hal", key="reg-hal")
    activity = api.post(
        "/accounts/hal/activity", headers={"Idempotency-Key": "act-hal"}, json={"at": day(1)}
    )
    assert first.status_code == 201 and activity.status_code == 200
    with sqlite3.connect(installation.root / "subledger.db") as db:
        db.execute(
            "UPDATE idempotency_keys SET status=NULL, response=NULL, claimed_at=claimed_at-120"
        )
    again = _register(api, "hal", key="reg-hal")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == "/accounts/hal"
    assert again.json()["recorded"] is True and again.json()["at"] == day(0)
    repeat = api.post(
        "/accounts/hal/activity", headers={"Idempotency-Key": "act-hal"}, json={"at": day(1)}
    )
    assert repeat.status_code == 200 and repeat.headers["idempotent-replayed"] == "true"
    events = [e["event"] for e in events_of(installation, "hal")]
    assert events.count("Registered") == 1 and events.count("ActivityRecorded") == 1
    # the rebuilt answer is kept: the next retry gets the same bytes
    assert _register(api, "hal", key="reg-hal").content == again.content


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_grouped_commands_each_mark_their_own_request_committed(
    server: Server, installation: Installation
) -> None:
    """Concurrent requests share transactions (group commit): each request's
    `committed` mark is in the transaction that records its command, so after lost
    answers every retry is a replay and nothing is recorded twice."""
    key = installation.key("write", "read")
    clients = 12
    barrier = threading.Barrier(clients)
    failures: list[BaseException] = []

    def customer(n: int, retry: bool = False) -> None:
        try:
            api = server.client(key)
            barrier.wait(timeout=30)
            first = _register(api, f"grp{n}", key=f"reg-{n}")
            activity = api.post(
                f"/accounts/grp{n}/activity", headers={"Idempotency-Key": f"act-{n}"}, json={}
            )
            assert first.status_code == 201 and activity.status_code == 200
            if retry:
                assert first.headers["idempotent-replayed"] == "true"
                assert activity.headers["idempotent-replayed"] == "true"
        except BaseException as e:
            failures.append(e)

    def everyone(retry: bool) -> None:
        threads = [threading.Thread(target=customer, args=(n, retry)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures

    everyone(retry=False)
    with sqlite3.connect(installation.root / "subledger.db") as db:
        committed = db.execute("SELECT COUNT(*) FROM idempotency_keys WHERE committed=1")
        assert committed.fetchone()[0] == 2 * clients
        db.execute(
            "UPDATE idempotency_keys SET status=NULL, response=NULL, claimed_at=claimed_at-120"
        )
    everyone(retry=True)
    for n in range(clients):
        events = [e["event"] for e in events_of(installation, f"grp{n}")]
        assert events.count("Registered") == 1 and events.count("ActivityRecorded") == 1
