"""The idempotency keys' store (infra/persistence/idempotency.py), on both stores."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from backends import Backend
from ledger_kit import open_ledger

from domain.errors import Rejected
from infra.application.service import run_command
from infra.interface.vocabulary import parse_command
from infra.persistence.extras import IdempotencyKeyTaken, RequestClaim
from infra.persistence.idempotency import ClaimState, IdempotencyStore, StoredResponse, fingerprint


def test_the_idempotency_store_claims_replays_and_takes_over_a_dead_claim(backend: Backend) -> None:
    """The states a retry can meet, some of which HTTP cannot show on demand: a first
    request still running (409 for the retry), one whose process died (taken over)."""
    ledger = open_ledger(backend.database())
    try:
        store = IdempotencyStore(ledger.app.datastore, ledger.store.dialect)
        body = b'{"amount": "1.00"}'
        print_ = fingerprint(b"k" * 32, "POST", "/accounts/a/payments", body)
        now = int(time.time())
        assert store.claim("k1", "x", print_, now).state is ClaimState.CLAIMED
        assert store.claim("k1", "x", print_, now + 1).state is ClaimState.IN_FLIGHT
        assert store.claim("k1", "x", b"other", now + 1).state is ClaimState.MISMATCH
        assert store.claim("k2", "x", print_, now + 1).state is ClaimState.CLAIMED
        answer = StoredResponse(200, "application/json", b'{"ok": true}', {"X": "1"})
        store.complete("k1", "x", answer)
        replay = store.claim("k1", "x", print_, now + 2)
        assert replay.state is ClaimState.REPLAY and replay.stored == answer
        # k2's request died without an answer: after a minute a retry may run it again
        assert store.claim("k2", "x", print_, now + 30).state is ClaimState.IN_FLIGHT
        assert store.claim("k2", "x", print_, now + 62).state is ClaimState.CLAIMED
        store.release("k2", "x")  # a failure on our side frees the key at once
        assert store.claim("k2", "x", print_, now + 63).state is ClaimState.CLAIMED
        # answered keys are kept a day, then forgotten (by the next claim, or by `prune`)
        assert store.claim("k1", "x", print_, now + 86_401).state is ClaimState.CLAIMED
        store.prune(now + 2 * 86_401)
        assert store.claim("k2", "x", b"other", now + 2 * 86_401).state is ClaimState.CLAIMED
    finally:
        ledger.close()


def test_a_command_marks_its_request_in_its_own_transaction(backend: Backend) -> None:
    """A request whose command was recorded, and whose answer was lost with its process,
    is not run again by the retry; one whose command was refused, or never ran, is."""
    ledger = open_ledger(backend.database())
    try:
        store = IdempotencyStore(ledger.app.datastore, ledger.store.dialect)
        now = int(time.time())
        at = datetime(2026, 3, 1, tzinfo=UTC)
        fields = {"account": "ida", "name": "Ida", "email": "ida@example.com"}
        assert store.claim("k", "reg-ida", b"p1", now).state is ClaimState.CLAIMED
        run_command(ledger, parse_command("register_account", fields, at), mark=("k", "reg-ida"))
        retry = store.claim("k", "reg-ida", b"p1", now + 61)  # no answer was stored
        assert retry.state is ClaimState.COMMITTED and retry.claimed_at == now

        assert store.claim("k", "reg-ida-2", b"p2", now).state is ClaimState.CLAIMED
        with pytest.raises(Rejected):  # account_exists: nothing recorded, no mark
            run_command(
                ledger, parse_command("register_account", fields, at), mark=("k", "reg-ida-2")
            )
        assert store.claim("k", "reg-ida-2", b"p2", now + 61).state is ClaimState.CLAIMED

        # scheduled work run before a command is not the command's: no mark from it
        run_command(
            ledger,
            parse_command(
                "subscribe",
                {"account": "ida", "plan": "basic", "term": "monthly", "payment_method": "card"},
                at,
            ),
        )
        assert store.claim("k", "act", b"p3", now).state is ClaimState.CLAIMED
        with pytest.raises(Rejected):  # renewals ran up to May, then the command failed
            run_command(
                ledger,
                parse_command(
                    "start_trial",
                    {"account": "ida", "plan": "basic"},
                    datetime(2026, 5, 2, tzinfo=UTC),
                ),
                mark=("k", "act"),
            )
        assert len([e for e in ledger.events("ida") if type(e).__name__ == "Renewed"]) == 2
        assert store.claim("k", "act", b"p3", now + 61).state is ClaimState.CLAIMED
    finally:
        ledger.close()


def test_a_key_claimed_by_a_command_s_transaction_is_never_run_twice(backend: Backend) -> None:
    """The HTTP API's road: a look (writing nothing), then the command's own transaction
    claims the key. Two requests with one key that both passed the look: the second
    one's save is undone whole, and the first one's row answers it."""
    ledger = open_ledger(backend.database())
    try:
        store = IdempotencyStore(ledger.app.datastore, ledger.store.dialect)
        now = int(time.time())
        at = datetime(2026, 3, 1, tzinfo=UTC)
        fields = {"account": "joe", "name": "Joe", "email": "joe@example.com"}
        assert store.peek("k", "reg-joe", b"p", now).state is ClaimState.CLAIMED
        first, second = (RequestClaim("k", "reg-joe", b"p", now) for _ in range(2))
        run_command(ledger, parse_command("register_account", fields, at), mark=first)
        assert first.written
        assert store.peek("k", "reg-joe", b"p", now).state is ClaimState.IN_FLIGHT
        subscribe = parse_command(
            "subscribe",
            {"account": "joe", "plan": "basic", "term": "monthly", "payment_method": "card"},
            at,
        )
        with pytest.raises(IdempotencyKeyTaken):
            run_command(ledger, subscribe, mark=second)
        assert [type(e).__name__ for e in ledger.events("joe")] == ["Registered"]
        assert not store.answer(second, StoredResponse(200, "application/json", b"{}", {}))
        answer = StoredResponse(201, "application/json", b'{"ok": true}', {})
        assert store.answer(first, answer)
        replay = store.peek("k", "reg-joe", b"p", now + 1)
        assert replay.state is ClaimState.REPLAY and replay.stored == answer
        assert store.peek("k", "reg-joe", b"other", now + 1).state is ClaimState.MISMATCH

        # a command that saves nothing keeps its answer on a row of its own, once
        refused = RequestClaim("k", "reg-joe-2", b"p2", now)
        with pytest.raises(Rejected):  # account_exists
            run_command(ledger, parse_command("register_account", fields, at), mark=refused)
        assert not refused.written
        no = StoredResponse(409, "application/problem+json", b'{"code": "account_exists"}', {})
        assert store.answer(refused, no)
        assert store.peek("k", "reg-joe-2", b"p2", now + 1).stored == no
        assert not store.answer(RequestClaim("k", "reg-joe-2", b"p2", now + 1), answer)

        # a claim that died before its commit (the old road) is taken over after a minute
        assert store.claim("k", "old", b"p3", now).state is ClaimState.CLAIMED
        late = RequestClaim("k", "old", b"p3", now + 61)
        run_command(
            ledger,
            parse_command("register_account", {**fields, "account": "kim"}, at),
            mark=late,
        )
        assert late.written and store.answer(late, answer)
        # and a key expired a day ago is free again, for any request
        reuse = RequestClaim("k", "reg-joe", b"new", now + 86_401)
        assert store.peek("k", "reg-joe", b"new", now + 86_401).state is ClaimState.CLAIMED
        run_command(
            ledger,
            parse_command("register_account", {**fields, "account": "lea"}, at),
            mark=reuse,
        )
        assert reuse.written
    finally:
        ledger.close()


def test_a_key_taken_inside_a_group_undoes_the_group_and_its_commands_run_alone(
    backend: Backend,
) -> None:
    """Group commit (issue 16): three HTTP requests' commands share one transaction, and
    another request took one of their Idempotency-Keys meanwhile. Nothing of the group is
    kept; the two free keys' commands run again alone and are recorded once, with their
    keys; the taken key's command records nothing and says the key was taken."""
    ledger = open_ledger(backend.database("groupkey"))
    try:
        store = IdempotencyStore(ledger.app.datastore, ledger.store.dialect)
        now = int(time.time())
        at = datetime.fromtimestamp(now, UTC)
        for ref in ("a0", "a1", "a2"):
            ledger.execute(parse_command("register_account", {"account": ref, "name": "N",
                                                              "email": f"{ref}@x.test"}, at))  # fmt: skip
        assert store.claim("k", "pay-a1", b"other", now).state is ClaimState.CLAIMED
        claims = [RequestClaim("k", f"pay-a{i}", b"p", now) for i in range(3)]
        commands = [
            parse_command(
                "record_payment", {"account": f"a{i}", "amount": "5.00", "reference": f"r{i}"}, at
            )
            for i in range(3)
        ]
        answers = ledger.group.run_together(list(zip(commands, claims, strict=True)))
        assert isinstance(answers[1], IdempotencyKeyTaken)
        assert not isinstance(answers[0], Exception) and not isinstance(answers[2], Exception)
        assert [c.written for c in claims] == [True, False, True]
        paid = [ledger.state(f"a{i}")["balance"]["paid"] for i in range(3)]
        assert paid == ["5.00", "0.00", "5.00"]
        assert store.peek("k", "pay-a0", b"p", now + 1).state is ClaimState.IN_FLIGHT
        assert store.peek("k", "pay-a1", b"other", now + 1).state is ClaimState.IN_FLIGHT
    finally:
        ledger.close()
