"""Pull-based batch runner of the projections over the application's notification log.

Projections pull from their tracking position, in batches, each batch written with its
tracking row in one transaction. The same runner serves live catch-up after every
command, `subledger project --follow` (woken by PostgreSQL's NOTIFY) and full rebuilds.
Several processes may catch up at once: a batch first locks its projection's position
and gives way when another process has moved it (see `ViewStore.claim`). A projection
that fails on an event stops itself, recording where and why (projections/isolation.py);
the others, and the commands, go on.

Named apart from eventsourcing's own `Projection`/`ProjectionRunner` (a different,
push-based design with its own tracking), so an import never picks the wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, Notification, Tracking

from projections.account_view import fold, new_doc
from projections.event_records import ACCOUNT_TOPIC_PREFIX, from_notification
from projections.store import PositionMovedError, ViewStore

BATCH_SIZE = 2000  # events per transaction in catch-up: one commit amortised over many


class BatchProjection(Protocol):
    """A read model that folds a batch of notifications with its tracking row."""

    name: str

    def process(
        self, notifications: Sequence[Notification], tracking: Tracking, after: int
    ) -> None:
        """Fold a batch read from just past position `after` (ids may have gaps)."""


class AccountsProjection:
    """Account views plus the journal lines they are balanced from."""

    name = "accounts"

    def __init__(self, store: ViewStore, mapper: Mapper[Any]) -> None:
        self.store = store
        self.mapper = mapper

    def process(
        self, notifications: Sequence[Notification], tracking: Tracking, after: int
    ) -> None:
        records = [
            r for r in (from_notification(n, self.mapper) for n in notifications) if r is not None
        ]
        positions = [n.id for n in notifications if n.topic.startswith(ACCOUNT_TOPIC_PREFIX)]
        with self.store.transaction(commit=True) as c:
            self.store.claim(c, self.name, after)
            docs = self.store.load_docs(c, {r.originator_id for r in records})
            journal: list[tuple[Any, ...]] = []
            for position, record in zip(positions, records, strict=True):
                aid = record.originator_id
                doc = docs.get(aid)
                if doc is None:
                    doc = docs[aid] = new_doc(record.get("ref", ""))
                for line, posting in enumerate(fold(doc, record)):
                    journal.append(
                        (
                            position,
                            line,
                            aid,
                            record.at,
                            posting.debit,
                            posting.credit,
                            posting.amount,
                            posting.memo,
                        )
                    )
            self.store.write_docs(c, docs)
            self.store.write_journal(c, journal)
            self.store.track(c, tracking)


class BatchRunner:
    """Catches each projection up with the log, batch by batch (module docstring)."""

    def __init__(
        self, app: Application[UUID], store: ViewStore, projections: Sequence[BatchProjection]
    ) -> None:
        self.app = app
        self.store = store
        self.projections = projections

    def run(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Catch every projection up with the log; returns how many events it processed.
        `progress(position, head)` is called after each batch (long rebuilds show it)."""
        processed = 0
        for projection in self.projections:
            processed += self._catch_up(projection, progress)
        return processed

    def _catch_up(
        self, projection: BatchProjection, progress: Callable[[int, int], None] | None = None
    ) -> int:
        isolation = self.store.isolation
        if isolation.halted(projection.name) is not None:
            return 0  # stopped on an event until an operator acts (isolation.py)
        head = (self.app.recorder.max_notification_id() or 0) if progress else 0
        processed = 0
        start = (self.store.max_tracking_id(projection.name) or 0) + 1

        def attempt(part: Sequence[Notification], after: int) -> None:
            projection.process(
                isolation.kept(projection.name, part), Tracking(projection.name, part[-1].id), after
            )

        while True:
            notifications = self.app.recorder.select_notifications(start, BATCH_SIZE)
            if not notifications:
                return processed
            try:
                if isolation.run(projection.name, notifications, start - 1, attempt):
                    return processed
            except (PositionMovedError, IntegrityError):
                # another process wrote these (or some of them): go on from where it got;
                # an integrity error with the position unmoved is a real one, not a race
                moved = (self.store.max_tracking_id(projection.name) or 0) + 1
                if moved == start:
                    raise
                start = moved
                continue
            processed += len(notifications)
            start = notifications[-1].id + 1
            if progress is not None:
                progress(notifications[-1].id, max(head, notifications[-1].id))
