"""The aggregate cache: commands take their aggregate out of it, queries copy it.

The library's repository deep-copies the cached aggregate on every get, so that a
command mutating it cannot corrupt the cache; on the command path that copy cost as
much as the rest of the load (a 12-month account, ~0.4 ms). Here a writer *takes* the
aggregate: it is removed from the cache, brought up to date with the events stored since
(another process may have written), and belongs to the writer alone. Only a successful
save puts it back (`keep`), so a refused command, a conflict or a failed save leaves no
trace: the next load replays or takes what is still cached. Readers (queries,
consumers) still get a copy, made under the cache's lock: an aggregate in the cache is
never being mutated, and one being mutated is not in the cache, so a reader never copies
a half-changed aggregate. Saved aggregates go into the cache, so the command after a
registration does not replay.

Two writers taking the same aggregate in different threads do not share it: the second
finds it missing and replays its own; the store's optimistic concurrency lets one save
and the other retry, as between processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore


class LedgerRepository(Repository[UUID]):
    def __init__(self, event_store: EventStore[UUID], *, maxsize: int) -> None:
        # the library's own cache is off (`cache` None): every get of the base class
        # replays, and its save puts nothing in a cache
        super().__init__(event_store, cache_maxsize=None)
        self.maxsize = maxsize
        self._held: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        """A copy for a reader, up to date with the store."""
        if version is not None:
            return super().get(aggregate_id, version=version, projector_func=projector_func)
        with self._lock:
            cached = self._held.get(aggregate_id)
            if cached is not None:
                self._held.move_to_end(aggregate_id)
                copy = deepcopy(cached)
        if cached is None:
            fresh = self._reconstruct_aggregate(aggregate_id, None, projector_func)
            copy = deepcopy(fresh)
            self.keep([fresh])
            return copy
        newer = list(self.event_store.get(originator_id=aggregate_id, gt=copy.version))
        if newer:
            copy = self._forward(aggregate_id, copy, newer, projector_func)
            self.keep([deepcopy(copy)])  # the cache catches up too: the next get is cheap
        return copy

    def take(self, aggregate_id: UUID) -> Any:
        """The aggregate for a writer, up to date with the store and out of the cache
        until `keep` puts it back after its save."""
        with self._lock:
            cached = self._held.pop(aggregate_id, None)
        if cached is None:
            return self._reconstruct_aggregate(aggregate_id, None, cast(Any, project_aggregate))
        newer = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
        return self._forward(aggregate_id, cached, newer, project_aggregate) if newer else cached

    def keep(self, aggregates: Iterable[Any]) -> None:
        """Aggregates as saved (or as replayed from the store) into the cache; never one
        older than what the cache already holds. The caller must not change them after."""
        with self._lock:
            for aggregate in aggregates:
                if not isinstance(aggregate, Aggregate):
                    continue
                held = self._held.get(aggregate.id)
                if held is not None and held.version > aggregate.version:
                    continue
                self._held[aggregate.id] = aggregate
                self._held.move_to_end(aggregate.id)
            while len(self._held) > self.maxsize:
                self._held.popitem(last=False)

    def holds(self, aggregate_id: UUID) -> bool:
        with self._lock:
            return aggregate_id in self._held

    def evict(self, aggregate_id: UUID) -> None:
        with self._lock:
            self._held.pop(aggregate_id, None)

    @staticmethod
    def _forward(
        aggregate_id: UUID,
        aggregate: Any,
        events: list[Any],
        projector: ProjectorFunction[Any, Any],
    ) -> Any:
        forwarded = projector(aggregate, cast(Any, events))
        if forwarded is None:
            raise AggregateNotFoundError(aggregate_id)
        return forwarded
