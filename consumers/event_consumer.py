"""Consuming the ledger's topic: the loop every downstream reaction shares.

Like quix-streams' consumers: a message that cannot be decoded is a *bad message* and
goes to the dead-letter topic at once; a message whose processing fails is retried
`max_tries` times, then dead-lettered with the error; either way the consumer keeps going
for the other accounts. Offsets are committed only after the effects of the records
before them are durable (handlers make their effect durable before returning), so a
crash redelivers, and handlers ignore what they have already done (CloudEvents `id`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

log = structlog.get_logger("subledger.consumer")
REQUIRED = ("specversion", "id", "source", "type", "subject", "streamversion", "data")


class BadMessageError(Exception):
    """Not a ledger CloudEvent: no retry can help."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    name: str  # the event class name: PaymentReceived
    subject: str  # the aggregate id, also the Kafka key
    version: int  # the aggregate's version after this event
    position: int
    time: str
    data: dict[str, Any]

    @classmethod
    def decode(cls, value: bytes | None) -> CloudEvent:
        try:
            document = orjson.loads(value or b"")
        except orjson.JSONDecodeError as e:
            raise BadMessageError(f"not JSON: {e}") from None
        if not isinstance(document, dict) or any(k not in document for k in REQUIRED):
            raise BadMessageError(
                "not a CloudEvent of the ledger: missing "
                f"{[k for k in REQUIRED if k not in (document or {})]}"
            )
        parts = str(document["type"]).split(".")
        if len(parts) != 4 or parts[0] != "subledger":  # subledger.account.Name.v1
            raise BadMessageError(f"unknown event type {document['type']!r}")
        return cls(
            id=str(document["id"]),
            type=str(document["type"]),
            name=parts[2],
            subject=str(document["subject"]),
            version=int(document["streamversion"]),
            position=int(document.get("position", 0)),
            time=str(document.get("time")),
            data=dict(document["data"]),
        )


class Handler(Protocol):
    name: str  # the consumer group

    def handle(self, event: CloudEvent) -> None:
        """Make the effect durable; a redelivered event must change nothing."""


@dataclass(frozen=True)
class ConsumerSettings:
    bootstrap_servers: str
    topic: str = "subledger.events"
    max_tries: int = 3
    retry_pause: float = 0.05

    @property
    def dead_letter_topic(self) -> str:
        return self.topic + ".dlq"


class EventConsumer:
    def __init__(self, settings: ConsumerSettings, handler: Handler) -> None:
        self.settings = settings
        self.handler = handler
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None
        self.dead_lettered = 0

    def _connect(self) -> None:
        servers = self.settings.bootstrap_servers.split(",")
        self.consumer = KafkaConsumer(
            self.settings.topic,
            bootstrap_servers=servers,
            group_id=self.handler.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
        )
        self.producer = KafkaProducer(bootstrap_servers=servers, acks="all")

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
        if self.producer is not None:
            self.producer.close(timeout=2)
        self.consumer = self.producer = None

    def poll_once(self, timeout_ms: int = 200) -> int:
        """Handle what one poll brings, then commit; returns how many records."""
        if self.consumer is None:
            self._connect()
        assert self.consumer is not None
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        handled = 0
        for records in batch.values():
            for record in records:
                self._one(record)
                handled += 1
        if handled:
            assert self.producer is not None
            self.producer.flush()  # dead letters are durable before the offsets move
            self.consumer.commit()
        return handled

    def _one(self, record: Any) -> None:
        try:
            event = CloudEvent.decode(record.value)
        except BadMessageError as e:
            self._dead_letter(record, "bad_message", str(e))
            return
        error: Exception | None = None
        for attempt in range(self.settings.max_tries):
            try:
                self.handler.handle(event)
                return
            except Exception as e:
                error = e
                time.sleep(self.settings.retry_pause * (attempt + 1))
        self._dead_letter(record, "processing_failed", f"{type(error).__name__}: {error}")

    def _dead_letter(self, record: Any, kind: str, message: str) -> None:
        assert self.producer is not None
        log.warning(
            "dead-lettered",
            consumer=self.handler.name,
            kind=kind,
            error=message,
            partition=record.partition,
            offset=record.offset,
        )
        headers = [
            *(record.headers or []),
            ("dlq-kind", kind.encode()),
            ("dlq-error", message.encode()[:1000]),
            ("dlq-consumer", self.handler.name.encode()),
            ("dlq-origin", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        self.producer.send(
            self.settings.dead_letter_topic, key=record.key, value=record.value, headers=headers
        )
        self.dead_lettered += 1

    def run(self, stop: threading.Event, on_handled: Callable[[int], None] | None = None) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                count = self.poll_once()
                backoff = 0.2
                if count and on_handled is not None:
                    on_handled(count)
            except KafkaError as e:
                log.warning("kafka unavailable", consumer=self.handler.name, error=str(e))
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.close()
