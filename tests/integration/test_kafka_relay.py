"""The Kafka gateway on a real broker: every stored event on the topic exactly once, in
order per aggregate, whatever happens to the gateway or the broker."""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import Backend
from kafka import KafkaConsumer, TopicPartition
from ledger_kit import TEST_MASTER_KEY, open_ledger

from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from infra.messaging.relay import KafkaRelay, KafkaSettings, TopicLostError, partition_for
from infra.tools.local_broker import Broker

ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-01-05T09:00:00Z"
TOPIC = "subledger.events"
NAME = "Ottoline Quarrington-Vex"  # a distinctive name and email: never on the topic
EMAIL = "ottoline.qv@example.test"


def do(ledger: Ledger, command: str, at: str = T0, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def customers(ledger: Ledger, first: int, count: int) -> None:
    """Registration, a card subscription (collected at once) and a manual payment each."""
    for n in range(first, first + count):
        ref = f"c{n:04d}"
        do(ledger, "register_account", account=ref, name=f"{NAME} {n}", email=f"{n}.{EMAIL}")
        do(ledger, "subscribe", account=ref, plan="basic", term="monthly", payment_method="card")
        do(ledger, "record_payment", account=ref, amount="1.00", reference=f"r{n}")


def read_topic(bootstrap: str, topic: str = TOPIC) -> list[Any]:
    """Everything on the topic, as a plain consumer (no group) reads it."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=5,
        auto_offset_reset="earliest",
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning()
        records: list[Any] = []
        quiet = 0
        while quiet < 3:
            batch = consumer.poll(timeout_ms=200)
            quiet = 0 if batch else quiet + 1
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        consumer.close()


def stored(ledger: Ledger) -> list[Any]:
    return list(ledger.app.recorder.select_notifications(1, 1_000_000))


def assert_exactly_once_in_order(ledger: Ledger, records: list[Any], partitions: int) -> None:
    """Every stored event once; each aggregate's events in one partition, in version
    order; the CloudEvents envelope is whole; no personal data."""
    events = stored(ledger)
    documents = [orjson.loads(r.value) for r in records]
    ids = [d["id"] for d in documents]
    assert len(ids) == len(set(ids)), "an event was published twice"
    assert set(ids) == {f"{n.originator_id}:{n.originator_version}" for n in events}
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for record, document in zip(records, documents, strict=True):
        assert record.key == document["subject"].encode() == document["partitionkey"].encode()
        assert record.partition == partition_for(record.key, partitions)
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
        assert int(dict(record.headers)["subledger-position"]) == document["position"]
        assert document["specversion"] == "1.0" and document["source"]
        assert document["type"].startswith("subledger.") and document["time"].endswith("Z")
        by_key[document["subject"]].append(
            (record.partition, record.offset, document["streamversion"])
        )
        assert NAME.encode() not in record.value and EMAIL.encode() not in record.value
    for key, seen in by_key.items():
        assert len({p for p, _, _ in seen}) == 1, key
        in_offset_order = [v for _, _, v in sorted(seen)]
        assert in_offset_order == list(range(1, len(seen) + 1)), key


def settings(broker: Broker, partitions: int = 4) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap, partitions=partitions, request_timeout_ms=2000
    )


def publish(ledger: Ledger, broker: Broker) -> int:
    """One relay pass: connect (reading the partitions' tails), publish, close."""
    relay = KafkaRelay(ledger.app.recorder, ledger.store, settings(broker))
    relay.connect()
    try:
        return relay.publish_pending()
    finally:
        relay.close()


# ================================================================ end to end
def test_every_stored_event_reaches_the_topic_once_in_order(
    backend: Backend, broker: Broker
) -> None:
    ledger = open_ledger(backend.database("relay"))
    customers(ledger, 0, 12)
    relay = KafkaRelay(ledger.app.recorder, ledger.store, settings(broker))
    relay.connect()
    first = relay.publish_pending()
    assert first == len(stored(ledger))
    customers(ledger, 12, 3)
    assert relay.publish_pending() == len(stored(ledger)) - first
    assert relay.publish_pending() == 0  # nothing twice
    relay.close()
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


def test_a_restarted_relay_resumes_from_what_the_topic_holds(
    tmp_path: Path, broker: Broker
) -> None:
    """The relay's own position is behind (it crashed after sending, before recording):
    it reads the partitions' last positions and sends nothing twice."""
    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 10)
    publish(ledger, broker)
    ledger.store.reset_position(KafkaRelay.name)  # as if that record never happened
    customers(ledger, 10, 2)
    again = KafkaRelay(ledger.app.recorder, ledger.store, settings(broker))
    again.connect()
    again.publish_pending()
    again.close()
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


# ================================================================ crashes
def _config(tmp_path: Path, backend: Backend, broker: Broker) -> Path:
    db = backend.database("crash")
    open_ledger(db).close()
    path = tmp_path / "relay.toml"
    database = f'database = "{db.path}"' if db.is_sqlite else f'database_url = "{db.url()}"'
    (tmp_path / "relay.key").write_text(base64.b64encode(TEST_MASTER_KEY).decode())
    path.write_text(
        f'[ledger]\n{database}\nprofile = "monthly-autorenew"\n'
        'master_key_file = "relay.key"\n'
        '[catalog.basic]\nmonthly = "29.00"\nannual = "290.00"\n'
        f'[kafka]\nbootstrap_servers = "{broker.bootstrap}"\npartitions = 4\n'
    )
    return path


def _relay_process(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.entrypoints.cli", "--config", str(config), "relay", *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "SUBLEDGER_LOG_LEVEL": "warning"},
    )


def test_relay_killed_20_times_while_events_are_written(
    backend: Backend, broker: Broker, tmp_path: Path
) -> None:
    """Issue 5 crash test: SIGKILL at random points, 20 times, while commands run; a plain
    consumer then finds every stored event exactly once, in order per account."""
    config = _config(tmp_path, backend, broker)
    from infra.application.bootstrap import build_ledger
    from infra.config import load_config

    ledger = build_ledger(load_config(config))
    rng = random.Random(5)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        n = 0
        while not stop.is_set():
            customers(ledger, n, 1)
            n += 1
            written[0] = n

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(20):
            relay = _relay_process(config)
            time.sleep(rng.uniform(0.3, 1.5))
            relay.send_signal(signal.SIGKILL)
            relay.wait()
    finally:
        stop.set()
        thread.join()
    final = _relay_process(config, "--once")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]
    assert written[0] > 10
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


