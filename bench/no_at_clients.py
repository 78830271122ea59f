"""Workload 8: many clients sending commands without `at`, with the ticker running (issue 13).

Each client has an account of its own and, for the whole run, posts without `at` (so the
server times every command), each with an Idempotency-Key: an activity, then a payment
with a reference of its own, and so on; `subledger serve` ticks scheduled work every
`TICK_EVERY` seconds beside them. Before issue 13 the API read its clock before waiting
for the ledger's lock and the ticker or another command moved the scheduler's clock past
it: 1.5-9 % of the writes were refused 400 on SQLite, 16 % on PostgreSQL.

The figures: commands per second, the 4xx and 5xx answers (target: none), and whether
every acknowledged command is in the store exactly once (its events read back after the
run: one `ActivityRecorded` per acknowledged activity, one `PaymentReceived` per
acknowledged reference, nothing unacknowledged).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.context import Context
from bench.http_api import Served
from bench.measure import Figure, Target, WorkloadResult

NAME = "no_at_clients"
TITLE = "clients without `at`, ticker on: zero 4xx, zero 5xx, exactly once"
TICK_EVERY = 0.5  # seconds between the server's scheduler ticks
CLIENTS = {"quick": 8, "full": 32}
SECONDS = {"quick": 3.0, "full": 60.0}
NONE_ALLOWED = Target("none", max_value=0)


@dataclass
class Tally:
    """What one client sent and heard."""

    account: str
    statuses: Counter[int] = field(default_factory=Counter)
    activities: int = 0  # acknowledged
    references: list[str] = field(default_factory=list)  # acknowledged payments
    latencies: list[float] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # the first few, for the report


def drive(url: str, key: str, clients: int, seconds: float, prefix: str = "c") -> list[Tally]:
    """`clients` threads posting commands without `at` for `seconds`; their tallies."""
    tallies = [Tally(f"{prefix}{n:03d}") for n in range(clients)]
    start = threading.Barrier(clients)

    def client(tally: Tally) -> None:
        with httpx.Client(
            base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}
        ) as api:

            def post(path: str, body: dict[str, Any], idem: str) -> bool:
                started = time.perf_counter()
                answer = api.post(path, json=body, headers={"Idempotency-Key": idem})
                tally.latencies.append(time.perf_counter() - started)
                tally.statuses[answer.status_code] += 1
                if answer.status_code >= 400 and len(tally.refusals) < 3:
                    tally.refusals.append(f"{answer.status_code} {answer.text[:200]}")
                return answer.status_code < 300

            post(
                "/accounts",
                {
                    "account": tally.account,
                    "name": tally.account,
                    "email": f"{tally.account}@example.com",
                },
                f"{tally.account}-register",
            )
            start.wait()
            deadline = time.monotonic() + seconds
            n = 0
            while time.monotonic() < deadline:
                n += 1
                if n % 2:
                    if post(f"/accounts/{tally.account}/activity", {}, f"{tally.account}-{n}"):
                        tally.activities += 1
                else:
                    reference = f"{tally.account}-pay-{n}"
                    if post(
                        f"/accounts/{tally.account}/payments",
                        {"amount": "1.00", "reference": reference},
                        f"{tally.account}-{n}",
                    ):
                        tally.references.append(reference)

    threads = [threading.Thread(target=client, args=(t,)) for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tallies


def exactly_once(url: str, key: str, tallies: list[Tally]) -> tuple[int, int]:
    """(acknowledged commands, how many of them are not in the store exactly once, plus
    commands in the store that were never acknowledged)."""
    acknowledged = wrong = 0
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as api:
        for tally in tallies:
            events = api.get(f"/accounts/{tally.account}/events").json()
            activities = sum(e["event"] == "ActivityRecorded" for e in events)
            stored = Counter(
                e["fields"]["reference"] for e in events if e["event"] == "PaymentReceived"
            )
            acknowledged += tally.activities + len(tally.references)
            wrong += abs(activities - tally.activities)
            wrong += sum(stored[r] != 1 for r in tally.references)
            wrong += sum(n for r, n in stored.items() if r not in set(tally.references))
    return acknowledged, wrong


def run(ctx: Context) -> WorkloadResult:
    clients, seconds = CLIENTS[ctx.scale.name], SECONDS[ctx.scale.name]
    served = Served(ctx, ctx.backend.fresh("no-at"), tick_every=TICK_EVERY, scopes="read,write")
    try:
        ctx.log(f"{NAME}: {clients} clients for {seconds:g}s")
        started = time.perf_counter()
        tallies = drive(served.url, served.key, clients, seconds)
        elapsed = time.perf_counter() - started
        acknowledged, wrong = exactly_once(served.url, served.key, tallies)
    finally:
        served.close()
    statuses: Counter[int] = Counter()
    for tally in tallies:
        statuses.update(tally.statuses)
    sent = sum(statuses.values())
    client_errors = sum(n for s, n in statuses.items() if 400 <= s < 500)
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    latencies = sorted(x for t in tallies for x in t.latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    refusals = [r for t in tallies for r in t.refusals][:5]
    return WorkloadResult(
        name=NAME,
        title=TITLE,
        params={
            "clients": clients,
            "seconds": seconds,
            "tick_every": TICK_EVERY,
            "requests": sent,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
        },
        figures=[
            Figure(
                name="commands acknowledged", unit="commands/s", samples=[acknowledged / elapsed]
            ),
            Figure(
                name="4xx answers", unit="answers", samples=[client_errors], target=NONE_ALLOWED
            ),
            Figure(
                name="5xx answers", unit="answers", samples=[server_errors], target=NONE_ALLOWED
            ),
            Figure(
                name="acknowledged but not in the store exactly once",
                unit="commands",
                samples=[wrong],
                target=NONE_ALLOWED,
            ),
            Figure(
                name="request latency p50", unit="ms", samples=[statistics.median(latencies) * 1000]
            ),
            Figure(name="request latency p99", unit="ms", samples=[p99]),
        ],
        notes=[
            f"{acknowledged} commands acknowledged out of {sent} requests",
            *(f"refused: {r}" for r in refusals),
        ],
    )
