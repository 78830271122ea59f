"""`subledger relay`: every stored event published to Kafka once, in order per aggregate.

The event store is the outbox: its notification log is read in position order and each
event becomes one CloudEvents message (infra/messaging/cloudevents.py), keyed by its aggregate id
and sent to a partition computed here (murmur2 of the key, as Java clients do), so one
account's events stay in one partition, in log order.

Exactly once on the topic, without Kafka transactions (a test broker that delivers
aborted messages to `read_committed` consumers could not prove them): one relay is
active per ledger; it sends with the idempotent producer, one request in flight per
connection, so each partition receives a prefix of its events in position order. Every
message carries its position in a header. Whenever the relay (re)connects, after a
crash, a broker outage or any failed send, it reads the last message of every partition
and resumes after the highest position each one holds: what reached the topic is never
sent again, what did not is sent now. Its tracking row records the position up to which
the topic is known to hold everything; if on reconnecting the topic holds less than
that (a broker that lost its data), the relay stops with `TopicLostError` instead of
carrying on with a hole; `--republish` rebuilds the topic from the event store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.partitioner.default import murmur2

from infra.messaging.cloudevents import POSITION_HEADER, encode
from projections.isolation import ReadModelHaltedError

log = structlog.get_logger("subledger.relay")
BATCH_SIZE = 500
# Bulk publishing (a backlog, `--republish`): fewer, larger requests, so the producer's
# sender thread wakes (and takes the GIL from the encoding) less often. A quiet relay
# is not delayed by them: each round ends with a flush, which does not linger.
PRODUCER_TUNING: dict[str, Any] = {"linger_ms": 10, "batch_size": 64 * 1024}
KEY_CACHE = 100_000  # accounts whose key and partition are kept (about 20 MB at most)
ERASURES = frozenset(
    {"domain.account:Account.PersonalDataErased", "domain.account:Account.PersonalDataAnonymised"}
)
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic: str = "subledger.events"
    partitions: int = 8
    # CloudEvents `source`; None: `urn:subledger:<this ledger's id>`, so that `source`
    # plus `id` stays unique across ledgers sharing a broker (see `ledger_identity`)
    source: str | None = None
    request_timeout_ms: int = 5000
    subjects_topic: str = "subledger.subjects"  # compacted: erasure tombstones (GDPR)

    def client_options(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "request_timeout_ms": self.request_timeout_ms,
        }


def default_source(store: Any) -> str:
    """This ledger's CloudEvents source: its identity, made when its schema was made."""
    from infra.persistence.meta import ledger_identity

    return f"urn:subledger:{ledger_identity(store)}"


@dataclass(frozen=True)
class _Sent:
    """A batch handed to the producer: its (partition, position, future) per message,
    the position the topic holds everything up to once they are acknowledged, and the
    event that could not be encoded, if one stopped the batch."""

    futures: list[tuple[int, int, Any]]
    reached: int
    failed: tuple[Notification, Exception] | None


class TopicLostError(Exception):
    """The topic holds less than the relay knows it published."""


