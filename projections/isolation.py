"""A read model or consumer that fails on an event stops itself, never the ledger.

Every runner of the log (the projection runner, the log followers of the collector and
the privacy keeper) hands each batch to `Isolation.run`. When a batch fails because of
one of its events (not because the database is away), the batch is tried again one event
at a time: the events before the bad one are processed, the bad one is recorded in
`read_model_failures` (name, position, event id, topic, error, when) and that runner
stops itself. Commands, scheduled work and the other runners go on; `/health`,
`subledger db check` and `subledger project` name what stopped.

The operator's ways out, both recorded:
- fix the code and `subledger project --rebuild`: the failures are cleared, the read
  models are folded again and the consumers retry from their positions;
- `subledger project --skip POSITION --reason TEXT`: the event is skipped by every
  runner halted on it, now and in every later rebuild; `read_model_skips` keeps who
  skipped what and why (`db check` lists it).

A failure the database causes (connection lost, lock timeout, serialisation conflict) is
raised as before and tried again at the next catch-up: it says nothing about the event.
The failures and skips are read once when the ledger opens; a halted runner asks the
database again before each catch-up, so an operator's skip or rebuild in another process
lets it go on.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from eventsourcing.persistence import InterfaceError, Notification, OperationalError

if TYPE_CHECKING:
    from projections.store import ViewStore

log = structlog.get_logger("subledger.isolation")
ERROR_TEXT_MAX = 500
# PostgreSQL SQLSTATE classes that say the database (not the event) is the trouble:
# connection, rollback (serialisation, deadlock), resources, lock not available,
# operator intervention, system error.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "55", "57", "58", "HY"})
TRANSIENT_SQLITE = ("locked", "busy", "disk i/o", "unable to open")


@dataclass(frozen=True)
class Failure:
    """Where a read model or consumer stopped, and why."""

    name: str
    position: int
    event_id: str  # "<aggregate id>:<version>", as the CloudEvents id
    topic: str
    error: str
    failed_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skip:
    """An event an operator told a read model or consumer to pass over, and why."""

    name: str
    position: int
    event_id: str
    reason: str
    error: str
    skipped_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Attempt = Callable[[Sequence[Notification], int], None]


class ReadModelHaltedError(Exception):
    """An answer needs a read model that is stopped on an event (HTTP 503, exit 1)."""

    def __init__(self, failures: Sequence[Failure]) -> None:
        named = ", ".join(f"{f.name} at position {f.position}" for f in failures)
        super().__init__(
            f"read model(s) stopped on an event: {named or 'unknown'}; see "
            "`subledger db check`, then `subledger project --rebuild` after a "
            "fix, or `subledger project --skip POSITION --reason TEXT`"
        )
        self.failures = list(failures)


def is_transient(error: BaseException) -> bool:
    """Does the failure come from the database rather than the event? Then the same
    batch may well pass at the next try, and nothing is halted."""
    from domain.errors import ErrorCode, Rejected
    from projections.store import PositionMovedError

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, PositionMovedError | ConnectionError | TimeoutError):
            return True
        if isinstance(seen, Rejected):
            return seen.code is ErrorCode.CONFLICT
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
        if isinstance(seen, sqlite3.OperationalError):
            return any(word in str(seen).lower() for word in TRANSIENT_SQLITE)
        if type(seen).__module__.startswith("psycopg_pool"):
            return True  # no connection to be had
        seen = seen.__cause__ or seen.__context__
    return isinstance(error, InterfaceError | OperationalError)


def _event_id(notification: Notification) -> str:
    return f"{notification.originator_id}:{notification.originator_version}"


def _plain(text: str) -> str:
    """An error message as it can be stored and shown: no control characters, bounded."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in text)
    return cleaned[:ERROR_TEXT_MAX]


