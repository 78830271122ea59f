"""Stored events as CloudEvents 1.0 structured JSON, the form downstream services read.

`id` is `<aggregate id>:<version>`: the same event always gets the same id, however often
it is published, so consumers can dedupe on it (with `source`). `time` is the event's
effective time (`at`, on the contract's clock); `recordedtime` is when it was stored.
Extensions (lower-case, as CloudEvents requires): `streamversion` (the aggregate
version), `position` (the notification id in the ledger's log), `recordedtime`,
`partitionkey` (the Kafka key). Personal fields are not sent at all, sealed or not: a
downstream copy would outlive erasure (GDPR-5).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification

from domain.calendar import format_instant
from domain.money import Money
from infra.transcoder import OrjsonTranscoder

CONTENT_TYPE = b"application/cloudevents+json"
POSITION_HEADER = "subledger-position"
PERSONAL = frozenset({"personal", "name", "email", "phone", "address", "birth_date"})
_TRANSCODER = OrjsonTranscoder()
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp"}


def event_type(topic: str) -> tuple[str, str]:
    """('Account', 'PaymentReceived') from 'domain.account:Account.PaymentReceived'."""
    qualname = topic.split(":", 1)[-1]
    aggregate, _, name = qualname.rpartition(".")
    return aggregate or qualname, name or qualname


_SCALARS: dict[type, Any] = {
    datetime: format_instant, UUID: str, Decimal: str,
    Money: lambda m: {"minor": m.minor, "currency": m.currency},
}


def _plain(value: Any) -> Any:
    """Plain JSON: instants as `...Z` text, ids and decimals as strings."""
    convert = _SCALARS.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def envelope(notification: Notification, source: str) -> dict[str, Any]:
    fields = _TRANSCODER.decode(notification.state)
    aggregate, name = event_type(notification.topic)
    version = int(fields.get("class_version", 1))
    recorded = fields.get("timestamp")
    effective = fields.get("at", recorded)
    key = str(notification.originator_id)
    data = {k: _plain(v) for k, v in fields.items()
            if k not in _ENVELOPE_FIELDS and k not in PERSONAL and k != "class_version"}
    return {
        "specversion": "1.0",
        "id": f"{key}:{notification.originator_version}",
        "source": source,
        "type": f"subledger.{aggregate.lower()}.{name}.v{version}",
        "subject": key,
        "time": _plain(effective),
        "datacontenttype": "application/json",
        "data": data,
        "streamversion": notification.originator_version,
        "position": notification.id,
        "recordedtime": _plain(recorded),
        "partitionkey": key,
    }


def encode(notification: Notification, source: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers of the Kafka message for a stored event."""
    document = envelope(notification, source)
    headers = [("content-type", CONTENT_TYPE),
               (POSITION_HEADER, str(notification.id).encode())]
    return document["partitionkey"].encode(), orjson.dumps(document), headers
