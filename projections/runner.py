"""Pull-based projection runner over the application's notification log.

eventsourcing's SQLite recorder cannot `subscribe`, so projections pull: from their
tracking position, in batches, each batch written with its tracking row in one
transaction. The same runner serves live catch-up after every command and full rebuilds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from domain.account import Account
from projections.account_view import apply, new_doc
from projections.journal import postings_for
from projections.store import ViewStore

BATCH_SIZE = 500


class Projection(Protocol):
    name: str

    def process(self, batch: Sequence[tuple[int, Any]], tracking: Tracking) -> None: ...


class AccountsProjection:
    """Account views plus the journal lines they are balanced from."""

    name = "accounts"

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def process(self, batch: Sequence[tuple[int, Any]], tracking: Tracking) -> None:
        with self.store.datastore.transaction(commit=True) as c:
            relevant = [(pos, e) for pos, e in batch if isinstance(e, Account.Event)]
            docs = self.store.load_docs(c, {str(e.originator_id) for _, e in relevant})
            journal: list[tuple[Any, ...]] = []
            for position, event in relevant:
                aid = str(event.originator_id)
                doc = docs.get(aid)
                if doc is None:
                    doc = docs[aid] = new_doc(getattr(event, "ref", ""))
                apply(doc, event)
                for line, posting in enumerate(postings_for(event)):
                    journal.append((position, line, aid, event.at.isoformat(), posting.debit,
                                    posting.credit, posting.amount, posting.memo))
            self.store.write_docs(c, docs)
            self.store.write_journal(c, journal)
            self.store.track(c, tracking)


class ProjectionRunner:
    def __init__(self, app: Application[UUID], store: ViewStore,
                 projections: Sequence[Projection]) -> None:
        self.app = app
        self.store = store
        self.projections = projections

    def run(self) -> int:
        """Catch every projection up with the log; returns how many events it processed."""
        processed = 0
        for projection in self.projections:
            processed += self._catch_up(projection)
        return processed

    def _catch_up(self, projection: Projection) -> int:
        processed = 0
        while True:
            start = (self.store.max_tracking_id(projection.name) or 0) + 1
            notifications = self.app.recorder.select_notifications(start, BATCH_SIZE)
            if not notifications:
                return processed
            batch = [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications]
            projection.process(batch, Tracking(projection.name, notifications[-1].id))
            processed += len(batch)
