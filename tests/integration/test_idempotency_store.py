"""The idempotency keys' store (infra/api/idempotency.py), on both stores."""

from __future__ import annotations

import time

from backends import Backend
from ledger_kit import open_ledger

from infra.api.idempotency import ClaimState, IdempotencyStore, StoredResponse, fingerprint


def test_the_idempotency_store_claims_replays_and_takes_over_a_dead_claim(
        backend: Backend) -> None:
    """The states a retry can meet, some of which HTTP cannot show on demand: a first
    request still running (409 for the retry), one whose process died (taken over)."""
    ledger = open_ledger(backend.database())
    try:
        store = IdempotencyStore(ledger.app.factory.datastore, ledger.store.dialect)
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