# ================================================================ the broker fails
def test_broker_outage_is_ridden_out_with_no_gap_and_no_duplicate(
    tmp_path: Path, broker: Broker
) -> None:
    """Issue 5: the broker frozen (SIGSTOP keeps its memory) while commands go on; the
    relay backs off, logs the outage once, and catches up with no gap and no duplicate."""
    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 5)
    relay = KafkaRelay(ledger.app.recorder, ledger.store, settings(broker))
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            relay.run(stop, idle_seconds=0.05)
        except BaseException as e:
            failures.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    _wait_for(lambda: (ledger.store.max_tracking_id(KafkaRelay.name) or 0) >= len(stored(ledger)))
    broker.freeze()
    customers(ledger, 5, 10)  # written while the broker is cut off
    time.sleep(6)  # longer than the relay's request timeout: it notices
    broker.thaw()
    _wait_for(
        lambda: (ledger.store.max_tracking_id(KafkaRelay.name) or 0) >= stored(ledger)[-1].id,
        timeout=60,
    )
    stop.set()
    thread.join(timeout=30)
    assert failures == []
    assert relay.outages == 1
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


def test_a_broker_that_lost_the_topic_stops_the_relay_until_republished(
    tmp_path: Path, broker: Broker
) -> None:
    """Issue 5: the broker restarted empty; the relay finds the topic holds less than it
    published and stops (exit 3, saying what to do) instead of carrying on with a hole;
    `subledger relay --republish` rebuilds the topic from the event store."""
    config = _config(tmp_path, Backend("sqlite", tmp_path), broker)
    from infra.application.bootstrap import build_ledger
    from infra.config import load_config

    ledger = build_ledger(load_config(config))
    customers(ledger, 0, 6)
    first = _relay_process(config, "--once")
    assert first.wait(timeout=60) == 0
    broker.restart_empty()
    customers(ledger, 6, 2)
    stopped = _relay_process(config)
    _, err = stopped.communicate(timeout=60)
    assert stopped.returncode == 3
    assert b"--republish" in err and b"subledger.events" in err
    assert read_topic(broker.bootstrap) == []  # it did not carry on with nothing
    with pytest.raises(TopicLostError):  # the same answer through the API
        KafkaRelay(ledger.app.recorder, ledger.store, settings(broker)).connect()
    again = _relay_process(config, "--republish")
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()[-2000:]
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


