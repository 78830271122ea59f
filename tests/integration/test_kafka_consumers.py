"""Downstream reactions through the real broker: the entitlement cache, redelivery, and
the dead-letter topic."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from ledger_kit import open_ledger
from test_kafka_relay import customers, do, publish, read_topic

from consumers.entitlement_cache import ACCESS_KEYS, EntitlementCache
from consumers.event_consumer import CloudEvent, ConsumerSettings, EventConsumer
from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.tools.local_broker import Broker

LATER = parse_instant("2026-03-20T00:00:00Z")


def lifecycle(ledger: Ledger) -> None:
    """Customers whose access differs: paid, cancelled, unpaid and suspended, trials."""
    customers(ledger, 0, 4)
    do(ledger, "request_cancellation", "2026-01-10T00:00:00Z", account="c0001")
    do(
        ledger,
        "register_account",
        "2026-01-10T00:00:00Z",
        account="late",
        name="L",
        email="late@example.test",
    )
    do(
        ledger,
        "subscribe",
        "2026-01-10T00:00:00Z",
        account="late",
        plan="basic",
        term="monthly",
        payment_method="bank_transfer",
    )
    do(
        ledger,
        "register_account",
        "2026-01-10T00:00:00Z",
        account="tri",
        name="T",
        email="tri@example.test",
    )
    do(ledger, "start_trial", "2026-01-10T00:00:00Z", account="tri", plan="basic")
    ledger.tick(LATER)


def projected_access(ledger: Ledger) -> dict[str, Any]:
    return {
        ref: {k: ledger.state(ref, as_of=LATER)[k] for k in ACCESS_KEYS}
        for ref in ledger.store.refs()
    }


def test_entitlement_cache_follows_the_topic_to_the_projections_answer(
    tmp_path: Path, broker: Broker
) -> None:
    """End to end: commands -> event store -> relay -> broker -> consumer -> cache."""
    ledger = open_ledger(tmp_path / "l.db")
    lifecycle(ledger)
    publish(ledger, broker)
    cache = EntitlementCache(tmp_path / "cache.db")
    consumer = EventConsumer(ConsumerSettings(broker.bootstrap), cache)
    total = len(read_topic(broker.bootstrap))
    handled = 0
    deadline = time.monotonic() + 60
    while handled < total and time.monotonic() < deadline:
        handled += consumer.poll_once()
    consumer.close()
    assert handled == total
    expected = projected_access(ledger)
    assert {ref: cache.access(ref, LATER) for ref in cache.refs()} == expected
    statuses = {v["status"] for v in expected.values()}
    assert "active" in statuses and len(statuses) >= 3, statuses  # access differs
    cache.close()
    ledger.close()


def test_every_message_twice_and_out_of_order_leaves_the_cache_equal_to_the_projection(
    tmp_path: Path, broker: Broker
) -> None:
    ledger = open_ledger(tmp_path / "l.db")
    lifecycle(ledger)
    publish(ledger, broker)
    events = [CloudEvent.decode(r.value) for r in read_topic(broker.bootstrap)]
    deliveries = events * 2
    random.Random(11).shuffle(deliveries)
    cache = EntitlementCache(tmp_path / "cache.db")
    for event in deliveries:
        cache.handle(event)
    assert {ref: cache.access(ref, LATER) for ref in cache.refs()} == projected_access(ledger)
    cache.close()
    ledger.close()


class FlakyCache(EntitlementCache):
    """A downstream whose effect fails for one account, every time."""

    def __init__(self, path: Path, broken: str) -> None:
        super().__init__(path)
        self.broken = broken
        self.tries = 0

    def handle(self, event: CloudEvent) -> None:
        if event.subject == self.broken:
            self.tries += 1
            raise RuntimeError("the downstream store refused it")
        super().handle(event)


def test_bad_and_failing_messages_go_to_the_dead_letter_topic_and_the_rest_goes_on(
    tmp_path: Path, broker: Broker
) -> None:
    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 3)
    publish(ledger, broker)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send("subledger.events", key=b"junk", value=b"{not json", partition=0)
    producer.flush()
    producer.close()
    broken = str(ledger.account("c0001").id)
    cache = FlakyCache(tmp_path / "cache.db", broken)
    settings = ConsumerSettings(broker.bootstrap, max_tries=3, retry_pause=0.001)
    consumer = EventConsumer(settings, cache)
    total = len(read_topic(broker.bootstrap))
    handled, deadline = 0, time.monotonic() + 60
    while handled < total and time.monotonic() < deadline:
        handled += consumer.poll_once()
    consumer.close()
    assert handled == total
    broken_events = sum(1 for r in read_topic(broker.bootstrap) if r.key == broken.encode())
    assert cache.tries == 3 * broken_events  # each retried, then parked
    dead = read_topic(broker.bootstrap, "subledger.events.dlq")
    kinds = sorted(dict(r.headers)["dlq-kind"].decode() for r in dead)
    assert kinds == ["bad_message"] + ["processing_failed"] * broken_events
    assert all(
        b"refused" in dict(r.headers)["dlq-error"]
        for r in dead
        if dict(r.headers)["dlq-kind"] == b"processing_failed"
    )
    assert sorted(cache.refs()) == ["c0000", "c0002"]  # the others went on
    again = EventConsumer(settings, cache)  # offsets were committed: nothing is redone
    assert sum(again.poll_once(timeout_ms=500) for _ in range(6)) == 0
    again.close()
    cache.close()
    ledger.close()


def test_a_consumer_in_a_thread_stops_cleanly(tmp_path: Path, broker: Broker) -> None:
    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 1)
    publish(ledger, broker)
    cache = EntitlementCache(tmp_path / "cache.db")
    consumer = EventConsumer(ConsumerSettings(broker.bootstrap), cache)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 60
    while cache.access("c0000") is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert cache.access("c0000", LATER)["plan"] == "basic"  # type: ignore[index]
    cache.close()
    ledger.close()


# SPEC 2.0 sections 10-11: every event the six new commands can record
NEW_EVENTS = {
    "PlanChanged",
    "PlanChangeScheduled",
    "ScheduledChangeRemoved",
    "ScheduledChangeApplied",
    "CancellationRevoked",
    "SuspendedByVendor",
    "ReinstatedByVendor",
    "TerminatedByVendor",
    "ExportWindowClosed",
    "LiquidatedDamagesCharged",
    "InvoiceAccelerated",
}


def lifecycle_2_0(ledger: Ledger) -> None:
    """annual-b2b customers through every new command (CHANGE-1..4, VENDOR-1..3)."""
    for ref, plan, method in (
        ("up", "basic", "card"),
        ("dn", "pro", "card"),
        ("rv", "basic", "card"),
        ("su", "basic", "card"),
        ("te", "basic", "bank_transfer"),
        ("np", "basic", "bank_transfer"),
    ):
        do(
            ledger,
            "register_account",
            "2026-01-05T09:00:00Z",
            account=ref,
            name=ref,
            email=f"{ref}@example.test",
        )
        do(
            ledger,
            "subscribe",
            "2026-01-05T09:00:00Z",
            account=ref,
            plan=plan,
            term="annual",
            payment_method=method,
        )
    do(ledger, "change_plan", "2026-01-25T00:00:00Z", account="np", plan="pro")
    do(ledger, "change_plan", "2026-02-01T00:00:00Z", account="dn", plan="basic")
    do(ledger, "request_cancellation", "2026-02-01T00:00:00Z", account="rv")
    do(ledger, "suspend_account", "2026-02-01T00:00:00Z", account="su", reason="check")
    do(
        ledger,
        "terminate_by_vendor",
        "2026-02-01T00:00:00Z",
        account="te",
        reason="breach",
        export_days=10,
    )
    do(ledger, "cancel_for_nonpayment", "2026-02-01T00:00:00Z", account="np")
    do(ledger, "change_plan", "2026-02-02T00:00:00Z", account="dn", plan="pro")
    do(ledger, "revoke_cancellation", "2026-02-02T00:00:00Z", account="rv")
    do(ledger, "change_plan", "2026-02-03T00:00:00Z", account="dn", plan="basic")
    do(ledger, "reinstate_account", "2026-02-05T00:00:00Z", account="su")
    do(ledger, "suspend_account", "2026-02-06T00:00:00Z", account="su", reason="again")
    do(ledger, "change_plan", "2026-03-01T00:00:00Z", account="up", plan="pro")
    ledger.tick(parse_instant("2027-01-10T00:00:00Z"))


def test_the_cache_agrees_with_the_projection_after_every_2_0_event(
    tmp_path: Path, broker: Broker
) -> None:
    """SPEC 2.0 on the topic: each new event arrives as `subledger.account.<Name>.v1`,
    and after every message, in log order, the cache built from the topic alone answers
    what the projection answers at that log position (status, plan, access, suspension,
    the scheduled change, the export window)."""
    ledger = open_ledger(tmp_path / "l.db", "annual-b2b")
    lifecycle_2_0(ledger)
    publish(ledger, broker)
    events = sorted(
        (CloudEvent.decode(r.value) for r in read_topic(broker.bootstrap)), key=lambda e: e.position
    )
    names = {e.name for e in events}
    assert names >= NEW_EVENTS, NEW_EVENTS - names
    assert all(e.type == f"subledger.account.{e.name}.v1" for e in events if e.name in NEW_EVENTS)
    cache = EntitlementCache(tmp_path / "cache.db")
    refs = {str(ledger.account(r).id): r for r in ledger.store.refs()}
    for event in events:
        cache.handle(event)
        if event.subject in refs:
            ref = refs[event.subject]
            at_position = ledger.state_at(ref, event.position, as_of=LATER)
            assert cache.access(ref, LATER) == {k: at_position[k] for k in ACCESS_KEYS}, (
                event.name,
                event.position,
            )
    final = {ref: cache.access(ref, LATER) for ref in cache.refs()}
    assert final == projected_access(ledger)
    assert {r: (a["status"], a["suspension"]) for r, a in final.items()} == {
        "up": ("active", None),
        "dn": ("active", None),
        "rv": ("active", None),
        "su": ("suspended", "vendor"),
        "te": ("ended", None),
        "np": ("ended", None),
    }
    assert (final["up"]["plan"], final["dn"]["plan"]) == ("pro", "basic")
    assert final["te"]["export_until"] == "2026-02-11T00:00:00Z"
    cache.close()
    ledger.close()
