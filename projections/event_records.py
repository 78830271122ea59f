"""Account events as the projections read them: their fields, instants as ISO-8601 `Z`.

Projections fold records decoded straight from stored bytes (one orjson pass, instants
left as text), skipping the mapper's object construction; rebuilds are bound by how fast
stored events can be read, not by building domain objects the read models never need.
Domain event objects (tests, replays through the repository) convert to the same records,
so both roads run through one fold. A stored event with a `class_version` above 1 needs
upcasting, so it takes the mapper's road.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import Mapper, Notification

from domain.calendar import format_instant

ACCOUNT_TOPIC_PREFIX = "domain.account:Account."


class EventRecord(dict[str, Any]):
    """An event's fields; `event_type` is its class name. Fields read as attributes too."""

    __slots__ = ("event_type", "originator_id")
    event_type: str
    originator_id: str

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _instant_text(data: str) -> str:
    return data[:-6] + "Z" if data.endswith("+00:00") else data


def from_notification(notification: Notification, mapper: Mapper[Any]) -> EventRecord | None:
    """The record of a stored account event, or None for other aggregates' events."""
    topic = notification.topic
    if not topic.startswith(ACCOUNT_TOPIC_PREFIX):
        return None
    fields = orjson.loads(notification.state)
    if "class_version" in fields:
        return from_domain_event(mapper.to_domain_event(notification))
    record = EventRecord(fields)
    for key, value in fields.items():
        if type(value) is dict and value.get("_type_") == "datetime_iso":
            record[key] = _instant_text(value["_data_"])
    record.event_type = topic[len(ACCOUNT_TOPIC_PREFIX) :]
    record.originator_id = str(notification.originator_id)
    return record


def from_domain_event(event: Any) -> EventRecord:
    if isinstance(event, EventRecord):
        return event
    record = EventRecord(
        {k: format_instant(v) if isinstance(v, datetime) else v for k, v in vars(event).items()}
    )
    record.event_type = type(event).__name__
    record.originator_id = str(event.originator_id)
    return record
