"""Issue 13: the Kafka relay is a consumer of the log too. An event it cannot encode stops
it on that event, recorded like a read model's failure (everything before it is on the
topic), instead of a crash that repeats at every start; a recorded skip lets it go on.
Before: a traceback at every start, and nothing named the event."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest
from backends import Backend
from eventsourcing.persistence import StoredEvent
from ledger_kit import open_ledger
from test_kafka_relay import customers, read_topic, stored

from infra.messaging.relay import KafkaRelay, KafkaSettings
from infra.tools.local_broker import Broker
from projections.isolation import ReadModelHaltedError


def test_the_relay_stops_on_an_event_it_cannot_encode_until_it_is_skipped(
    backend: Backend, broker: Broker
) -> None:
    ledger = open_ledger(backend.database("relay"))
    try:
        customers(ledger, 0, 2)
        before = len(stored(ledger))
        ledger.app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=uuid4(),
                    originator_version=1,
                    state=b"\x00 not an event",
                    topic="domain.account:Account.PaymentReceived",
                )
            ]
        )
        position = before + 1
        customers(ledger, 2, 1)  # the ledger goes on; the account views stop on it
        assert [s.name for s in ledger.store.isolation.skip(position, "unreadable")] == ["accounts"]
        relay = KafkaRelay(
            ledger.app.recorder,
            ledger.store,
            KafkaSettings(
                bootstrap_servers=broker.bootstrap, partitions=2, request_timeout_ms=2000
            ),
        )
        relay.connect()
        try:
            with pytest.raises(ReadModelHaltedError) as caught:
                relay.publish_pending()
            [failure] = caught.value.failures
            assert (failure.name, failure.position) == ("kafka_relay", position)
            assert [f.name for f in ledger.halted()] == ["kafka_relay"]
            published = [orjson.loads(r.value)["position"] for r in read_topic(broker.bootstrap)]
            assert sorted(published) == list(range(1, before + 1))  # all before it, once
            with pytest.raises(ReadModelHaltedError):  # stopped: not tried again
                relay.publish_pending()

            assert [
                s.name
                for s in ledger.store.isolation.skip(
                    position, "written by hand; nothing downstream may read it"
                )
            ] == ["kafka_relay"]
            assert relay.publish_pending() == len(stored(ledger)) - before - 1
        finally:
            relay.close()
        published = sorted(orjson.loads(r.value)["position"] for r in read_topic(broker.bootstrap))
        assert published == [n.id for n in stored(ledger) if n.id != position]
        assert ledger.halted() == []
    finally:
        ledger.close()