# ================================================================ interoperability
def test_a_native_client_reads_valid_cloudevents(tmp_path: Path, broker: Broker) -> None:
    """librdkafka (confluent-kafka), not kafka-python, reads the topic: keys, headers
    and CloudEvents JSON as documented."""
    import confluent_kafka as confluent

    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 3)
    publish(ledger, broker)
    consumer = confluent.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "interop",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    messages = []
    try:  # partitions assigned directly: a plain reader, no group to join
        consumer.assign(
            [confluent.TopicPartition(TOPIC, p, confluent.OFFSET_BEGINNING) for p in range(4)]
        )
        deadline = time.monotonic() + 30
        while len(messages) < len(stored(ledger)) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    assert len(messages) == len(stored(ledger))
    for message in messages:
        document = orjson.loads(message.value())
        headers = dict(message.headers())
        assert headers["content-type"] == b"application/cloudevents+json"
        assert message.key().decode() == document["subject"]
        assert {"specversion", "id", "source", "type", "time", "data"} <= set(document)
    types = {orjson.loads(m.value())["type"] for m in messages}
    assert "subledger.account.Registered.v1" in types
    ledger.close()


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_second_relay_stands_by_and_takes_over_when_the_first_dies(
    backend: Backend, broker: Broker, tmp_path: Path
) -> None:
    """One active relay per ledger: the second waits on the lock (logged), and takes over
    within moments of the first one's SIGKILL; still every event once, in order."""
    config = _config(tmp_path, backend, broker)
    from infra.application.bootstrap import build_ledger
    from infra.config import load_config

    ledger = build_ledger(load_config(config))
    customers(ledger, 0, 3)
    first = _relay_process(config)
    _wait_for(lambda: (ledger.store.max_tracking_id(KafkaRelay.name) or 0) >= stored(ledger)[-1].id)
    second = _relay_process(config)
    time.sleep(2.0)
    first.send_signal(signal.SIGKILL)
    first.wait()
    customers(ledger, 3, 3)  # only the second relay can publish these
    _wait_for(lambda: (ledger.store.max_tracking_id(KafkaRelay.name) or 0) >= stored(ledger)[-1].id)
    second.send_signal(signal.SIGTERM)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err.decode()[-2000:]
    assert b"another relay is active; standing by" in err
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()


def test_an_erasure_puts_a_tombstone_on_the_compacted_subjects_topic(
    tmp_path: Path, broker: Broker
) -> None:
    """Issue 6 on Kafka: downstream services learn to delete their copies: the erased
    account's key with no value on `subledger.subjects`; other accounts get none."""
    ledger = open_ledger(tmp_path / "l.db")
    customers(ledger, 0, 2)
    do(ledger, "request_data_deletion", "2026-01-06T09:00:00Z", account="c0001")
    ledger.tick(parse_instant("2026-02-06T00:00:00Z"))  # GDPR-1: erased by the deadline
    publish(ledger, broker)
    tombstones = read_topic(broker.bootstrap, "subledger.subjects")
    erased = str(ledger.account("c0001").id).encode()
    assert [(r.key, r.value) for r in tombstones] == [(erased, None)]
    assert dict(tombstones[0].headers)["subledger-erased"] == b"personal-data"
    publish(ledger, broker)  # a second pass sends nothing again
    assert len(read_topic(broker.bootstrap, "subledger.subjects")) == 1
    assert_exactly_once_in_order(ledger, read_topic(broker.bootstrap), 4)
    ledger.close()
