"""Workload 5: peak memory of replaying 1M events (quick: 50k), at two sizes.

Each replay runs in a child process (`bench.child`), so its peak RSS (VmHWM) is its own.
The replay is the account projection's fold over the notification log (`fold` mode);
the baseline is the notification log reader alone (`reader`: select + orjson, nothing
kept), which is the interpreter's and SQLite's floor. If the fold's peak RSS at the large
size is about the same as at the small size, memory does not grow with the number of
events. (Every projection the ledger wires is measured by `bench.catchup`; today that is
this same fold. The fold holds a batch's account views in memory, so its peak RSS grows
with the accounts a batch touches - up to the runner's BATCH_SIZE - not with the events.)
"""

from __future__ import annotations

from bench.child import spawn
from bench.context import Context
from bench.measure import Figure, Target, WorkloadResult

NAME = "replay"
TITLE = "Replay memory: peak RSS of a replay, in a child process"
TARGET = Target("peak RSS < 300 MB at 1M events", max_value=300.0)
ISSUE_EVENTS = 1_000_000
READER = "notification log reader only (select + orjson)"


def run(ctx: Context) -> WorkloadResult:
    small, large = ctx.scale.replay_events
    stores = {size: ctx.history_store(size) for size in (small, large)}
    samples: dict[tuple[str, int], list[dict[str, float]]] = {}
    for repeat in range(ctx.scale.replay_repeats):
        for size in (small, large):
            locator, generated, _ = stores[size]
            for mode in ("fold", "reader"):
                result = spawn(mode, locator, ctx.backend.name)
                assert result["events"] == generated.events, (mode, result, generated)
                samples.setdefault((mode, size), []).append(result)
        ctx.log(f"{NAME}: repeat {repeat + 1}/{ctx.scale.replay_repeats}")

    def rss(mode: str, size: int) -> list[float]:
        return [r["peak_rss_mb"] for r in samples[(mode, size)]]

    def speed(mode: str, size: int) -> list[float]:
        return [r["events"] / r["seconds"] for r in samples[(mode, size)]]

    at_issue_size = large >= ISSUE_EVENTS
    growth = [b - a for a, b in zip(rss("fold", small), rss("fold", large), strict=True)]
    figures = [
        Figure(
            name=f"fold replay of {small:,} events",
            unit="MB peak RSS",
            samples=rss("fold", small),
            baseline_label=READER,
            baseline_samples=rss("reader", small),
        ),
        Figure(
            name=f"fold replay of {large:,} events",
            unit="MB peak RSS",
            samples=rss("fold", large),
            baseline_label=READER,
            baseline_samples=rss("reader", large),
            target=TARGET if at_issue_size else None,
        ),
        Figure(
            name=f"fold peak RSS growth, {small:,} -> {large:,} events",
            unit="MB",
            samples=growth,
            note="peak RSS at the large size minus at the small size",
        ),
        Figure(
            name=f"fold replay speed, {large:,} events",
            unit="events/s",
            samples=speed("fold", large),
            baseline_label=READER,
            baseline_samples=speed("reader", large),
        ),
    ]
    notes = [
        f"store of {size:,} events: {stores[size][1].accounts:,} accounts, generated in "
        f"{stores[size][2]:.1f}s (not counted)"
        for size in (small, large)
    ]
    if not at_issue_size:
        notes.append(
            f"quick run: {large:,} events, not the issue's {ISSUE_EVENTS:,}; the "
            "300 MB target is judged on the full run only"
        )
    return WorkloadResult(
        name=NAME,
        title=TITLE,
        figures=figures,
        notes=notes,
        params={
            "sizes": [small, large],
            "accounts": [stores[s][1].accounts for s in (small, large)],
        },
    )
