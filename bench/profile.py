"""`python -m bench.profile WHAT [N] [--all] [--workdir=DIR]`: where a workload's time goes.

The hot spots in `bench/README.md` come from these profiles; rerun them after a fix to
record before/after. WHAT is one of:
- `handle`: N accounts' four commands through `LedgerApplication.handle`;
- `execute`: the same through `Ledger.execute` (projections and consumers included);
- `catchup`: `ledger.projections.run()` over a store of about N events;
- `scheduler`: one month boundary of N monthly card accounts through `Ledger.tick`.
`--all` shows library frames too; `--workdir=/dev/shm` takes fsync out of the picture to
show CPU alone. Uses pyinstrument (`pip install pyinstrument`; a dev dependency of the bench).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bench.backends import SQLiteBackend
from bench.command_path import Clock, account_commands
from bench.context import QUICK, Context
from bench.scheduler import boundary, template
from bench.stores import accounts_for, monthly_card_accounts
from infra.logging import configure_logging

DEFAULT_SIZES = {"handle": 200, "execute": 100, "catchup": 20_000, "scheduler": 200}


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
    from pyinstrument import Profiler

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
        call = prepare(what, size, backend)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        call()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all="--all" in sys.argv))
    finally:
        backend.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
