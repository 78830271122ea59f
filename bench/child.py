"""One replay in a child process (`python -m bench.child MODE LOCATOR BACKEND`).

Catch-up and replay run here so that each run's peak RSS (VmHWM) is its own, not the
parent's, and so that every run starts cold, as a restarted process would (empty
aggregate cache, nothing imported warm). The child times itself: interpreter start-up
and imports are not counted. Modes:
- `all`: every projection `build_ledger` wires, from position 0 (`ledger.projections.run()`);
  today that is the `accounts` projection alone (views + journal), since the scheduler's
  deadlines are written with the events, not projected; the child reports the names;
- `fold`: the account projection's fold alone (a runner with just `AccountsProjection`:
  read a batch, decode records from the stored bytes, fold, write, track), whatever other
  projections the ledger may gain;
- `reader`: the baseline, the notification log read in the runner's batch size and each
  state decoded with orjson, nothing kept.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where `-m bench.child` resolves
MODES = ("all", "fold", "reader")


def peak_rss_mb() -> float:
    """VmHWM (peak resident set) of this process in MB; getrusage where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def select_and_decode(recorder: object, batch_size: int) -> int:
    """The baseline loop: the runner's reads without the projections' work."""
    start, count = 1, 0
    while True:
        notifications = recorder.select_notifications(start, batch_size)  # type: ignore[attr-defined]
        if not notifications:
            return count
        for notification in notifications:
            orjson.loads(notification.state)
        count += len(notifications)
        start = notifications[-1].id + 1


def replay(mode: str, locator: str, backend_name: str) -> dict[str, Any]:
    """Runs in the child: one replay from position 0, then its figures."""
    from bench.backends import BACKENDS
    from infra.logging import configure_logging
    from projections.runner import BATCH_SIZE, AccountsProjection, BatchRunner

    configure_logging("warning", json=True)
    ledger = BACKENDS[backend_name]().ledger(locator)
    ledger.store.drop_views()
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    runner = None
    if mode == "all":
        runner = ledger.projections
        events = runner.run() // len(runner.projections)  # each projection reads each event
    elif mode == "fold":
        runner = BatchRunner(
            ledger.app, ledger.store, [AccountsProjection(ledger.store, ledger.app.mapper)]
        )
        events = runner.run()
    elif mode == "reader":
        events = select_and_decode(ledger.app.recorder, BATCH_SIZE)
    else:
        raise SystemExit(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")
    seconds = time.perf_counter() - start
    cached = len(ledger.app.aggregates)
    ledger.close()
    return {
        "events": events,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
        "cached_aggregates": cached,
        "projections": [] if runner is None else [p.name for p in runner.projections],
    }


def spawn(mode: str, locator: str, backend_name: str) -> dict[str, Any]:
    """Runs `replay` in a fresh interpreter and returns what it printed."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, our own arguments
        [sys.executable, "-m", "bench.child", mode, locator, backend_name],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    print(json.dumps(replay(sys.argv[1], sys.argv[2], sys.argv[3])))
