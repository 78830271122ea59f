"""A catch-up never claims events another process committed while it ran.

`Ledger.settle` remembers the log position everything caught up with, so that the next
settle returns at once when nothing is new and `project --follow` ignores notifications
it has already folded. Found by a flaky follower test on PostgreSQL (stop 21): the
position was read after the catch-up, so events another process committed during it
counted as folded, and their account view stayed behind until the next write.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backends import Backend
from ledger_kit import open_ledger

from domain import commands as c

AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_events_committed_during_a_catch_up_are_folded_by_the_next_one(
    backend: Backend,
) -> None:
    database = backend.database("race")
    follower = open_ledger(database)
    writer = open_ledger(database)  # another process: it writes and never settles
    try:
        writer.app.handle(c.RegisterAccount(at=AT, account="acme", name="A", email="a@x.test"))
        run = follower.projections.run
        wrote: list[bool] = []

        def run_then_another_process_commits(*args: object, **kwargs: object) -> object:
            done = run(*args, **kwargs)  # type: ignore[arg-type]
            if not wrote:  # between this catch-up's read of the log and its end
                wrote.append(True)
                subscribe = c.Subscribe(
                    at=AT, account="acme", plan="basic", term="monthly", payment_method="invoice"
                )
                writer.app.handle(subscribe)
            return done

        follower.projections.run = run_then_another_process_commits  # type: ignore[method-assign]
        follower.settle()
        assert wrote
        follower.settle()  # the next catch-up: the subscription is in the log, not yet folded
        doc = follower.store.doc("acme")
        assert doc is not None and doc["sub"] is not None, "the subscription was never folded"
        assert follower.settled_to == (follower.app.recorder.max_notification_id() or 0)
    finally:
        writer.close()
        follower.close()
