"""Stored events as CloudEvents 1.0 structured JSON, the form downstream services read.

`id` is `<aggregate id>:<version>`: the same event always gets the same id, however often
it is published, so consumers can dedupe on it (with `source`). `time` is the event's
effective time (`at`, on the contract's clock); `recordedtime` is when it was stored.
Extensions (lower-case, as CloudEvents requires): `streamversion` (the aggregate
version), `position` (the notification id in the ledger's log), `recordedtime`,
`partitionkey` (the Kafka key). Personal fields are not sent at all, sealed or not: a
downstream copy would outlive erasure (GDPR-5).

Types are `subledger.<aggregate>.<Event>.v<class_version>`, one per stored event class;
SPEC 2.0 adds, for the account: `PlanChanged`, `PlanChangeScheduled`,
`ScheduledChangeRemoved`, `ScheduledChangeApplied`, `CancellationRevoked` (section 10),
`SuspendedByVendor`, `ReinstatedByVendor`, `TerminatedByVendor`, `ExportWindowClosed`,
`LiquidatedDamagesCharged`, `InvoiceAccelerated` (section 11).
"""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification

CONTENT_TYPE = b"application/cloudevents+json"
POSITION_HEADER = "subledger-position"
PERSONAL = frozenset({"personal", "billing", "name", "email", "phone", "address", "birth_date"})
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp"}
# fields of the stored event that are not the CloudEvent's `data`
_NOT_DATA = frozenset(_ENVELOPE_FIELDS | PERSONAL | {"class_version"})


def event_type(topic: str) -> tuple[str, str]:
    """('Account', 'PaymentReceived') from 'domain.account:Account.PaymentReceived'."""
    qualname = topic.split(":", 1)[-1]
    aggregate, _, name = qualname.rpartition(".")
    return aggregate or qualname, name or qualname


_TAGS: dict[str, Any] = {
    "datetime_iso": lambda d: d[:-6] + "Z" if d.endswith("+00:00") else d,
    "uuid_hex": lambda d: str(UUID(d)),
    "decimal_str": str,
    "money_minor": lambda d: {"minor": int(d[0]), "currency": str(d[1])},
}


def _untag(value: Any) -> Any:
    """Plain JSON straight from the stored JSON: tagged instants as `...Z` text, ids and
    decimals as strings (no Python objects built: the relay's hot path)."""
    if type(value) is dict:
        tag = _TAGS.get(value.get("_type_", "")) if len(value) == 2 else None
        if tag is not None and "_data_" in value:
            return tag(value["_data_"])
        return {k: _untag(v) for k, v in value.items()}
    if type(value) is list:
        return [_untag(v) for v in value]
    return value


@functools.lru_cache(maxsize=1024)
def _type_name(topic: str, version: int) -> str:
    aggregate, name = event_type(topic)
    return f"subledger.{aggregate.lower()}.{name}.v{version}"


def envelope(notification: Notification, source: str, key: str | None = None) -> dict[str, Any]:
    """`key`: the aggregate id as text, when the caller has it already (the relay keeps
    it per account: the hot path of publishing)."""
    fields = orjson.loads(notification.state)
    recorded = fields.get("timestamp")
    effective = fields.get("at", recorded)
    if key is None:
        key = str(notification.originator_id)
    data = {}
    for k, v in fields.items():  # only containers can hold tags: the rest is copied
        if k not in _NOT_DATA:
            data[k] = _untag(v) if type(v) is dict or type(v) is list else v
    return {
        "specversion": "1.0",
        "id": f"{key}:{notification.originator_version}",
        "source": source,
        "type": _type_name(notification.topic, int(fields.get("class_version", 1))),
        "subject": key,
        "time": _untag(effective),
        "datacontenttype": "application/json",
        "data": data,
        "streamversion": notification.originator_version,
        "position": notification.id,
        "recordedtime": _untag(recorded),
        "partitionkey": key,
    }


def encode(
    notification: Notification, source: str, key: str | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers of the Kafka message for a stored event."""
    document = envelope(notification, source, key)
    headers = [("content-type", CONTENT_TYPE), (POSITION_HEADER, str(notification.id).encode())]
    return document["partitionkey"].encode(), orjson.dumps(document), headers
