"""Issue 13, Why 6: settings the process environment must not change behind the ledger's
back, and event identities that stay unique across ledgers.

- eventsourcing reads its settings from the environment too (also prefixed with the
  application's name): `POSTGRES_ENABLE_DB_FUNCTIONS=y` silently switched to an insert
  path that writes no hash chain, no deadlines and no keys; `SUBLEDGER_SQLITE_DBNAME`
  or `SUBLEDGER_POSTGRES_SCHEMA` would point the event store elsewhere than the config
  says. The ledger's settings are pinned (infra/application/handlers.py, infra/persistence/database.py).
- CloudEvents `source` + `id` identify an event; every ledger had the same default
  source, so two ledgers' first events collided. The default is now the ledger's own id,
  and a configured `[kafka] source` must be a URI.
"""

from __future__ import annotations

import pytest
from backends import Backend
from ledger_kit import open_ledger

from domain.calendar import parse_instant
from domain.errors import Rejected
from infra.application.ledger import Ledger
from infra.config import parse_kafka
from infra.interface.vocabulary import parse_command
from infra.messaging.cloudevents import envelope
from infra.messaging.relay import KafkaRelay, KafkaSettings

T0 = "2026-01-05T09:00:00Z"


def customers(ledger: Ledger) -> None:
    for ref in ("acme", "beta"):
        ledger.execute(
            parse_command(
                "register_account",
                {"account": ref, "name": ref.title(), "email": f"{ref}@example.com"},
                parse_instant(T0),
            )
        )
        ledger.execute(
            parse_command(
                "subscribe",
                {"account": ref, "plan": "basic", "term": "monthly", "payment_method": "card"},
                parse_instant(T0),
            )
        )


def test_the_environment_cannot_switch_the_event_stores_settings(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name, value in {
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "SUBLEDGER_POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "SUBLEDGER_SQLITE_DBNAME": "/nonexistent/elsewhere.db",
        "SUBLEDGER_POSTGRES_SCHEMA": "elsewhere",
        "SUBLEDGER_CREATE_TABLE": "no",
    }.items():
        monkeypatch.setenv(name, value)
    ledger = open_ledger(backend.database("pinned"))
    try:
        customers(ledger)
        checked, broken = ledger.verify()
        assert broken is None and checked == ledger.app.recorder.max_notification_id() > 0
        with ledger.store.transaction(commit=False) as c:  # written with the events
            c.execute(ledger.store.dialect("SELECT COUNT(*) AS n FROM {t:event_chain}"))
            assert int(c.fetchone()["n"]) == checked
            c.execute(ledger.store.dialect("SELECT COUNT(*) AS n FROM {t:deadlines}"))
            assert int(c.fetchone()["n"]) == 2
            c.execute(ledger.store.dialect("SELECT COUNT(*) AS n FROM {t:subject_keys}"))
            assert int(c.fetchone()["n"]) == 4  # contact and invoice identity, each
    finally:
        ledger.close()


def test_two_ledgers_never_publish_the_same_source_and_id(backend: Backend) -> None:
    first, second = (open_ledger(backend.database(name)) for name in ("one", "two"))
    try:
        for ledger in (first, second):
            customers(ledger)
        documents = []
        for ledger in (first, second):
            relay = KafkaRelay(
                ledger.app.recorder, ledger.store, KafkaSettings(bootstrap_servers="127.0.0.1:9")
            )
            assert relay.source.startswith("urn:subledger:")
            [notification] = ledger.app.recorder.select_notifications(1, 1)
            documents.append(envelope(notification, relay.source))
        assert documents[0]["id"] == documents[1]["id"]  # the same account, version 1 ...
        assert documents[0]["source"] != documents[1]["source"]  # ... of another ledger
        again = KafkaRelay(
            first.app.recorder, first.store, KafkaSettings(bootstrap_servers="127.0.0.1:9")
        )
        assert again.source == documents[0]["source"]  # stable: republishing dedupes
        configured = KafkaRelay(
            first.app.recorder,
            first.store,
            KafkaSettings(bootstrap_servers="127.0.0.1:9", source="urn:subledger:billing-eu"),
        )
        assert configured.source == "urn:subledger:billing-eu"
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("source", "accepted"),
    [
        ("urn:subledger:billing-eu", True),
        ("https://billing.example.com/ledger", True),
        ("/ledgers/eu", True),
        ("", False),
        ("billing eu", False),
        ("not a uri", False),
        ("ledger", False),  # relative: says nothing about who sent it
        ("urn:x:" + "a" * 300, False),
        ("urn:subledger:\u0000", False),
        (42, False),
    ],
)
def test_a_configured_cloudevents_source_must_be_a_uri(source: object, accepted: bool) -> None:
    table = {"bootstrap_servers": "kafka:9092", "source": source}
    if accepted:
        assert parse_kafka(table, None)["source"] == source  # type: ignore[index]
    else:
        with pytest.raises(Rejected) as caught:
            parse_kafka(table, None)
        assert caught.value.field == "kafka.source"
