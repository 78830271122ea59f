"""`python -m bench.profile WHAT [N] [--all|--counts] [--workdir=DIR]`: where time goes.

The hot spots in `bench/README.md` come from these profiles; rerun them after a fix to
record before/after. WHAT is one of:
- `handle`: N accounts' four commands through `LedgerApplication.handle`;
- `execute`: the same through `Ledger.execute` (projections and consumers included);
- `catchup`: `ledger.projections.run()` over a store of about N events (a cold process's
  rebuild of the `accounts` projection: views + journal);
- `scheduler`: one month boundary of N monthly card accounts through `Ledger.tick`
  (rounds of 250 accounts, so N above 250 shows the batched rounds).
`--all` shows library frames too; `--workdir=/dev/shm` takes fsync out of the picture to
show CPU alone. Uses pyinstrument (in the project's `dev` extra); a sampling profiler
still slows call-heavy code (deepcopy, small functions) more than the rest, so shares
are a guide and the costs in bench/README.md are also measured without it.

`--counts` profiles nothing: it runs the same work and prints, per unit of work (command,
account-month, event), the database transactions (commits and reads) and
`Repository.get` calls, by the product code that made them - the commits are what fsync
bills on disk.

`catchup-stages [N]`: catch-up over a store of about N events, unprofiled, in cumulative
stages (select; + orjson; + records; + fold with the views in memory; + the views'
orjson round trip per batch; the real `projections.run()`), in microseconds per event.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.backends import SQLiteBackend
from bench.command_path import Clock, account_commands
from bench.context import QUICK, Context
from bench.scheduler import boundary, template
from bench.stores import accounts_for, monthly_card_accounts
from infra.logging import configure_logging

DEFAULT_SIZES = {
    "handle": 200,
    "execute": 100,
    "catchup": 20_000,
    "scheduler": 1_000,
    "catchup-stages": 100_000,
}
ROOT = Path(__file__).resolve().parent.parent


def units(what: str, size: int) -> tuple[int, str]:
    """How many units of work `prepare(what, size)` does, and their name."""
    if what in ("handle", "execute"):
        return size * 4, "command"
    if what == "scheduler":
        return size, "account-month"
    return size, "event (about)"


def _callers(depth: int = 3) -> str:
    """The innermost product frames (not the library's, not the bench's) of the caller."""
    names: list[str] = []
    frame = sys._getframe(2)
    while frame is not None and len(names) < depth:
        path = Path(frame.f_code.co_filename)
        if ROOT in path.parents and ".venv" not in path.parts and path.parent.name != "bench":
            names.append(f"{path.parent.name}/{path.stem}.{frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return " < ".join(names) or "(bench)"


def count(call: Callable[[], object], per: int, unit: str) -> None:
    """Runs `call` counting transactions and aggregate loads by caller; prints per unit."""
    import eventsourcing.application as es_app
    import eventsourcing.sqlite as es_sqlite

    counts: Counter[tuple[str, str]] = Counter()
    transaction = es_sqlite.SQLiteDatastore.transaction
    get = es_app.Repository.get

    @contextmanager
    def counted_transaction(self: Any, *, commit: bool) -> Iterator[Any]:
        counts["commit" if commit else "read", _callers()] += 1
        with transaction(self, commit=commit) as cursor:
            yield cursor

    def counted_get(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["Repository.get", _callers(2)] += 1
        return get(self, *args, **kwargs)

    es_sqlite.SQLiteDatastore.transaction = counted_transaction  # type: ignore[method-assign]
    es_app.Repository.get = counted_get  # type: ignore[method-assign]
    try:
        call()
    finally:
        es_sqlite.SQLiteDatastore.transaction = transaction  # type: ignore[method-assign]
        es_app.Repository.get = get  # type: ignore[method-assign]
    for kind in ("commit", "read", "Repository.get"):
        rows = [(n, where) for (k, where), n in counts.items() if k == kind]
        print(f"{kind}: {sum(n for n, _ in rows) / per:.3f} per {unit}")
        for n, where in sorted(rows, reverse=True):
            print(f"  {n / per:8.3f}  {where}")


def catchup_stages(size: int, backend: SQLiteBackend) -> None:
    """Catch-up in cumulative stages, unprofiled: where the time per event goes."""
    import orjson

    from projections.account_view import fold, new_doc
    from projections.event_records import from_notification
    from projections.runner import BATCH_SIZE

    locator = backend.fresh("stages")
    ledger = backend.ledger(locator)
    generated = monthly_card_accounts(ledger, accounts=accounts_for(size), months=12)
    ledger.close()
    ledger = backend.ledger(locator)
    recorder, mapper = ledger.app.recorder, ledger.app.mapper

    def batches() -> Iterator[Any]:
        start = 1
        while notifications := recorder.select_notifications(start, BATCH_SIZE):
            yield notifications
            start = notifications[-1].id + 1

    def select() -> None:
        for _ in batches():
            pass

    def select_orjson() -> None:
        for notifications in batches():
            for n in notifications:
                orjson.loads(n.state)

    def records() -> None:
        for notifications in batches():
            for n in notifications:
                from_notification(n, mapper)

    def fold_in_memory(round_trip: bool) -> Callable[[], None]:
        def run() -> None:
            stored: dict[str, Any] = {}
            for notifications in batches():
                batch = [r for r in (from_notification(n, mapper) for n in notifications) if r]
                ids = {r.originator_id for r in batch}
                docs = {
                    a: orjson.loads(stored[a]) if round_trip else stored[a]
                    for a in ids
                    if a in stored
                }
                for record in batch:
                    doc = docs.get(record.originator_id)
                    if doc is None:
                        doc = docs[record.originator_id] = new_doc(record.get("ref", ""))
                    list(fold(doc, record))
                for aid, doc in docs.items():
                    stored[aid] = orjson.dumps(doc) if round_trip else doc

        return run

    def rebuild() -> None:
        ledger.store.drop_views()
        ledger.projections.run()

    stages = [
        ("select_notifications", select),
        ("+ orjson.loads (the baseline)", select_orjson),
        ("select + records (from_notification)", records),
        ("+ fold, views kept in memory", fold_in_memory(False)),
        ("+ each touched view orjson-loaded and dumped per batch", fold_in_memory(True)),
        ("projections.run() (+ SQL reads/writes, journal, tracking)", rebuild),
    ]
    print(f"{generated.events:,} events, {generated.accounts:,} accounts, batch {BATCH_SIZE}")
    for name, stage in stages:
        start = time.perf_counter()
        stage()
        seconds = time.perf_counter() - start
        print(
            f"  {seconds / generated.events * 1e6:6.1f} us/event "
            f"{generated.events / seconds:9,.0f} events/s  {name}"
        )
    ledger.close()


def prepare(what: str, size: int, backend: SQLiteBackend) -> Callable[[], object]:
    """Sets up (unprofiled) and returns the call to profile."""
    if what in ("handle", "execute"):
        ledger = backend.ledger(backend.fresh(what))
        run = ledger.app.handle if what == "handle" else ledger.execute
        clock = Clock()

        def commands() -> None:
            for i in range(size):
                for command in account_commands(f"p{i:06d}", clock.take(4)):
                    run(command)

        return commands
    if what == "catchup":
        locator = backend.fresh("catchup")
        ledger = backend.ledger(locator)
        monthly_card_accounts(ledger, accounts=accounts_for(size), months=12)
        ledger.close()
        fresh = backend.ledger(locator)  # a cold cache, like a restarted process
        return fresh.projections.run
    if what == "scheduler":
        ctx = Context(backend=backend, scale=QUICK)
        ledger = backend.ledger(template(ctx, size))
        return lambda: ledger.tick(boundary(1, size))
    raise SystemExit(f"unknown workload {what!r}; one of {', '.join(DEFAULT_SIZES)}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in DEFAULT_SIZES:
        print(__doc__)
        return 2
    what = argv[0]
    numbers = [a for a in argv[1:] if a.isdigit()]
    size = int(numbers[0]) if numbers else DEFAULT_SIZES[what]
    configure_logging("warning", json=True)
    workdirs = [a.split("=", 1)[1] for a in argv if a.startswith("--workdir=")]
    backend = SQLiteBackend(Path(workdirs[0]) if workdirs else None)
    try:
        if what == "catchup-stages":
            catchup_stages(size, backend)
            return 0
        call = prepare(what, size, backend)
        if "--counts" in argv:
            count(call, *units(what, size))
            return 0
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        call()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all="--all" in argv))
    finally:
        backend.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