class Isolation:
    """The failures and skips of one ledger's read models and consumers."""

    def __init__(
        self, store: ViewStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.clock = clock
        self._halted: dict[str, Failure] = {}
        self._skipped: dict[str, frozenset[int]] = {}
        self._loaded = False

    # ------------------------------------------------------------ running
    def run(
        self, name: str, batch: Sequence[Notification], after: int, attempt: Attempt
    ) -> Failure | None:
        """`attempt(part, after)` processes `part` (read just past position `after`;
        without the events skipped for this runner: see `kept`) durably with its
        position, that of its last event. On a failure of one of its events, the batch is
        processed one event at a time up to that event, which is recorded, and this
        runner halts: the failure is returned. Database failures are raised."""
        self._load()
        try:
            attempt(batch, after)
            return None
        except Exception as e:
            if is_transient(e):
                raise
            first = e
        for notification in batch:
            try:
                attempt([notification], after)
            except Exception as e:
                if is_transient(e):
                    raise
                self._skipped = self._read_skips()  # skipped meanwhile by an operator?
                if notification.id not in self._skipped.get(name, frozenset()):
                    return self.halt(name, notification, e)
                attempt([notification], after)  # now without it: its position only
            after = notification.id
        log.warning(
            "a batch failed, its events one by one did not", name=name, error=type(first).__name__
        )
        return None

    def skipped(self, name: str) -> frozenset[int]:
        """The positions skipped for this runner."""
        self._load()
        return self._skipped.get(name, frozenset())

    def kept(self, name: str, batch: Sequence[Notification]) -> list[Notification]:
        """The part of a batch to process: without the events skipped for this runner
        (whose position still moves past them)."""
        skipped = self._skipped.get(name)
        if not skipped:
            return list(batch)
        return [n for n in batch if n.id not in skipped]

    def halt(self, name: str, notification: Notification, error: BaseException) -> Failure:
        failure = Failure(
            name,
            notification.id,
            _event_id(notification),
            _plain(notification.topic),
            _plain(f"{type(error).__name__}: {error}"),
            _iso(self.clock()),
        )
        with self.store.transaction(commit=True) as c:
            c.execute(
                self.store.dialect(
                    "INSERT INTO {t:read_model_failures} VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position=excluded.position, "
                    "event_id=excluded.event_id, topic=excluded.topic, error=excluded.error, "
                    "failed_at=excluded.failed_at"
                ),
                (
                    failure.name,
                    failure.position,
                    failure.event_id,
                    failure.topic,
                    failure.error,
                    failure.failed_at,
                ),
            )
        self._halted[name] = failure
        log.error("read model halted", **failure.as_dict())
        return failure

    def halted(self, name: str) -> Failure | None:
        """Whether this runner is halted. When it is, the database is asked again: an
        operator may have cleared it (a rebuild, a skip) from another process."""
        self._load()
        if name not in self._halted:
            return None
        stored = {f.name: f for f in self.failures()}
        if name in stored:
            self._halted[name] = stored[name]
            return stored[name]
        del self._halted[name]
        self._skipped = self._read_skips()
        return None

    def is_halted(self, name: str) -> bool:
        """In memory only: what this process knows (cheap enough for every request)."""
        self._load()
        return name in self._halted

    # ------------------------------------------------------------ the operator's
    def failures(self) -> list[Failure]:
        with self.store.transaction(commit=False) as c:
            c.execute(
                self.store.dialect("SELECT * FROM {t:read_model_failures} ORDER BY position, name")
            )
            return [
                Failure(
                    r["name"],
                    int(r["position"]),
                    r["event_id"],
                    r["topic"],
                    r["error"],
                    r["failed_at"],
                )
                for r in c.fetchall()
            ]

    def skips(self) -> list[Skip]:
        with self.store.transaction(commit=False) as c:
            c.execute(
                self.store.dialect("SELECT * FROM {t:read_model_skips} ORDER BY position, name")
            )
            return [
                Skip(
                    r["name"],
                    int(r["position"]),
                    r["event_id"],
                    r["reason"],
                    r["error"],
                    r["skipped_at"],
                )
                for r in c.fetchall()
            ]

    def skip(self, position: int, reason: str) -> list[Skip]:
        """Skip the event at `position` for every runner halted on it, recording why;
        the runners go on at their next catch-up. Nothing halted there: nothing done."""
        done = []
        with self.store.transaction(commit=True) as c:
            c.execute(
                self.store.dialect(
                    "SELECT * FROM {t:read_model_failures} WHERE position=? ORDER BY name"
                ),
                (position,),
            )
            for row in c.fetchall():
                skip = Skip(
                    row["name"],
                    position,
                    row["event_id"],
                    _plain(reason),
                    row["error"],
                    _iso(self.clock()),
                )
                c.execute(
                    self.store.dialect(
                        "INSERT INTO {t:read_model_skips} VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                        "(name, position) DO NOTHING"
                    ),
                    (
                        skip.name,
                        skip.position,
                        skip.event_id,
                        skip.reason,
                        skip.error,
                        skip.skipped_at,
                    ),
                )
                c.execute(
                    self.store.dialect("DELETE FROM {t:read_model_failures} WHERE name=?"),
                    (skip.name,),
                )
                done.append(skip)
        for skip in done:
            log.warning("event skipped", **skip.as_dict())
        self._halted = {}
        self._loaded = False
        return done

    def clear(self) -> list[Failure]:
        """Forget every failure (a rebuild after a fix): each runner tries again."""
        cleared = self.failures()
        with self.store.transaction(commit=True) as c:
            c.execute(self.store.dialect("DELETE FROM {t:read_model_failures}"))
        self._halted = {}
        self._loaded = False
        return cleared

    # ------------------------------------------------------------ loading
    def _load(self) -> None:
        if self._loaded:
            return
        self._halted = {f.name: f for f in self.failures()}
        self._skipped = self._read_skips()
        self._loaded = True

    def _read_skips(self) -> dict[str, frozenset[int]]:
        by_name: dict[str, set[int]] = {}
        for skip in self.skips():
            by_name.setdefault(skip.name, set()).add(skip.position)
        return {name: frozenset(positions) for name, positions in by_name.items()}


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
