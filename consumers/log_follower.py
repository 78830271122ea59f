"""Following the notification log for a few event types, with a tracked position.

The recorder filters by topic in SQL, so a consumer reads only its own events; the
position it stores is the end of the stretch it has looked at (the log's maximum when it
started), so stretches of other events are skipped without being read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking

from projections.store import ViewStore

BATCH_SIZE = 500


def topic_of(cls: type[Any]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def follow(app: Application[UUID], store: ViewStore, name: str,
           topics: Sequence[str]) -> Iterator[Notification]:
    """Yield unseen notifications of `topics` in log order; track after each one is done.

    The caller's effect for a notification must be complete when it asks for the next
    one: the position moves past a notification only then (at-least-once, so effects
    must be idempotent).
    """
    start = (store.max_tracking_id(name) or 0) + 1
    end = app.recorder.max_notification_id() or 0
    while start <= end:
        batch = app.recorder.select_notifications(start, BATCH_SIZE, stop=end, topics=topics)
        for notification in batch:
            yield notification
            store.insert_tracking(Tracking(name, notification.id))
        if len(batch) < BATCH_SIZE:
            break
        start = batch[-1].id + 1
    if end and (store.max_tracking_id(name) or 0) < end:
        store.insert_tracking(Tracking(name, end))
