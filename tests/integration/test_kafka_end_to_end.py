"""Commands -> event store -> relay -> broker -> each consumer -> its effect, all real:
the Tansu broker, an SMTP server (aiosmtpd), the ledger's database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from ledger_kit import CATALOG, TEST_MASTER_KEY
from test_kafka_relay import do, publish, read_topic

from consumers.collector import KafkaCollector
from consumers.entitlement_cache import ACCESS_KEYS, EntitlementCache
from consumers.event_consumer import CloudEvent, ConsumerSettings, EventConsumer, Handler
from consumers.notifier import NoticeDelivery
from consumers.payment_provider import SimulatedPaymentProvider
from consumers.ports import Email
from domain.calendar import parse_instant
from domain.profiles import BUILT_IN_PROFILES
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig
from infra.messaging.relay import KafkaRelay, KafkaSettings
from infra.messaging.smtp import SmtpEmail
from infra.tools.local_broker import Broker, free_port

WALL = datetime(2026, 11, 23, 12, tzinfo=UTC)  # the notifier's clock, injected


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, inbox
    controller.stop()


def test_the_smtp_adapter_delivers_to_a_real_server(smtp: tuple[str, int, Inbox]) -> None:
    host, port, inbox = smtp
    SmtpEmail(host, port, "billing@example.test").send(
        Email(
            to="ada@example.test",
            subject="Invoice 1",
            body="Hello",
            message_id="<a.1@example.test>",
        )
    )
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert (message["To"], message["Subject"], message["Message-ID"]) == (
        "ada@example.test",
        "Invoice 1",
        "<a.1@example.test>",
    )


def _ledger(tmp_path: Path, broker: Broker, provider: SimulatedPaymentProvider) -> Ledger:
    config = LedgerConfig(
        database=tmp_path / "l.db",
        profile=BUILT_IN_PROFILES["monthly-autorenew"],
        currency="EUR",
        catalog=CATALOG,
        kafka={"bootstrap_servers": broker.bootstrap, "collection": True},
        master_key=TEST_MASTER_KEY,
    )
    return build_ledger(config, provider)


def _running(
    target: Callable[[threading.Event], None],
    threads: list[tuple[threading.Thread, threading.Event]],
) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    threads.append((thread, stop))


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_commands_reach_every_consumer_through_the_broker(
    tmp_path: Path, broker: Broker, smtp: tuple[str, int, Inbox]
) -> None:
    host, port, inbox = smtp
    provider = SimulatedPaymentProvider()
    ledger = _ledger(tmp_path, broker, provider)
    provider.set_outcome("declined", "decline")
    threads: list[tuple[threading.Thread, threading.Event]] = []
    relay = KafkaRelay(
        ledger.app.recorder,
        ledger.store,
        KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=4),
    )
    settings = ConsumerSettings(broker.bootstrap)
    cache = EntitlementCache(tmp_path / "cache.db")
    handlers: list[Handler] = [
        KafkaCollector(ledger.app, provider),
        NoticeDelivery(
            ledger.app, SmtpEmail(host, port, "billing@example.test"), clock=lambda: WALL
        ),
        cache,
    ]
    consumers = [EventConsumer(settings, h) for h in handlers]
    try:
        _running(lambda stop: relay.run(stop, idle_seconds=0.05), threads)
        for consumer in consumers:
            _running(consumer.run, threads)
        for ref in ("paid", "declined"):
            do(
                ledger,
                "register_account",
                account=ref,
                name=ref.title(),
                email=f"{ref}@example.test",
            )
            do(
                ledger,
                "subscribe",
                account=ref,
                plan="basic",
                term="monthly",
                payment_method="card",
            )
        # the collector answers through the broker, not inside the command
        _until(
            lambda: (
                ledger.account("paid").references != {}
                and ledger.account("declined").references != {}
            )
        )
        ledger.settle()
        assert ledger.state("paid")["balance"]["paid"] == "29.00"
        assert ledger.state("declined")["balance"]["paid"] == "0.00"
        assert [c[0] for c in provider.charges] == ["paid"]
        # every invoice's email went out once, to the address sealed in the ledger
        _until(lambda: all(ledger.account(r).delivered for r in ("paid", "declined")))
        _until(lambda: len(inbox.messages) >= 2)
        assert sorted(m["To"] for m in inbox.messages) == [
            "declined@example.test",
            "paid@example.test",
        ]
        names = [type(e).__name__ for e in ledger.events("paid")]
        assert names.count("NoticeDelivered") == 1
        # the cache agrees with the projection, from the topic alone
        _until(
            lambda: (
                cache.access("declined") is not None
                and relay.sent >= len(read_topic(broker.bootstrap)) > 0
            )
        )
        _until(lambda: all(cache.access(r) == _access(ledger, r) for r in ("paid", "declined")))
    finally:
        for thread, stop in threads:
            stop.set()
            thread.join(timeout=20)
    # a redelivered invoice event sends nothing and records nothing again
    invoice = next(
        CloudEvent.decode(r.value)
        for r in read_topic(broker.bootstrap)
        if b"InvoiceIssued" in r.value and r.key == str(ledger.account("paid").id).encode()
    )
    before = (len(inbox.messages), len(ledger.events("paid")))
    handlers[1].handle(invoice)
    handlers[0].handle(
        next(
            CloudEvent.decode(r.value)
            for r in read_topic(broker.bootstrap)
            if b"CollectionRequested" in r.value
        )
    )
    assert (len(inbox.messages), len(ledger.events("paid"))) == before
    assert len(provider.charges) == 1
    cache.close()
    ledger.close()


def _access(ledger: Ledger, ref: str) -> dict[str, Any]:
    state = ledger.state(ref)
    return {k: state[k] for k in ACCESS_KEYS}


def test_an_erased_customer_gets_no_email_and_the_ledger_says_so(
    tmp_path: Path, broker: Broker, smtp: tuple[str, int, Inbox]
) -> None:
    host, port, inbox = smtp
    provider = SimulatedPaymentProvider()
    ledger = _ledger(tmp_path, broker, provider)
    do(ledger, "register_account", account="gone", name="G", email="gone@example.test")
    do(
        ledger,
        "subscribe",
        account="gone",
        plan="basic",
        term="monthly",
        payment_method="bank_transfer",
    )
    aid = str(ledger.account("gone").id)
    ledger.app.keys.destroy_key(aid)  # as erasure does
    notifier = NoticeDelivery(
        ledger.app, SmtpEmail(host, port, "b@example.test"), clock=lambda: WALL
    )
    publish(ledger, broker)
    for record in read_topic(broker.bootstrap):
        notifier.handle(CloudEvent.decode(record.value))
    assert inbox.messages == []
    delivered = [e for e in ledger.events("gone") if type(e).__name__ == "NoticeDelivered"]
    assert [(e.kind, e.outcome) for e in delivered] == [("InvoiceIssued", "no_address")]
    assert parse_instant("2026-11-23T12:00:00Z") == delivered[0].at
    ledger.close()
