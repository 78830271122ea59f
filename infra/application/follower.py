"""`subledger project --follow`: keeps projections and consumers caught up with writes
made by any process.

On PostgreSQL the wake-up is eventsourcing's subscription (LISTEN on the events table's
channel, NOTIFYed by every insert), so new events are folded within milliseconds and an
idle follower costs nothing. SQLite cannot notify, so there it polls. Either way the
work is `Ledger.settle`, the same catch-up every command runs, and its positions are the
tracking rows: a follower killed at any point resumes where the last durable batch
ended, and several followers (or command processes) can run at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from infra.application.ledger import Ledger

log = structlog.get_logger("subledger.follower")
REPORT_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class Lag:
    """`behind`: events a projection has still to fold, or a consumer still to handle
    (consumers read only their own event types, so their positions may trail the head
    with nothing left to do)."""

    head: int
    positions: dict[str, int]
    behind: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "positions": self.positions,
            "lag": self.behind,
            "max_lag": max(self.behind.values(), default=0),
        }


def lag(ledger: Ledger) -> Lag:
    head = ledger.app.recorder.max_notification_id() or 0
    positions = ledger.store.positions()
    behind = {name: max(head - at, 0) for name, at in positions.items()}
    for follower in (ledger.collector.follower, ledger.privacy.follower):
        behind[follower.name] = len(follower.pending()[0])
    return Lag(head, positions, behind)


def follow(
    ledger: Ledger,
    stop: threading.Event,
    *,
    poll_seconds: float = 1.0,
    report: Callable[[Lag], None] | None = None,
) -> None:
    """Catch up, then again on every new event, until `stop` is set."""
    report = report or (lambda current: log.info("lag", **current.as_dict()))
    ledger.settle()
    try:  # from where the catch-up got to: what is written meanwhile is not missed
        subscription = ledger.app.recorder.subscribe(gt=max(ledger.settled_to, 0))
    except NotImplementedError:  # SQLite: no notifications, so poll
        report(lag(ledger))
        _poll(ledger, stop, poll_seconds, report)
        return
    report(lag(ledger))  # caught up, and listening
    reported = time.monotonic()

    def unsubscribe_when_stopped() -> None:
        stop.wait()
        subscription.stop()

    watcher = threading.Thread(target=unsubscribe_when_stopped, daemon=True)
    watcher.start()
    threading.Thread(
        target=_retry_failed_catch_ups, args=(ledger, stop, poll_seconds), daemon=True
    ).start()
    with subscription:
        for notification in subscription:
            if stop.is_set():
                break
            if notification.id > ledger.settled_to:
                ledger.settle()
                if time.monotonic() - reported >= REPORT_EVERY_SECONDS:
                    report(lag(ledger))
                    reported = time.monotonic()
    report(lag(ledger))


def _retry_failed_catch_ups(ledger: Ledger, stop: threading.Event, seconds: float) -> None:
    """A catch-up that failed (the database away a moment) is tried again every few
    seconds, not only when the next event wakes the follower: it may be a while."""
    while not stop.wait(max(seconds, 1.0)):
        if ledger.settle_failure is not None:
            ledger.settle()


def _poll(
    ledger: Ledger, stop: threading.Event, seconds: float, report: Callable[[Lag], None]
) -> None:
    reported = time.monotonic()
    while not stop.wait(seconds):
        ledger.settle()
        if time.monotonic() - reported >= REPORT_EVERY_SECONDS:
            report(lag(ledger))
            reported = time.monotonic()
    report(lag(ledger))