def partition_for(key: bytes, partitions: int) -> int:
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class KafkaRelay:
    name = "kafka_relay"

    def __init__(self, recorder: Any, store: Any, settings: KafkaSettings) -> None:
        self.recorder = recorder  # the application recorder: the notification log
        self.store = store  # the tracking rows
        self.settings = settings
        self.source = settings.source or default_source(store)
        self.producer: KafkaProducer | None = None
        self.partitions = settings.partitions
        self.tails: dict[int, int] = {}  # partition -> highest position it holds
        self._keys: dict[Any, tuple[str, bytes, int]] = {}  # aggregate id -> key, partition
        self.sent = 0
        self.outages = 0  # how many times the broker became unreachable (each logged once)

    # ---------------------------------------------------------------- topic state
    def _admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(client_id="subledger-relay-admin", **self.settings.client_options())

    def _partition_count(self) -> int | None:
        # no group: nothing to commit (said, so kafka-python does not warn about it)
        consumer = KafkaConsumer(enable_auto_commit=False, **self.settings.client_options())
        try:
            found = consumer.partitions_for_topic(self.settings.topic)
        finally:
            consumer.close()
        return len(found) if found else None

    def ensure_topic(self) -> None:
        count = self._partition_count()
        if count is None:
            if (self.store.max_tracking_id(self.name) or 0) > 0:
                raise TopicLostError(
                    f"topic {self.settings.topic} is gone, but events up to position "
                    f"{self.store.max_tracking_id(self.name)} were published to it; "
                    "run `subledger relay --republish` to rebuild it from the event store"
                )
            self._create(NewTopic(self.settings.topic, self.settings.partitions, 1))
            count = self._partition_count() or self.settings.partitions
        self.partitions = count
        self._keys.clear()
        self._create(
            NewTopic(
                self.settings.subjects_topic,
                self.settings.partitions,
                1,
                topic_configs={"cleanup.policy": "compact"},
            )
        )

    def _create(self, topic: NewTopic) -> None:
        admin = self._admin()
        try:
            admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()

    def read_tails(self) -> dict[int, int]:
        """The highest position in each partition: read from the last offset forward
        until nothing more comes (a batch may hold several messages)."""
        consumer = KafkaConsumer(
            enable_auto_commit=False, fetch_max_wait_ms=5, **self.settings.client_options()
        )
        tails = dict.fromkeys(range(self.partitions), 0)
        try:
            tps = [TopicPartition(self.settings.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            ends = consumer.end_offsets(tps)
            for tp in tps:
                consumer.seek(tp, max(ends[tp] - 1, 0))
            quiet = 0
            while quiet < 2:
                batch = consumer.poll(timeout_ms=200)
                quiet = 0 if batch else quiet + 1
                for records in batch.values():
                    for record in records:
                        position = dict(record.headers).get(POSITION_HEADER)
                        if position is not None:
                            tails[record.partition] = max(tails[record.partition], int(position))
        finally:
            consumer.close()
        return tails

    def _check_not_lost(self) -> None:
        tracked = self.store.max_tracking_id(self.name) or 0
        if not tracked:
            return
        last = self.recorder.select_notifications(tracked, 1, stop=tracked)
        if not last:
            return
        partition = partition_for(str(last[0].originator_id).encode(), self.partitions)
        if self.tails.get(partition, 0) < tracked:
            raise TopicLostError(
                f"topic {self.settings.topic} holds events up to position "
                f"{self.tails.get(partition, 0)} in partition {partition}, but position "
                f"{tracked} was published there; the broker lost data. Run `subledger relay "
                "--republish` to rebuild the topic from the event store"
            )

    # ---------------------------------------------------------------- publishing
    def connect(self) -> None:
        """(Re)start from what the topic holds: the heart of exactly-once."""
        self.close()
        self.ensure_topic()
        self.tails = self.read_tails()
        self._check_not_lost()
        self.producer = KafkaProducer(
            enable_idempotence=True,
            acks="all",
            max_in_flight_requests_per_connection=1,
            retries=3,
            **PRODUCER_TUNING,
            delivery_timeout_ms=max(self.settings.request_timeout_ms * 2, 10_000),
            **self.settings.client_options(),
        )

    def close(self) -> None:
        if self.producer is not None:
            with contextlib.suppress(Exception):
                self.producer.close(timeout=1)
            self.producer = None

    def publish_pending(self) -> int:
        """Publish every stored event the topic does not hold yet; returns how many.
        An event that cannot be encoded stops the relay on it, recorded like a read
        model's failure (projections/isolation.py): `ReadModelHaltedError`, until an
        operator skips it (`subledger project --skip`) or a fix clears it (`--rebuild`).

        Pipelined: a batch is read, encoded and handed to the producer while the one
        before it is still on its way; the position is stored for a batch once the
        broker has acknowledged all of it (and all before it), never earlier. Flushing
        each batch before reading the next left the sender idle half the time."""
        assert self.producer is not None, "connect() first"
        halted = self.store.isolation.halted(self.name)
        if halted is not None:
            raise ReadModelHaltedError([halted])
        published = 0
        start = (self.store.max_tracking_id(self.name) or 0) + 1
        in_flight: _Sent | None = None
        while True:
            batch = self.recorder.select_notifications(start, BATCH_SIZE)
            if not batch:
                break
            sent = self._send(batch)
            if in_flight is not None:
                published += self._settle(in_flight)
            in_flight = sent
            if sent.failed is not None:
                break
            start = batch[-1].id + 1
        if in_flight is not None:
            self.producer.flush(timeout=self._wait_seconds)
            published += self._settle(in_flight)
        return published

    @property
    def _wait_seconds(self) -> float:
        return self.settings.request_timeout_ms / 1000 * 3

    def _partitioned(self, notification: Notification) -> tuple[str, bytes, int]:
        """The message key (as text and bytes) and partition of an event's aggregate:
        murmur2 in pure Python costs as much as the encoding, so computed once per
        account (the cache is dropped whenever the partition count is read again)."""
        found = self._keys.get(notification.originator_id)
        if found is None:
            if len(self._keys) >= KEY_CACHE:
                self._keys.clear()
            text = str(notification.originator_id)
            key = text.encode()
            found = self._keys[notification.originator_id] = (
                text,
                key,
                partition_for(key, self.partitions),
            )
        return found

    def _send(self, batch: Sequence[Notification]) -> _Sent:
        """Hand a batch to the producer (not waiting for the broker)."""
        assert self.producer is not None
        futures = []
        failed: tuple[Notification, Exception] | None = None
        tails, topic, send = self.tails, self.settings.topic, self.producer.send
        for notification in self.store.isolation.kept(self.name, batch):
            text, key, partition = self._partitioned(notification)
            if notification.id <= tails.get(partition, 0):
                continue  # already on the topic (sent before a crash or an outage)
            try:
                _, value, headers = encode(notification, self.source, text)
            except Exception as e:  # the event's bytes: nothing to send downstream
                failed = (notification, e)
                break
            if notification.topic in ERASURES:
                self._tombstone(key)
            future = send(topic, key=key, value=value, headers=headers, partition=partition)
            futures.append((partition, notification.id, future))
        reached = batch[-1].id if failed is None else failed[0].id - 1
        return _Sent(futures, reached, failed)

    def _settle(self, sent: _Sent) -> int:
        """Wait for the broker's acknowledgement of a batch, then store its position.
        A send that failed raises here (the caller reconnects and resumes from what the
        topic holds); what came before an event that could not be encoded is out, and
        the relay stops on that event."""
        for partition, position, future in sent.futures:
            future.get(timeout=self._wait_seconds)  # raises the send's error, if it failed
            if position > self.tails.get(partition, 0):
                self.tails[partition] = position
        with contextlib.suppress(IntegrityError):  # only ever moves forward
            if sent.reached > 0:
                self.store.insert_tracking(Tracking(self.name, sent.reached))
        self.sent += len(sent.futures)
        if sent.failed is not None:
            raise ReadModelHaltedError([self.store.isolation.halt(self.name, *sent.failed)])
        return len(sent.futures)

    def _tombstone(self, key: bytes) -> None:
        """GDPR: the subject's key with no value on the compacted subjects topic, so
        downstream services delete their copies (and compaction drops older records of
        the key). Sent and acknowledged before the erasure event itself: if the relay
        dies in between, the event is sent again and so is the (idempotent) tombstone."""
        assert self.producer is not None
        self.producer.send(
            self.settings.subjects_topic,
            key=key,
            value=None,
            partition=partition_for(key, self.partitions),
            headers=[("subledger-erased", b"personal-data")],
        ).get(timeout=self.settings.request_timeout_ms / 1000 * 3)

    def republish(self) -> int:
        """Rebuild the topic from the event store: delete it, forget the position,
        publish everything again."""
        admin = self._admin()
        try:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics([self.settings.topic])
        finally:
            admin.close()
        self.store.reset_position(self.name)
        deadline = time.monotonic() + 30
        while self._partition_count() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        self.connect()
        return self.publish_pending()

    # ---------------------------------------------------------------- the process
    def run(self, stop: threading.Event, *, idle_seconds: float = 0.2) -> None:
        """Publish until `stop`, riding out broker outages with backoff (logged once)."""
        backoff = BACKOFF_FIRST
        outage_since: float | None = None
        while not stop.is_set():
            try:
                if self.producer is None:
                    self.connect()
                count = self.publish_pending()
                if outage_since is not None:
                    log.warning(
                        "kafka reachable again",
                        topic=self.settings.topic,
                        down_seconds=round(time.monotonic() - outage_since, 1),
                    )
                    outage_since = None
                backoff = BACKOFF_FIRST
                if not count:
                    stop.wait(idle_seconds)
            except TopicLostError:
                self.close()
                raise
            except (KafkaError, OSError) as e:
                self.close()
                if outage_since is None:
                    outage_since = time.monotonic()
                    self.outages += 1
                    log.warning(
                        "kafka unavailable; retrying with backoff",
                        topic=self.settings.topic,
                        error=f"{type(e).__name__}: {e}",
                    )
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.close()
