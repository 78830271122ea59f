"""Following the notification log for a few event types, with a tracked position.

The recorder filters by topic in SQL, so a consumer reads only its own events. Its
position moves past a notification only once the effect for it is durable
(at-least-once; the effects are idempotent). Stretches of other events are skipped by
moving the position to the end of what was looked at, but only every so often, so that a
quiet consumer does not cost a write per command. A consumer that fails on an event
stops itself, recording where and why (projections/isolation.py); the others go on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, Tracking

from projections.isolation import Isolation

BATCH_SIZE = 500
SKIP_TRACKING_GAP = 1000  # events of other types read past before the position is saved


class TrackedStore(Protocol):
    """Where a consumer keeps its position: eventsourcing's tracking recorder, and the
    failures and skips of the read models and consumers (`projections/isolation.py`);
    the ledger's store (`infra/persistence/ledger_store.py`) is both."""

    @property
    def isolation(self) -> Isolation: ...

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def insert_tracking(self, tracking: Tracking) -> None: ...


def topic_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class LogFollower:
    def __init__(
        self, app: Application[UUID], store: TrackedStore, name: str, topics: Sequence[str]
    ) -> None:
        self.app = app
        self.store = store
        self.name = name
        self.topics = list(topics)

    def drain(self, handle: Callable[[list[Notification]], None]) -> int:
        """Hand every unseen notification of the topics to `handle`, a batch at a time,
        storing the position after each batch; returns how many were handled. Halted on
        an event (isolation.py): nothing, until an operator acts."""
        isolation = self.store.isolation
        if isolation.halted(self.name) is not None:
            return 0
        handled = 0
        while True:
            batch, reached = self.pending()
            if batch:

                def attempt(
                    part: Sequence[Notification],
                    _after: int,
                    whole: list[Notification] = batch,
                    to: int = reached,
                ) -> None:
                    kept = isolation.kept(self.name, part)
                    if kept:
                        handle(kept)
                    self.done(part, to if part is whole else part[-1].id)

                if isolation.run(self.name, batch, 0, attempt):
                    return handled
            else:
                self.done(batch, reached)
            handled += len(batch)
            if not batch or reached >= (self.app.recorder.max_notification_id() or 0):
                return handled

    def pending(self) -> tuple[list[Notification], int]:
        """The next batch of this consumer's notifications and the position it reaches."""
        start = (self.store.max_tracking_id(self.name) or 0) + 1
        end = self.app.recorder.max_notification_id() or 0
        if start > end:
            return [], end
        batch = self.app.recorder.select_notifications(
            start, BATCH_SIZE, stop=end, topics=self.topics
        )
        reached = batch[-1].id if len(batch) == BATCH_SIZE else end
        return list(batch), reached

    def done(self, batch: Sequence[Notification], reached: int) -> None:
        """Record the position after the batch's effects are durable."""
        tracked = self.store.max_tracking_id(self.name) or 0
        if (batch or reached - tracked >= SKIP_TRACKING_GAP) and reached > tracked:
            with contextlib.suppress(IntegrityError):  # another process is further on
                self.store.insert_tracking(Tracking(self.name, reached))
