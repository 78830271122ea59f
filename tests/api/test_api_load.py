"""Issue 13, Why 2 and "Done when": concurrent clients sending commands without `at`,
the server's ticker running beside them, on both stores: no 4xx, no 5xx, and every
acknowledged command in the store exactly once.

Before, the API read "now" before waiting for the ledger's lock, and the ticker or
another command moved the scheduler's clock past it: 1.5-9 % of such writes were refused
400 `invalid_input` on SQLite, 16 % on PostgreSQL, at 32 clients. The full workload (32
clients, 60 s) is `python -m bench --only no_at_clients` (bench/README.md); this is its
short form. `test_truthful_answers.py` holds the deterministic case.
"""

from __future__ import annotations

from collections import Counter

from api_kit import Installation, Server

from bench.no_at_clients import drive, exactly_once

CLIENTS, SECONDS = 32, 4.0  # as many clients as the issue, for a few seconds


def test_clients_without_at_are_never_refused_and_counted_exactly_once(
    installation: Installation,
) -> None:
    key = installation.key("read", "write")
    server = Server(installation, log_level="warning", tick_every=0.3).start()
    try:
        tallies = drive(server.url, key, CLIENTS, SECONDS)
        acknowledged, wrong = exactly_once(server.url, key, tallies)
    finally:
        assert server.stop() == 0
    statuses: Counter[int] = Counter()
    for tally in tallies:
        statuses.update(tally.statuses)
    refusals = [r for t in tallies for r in t.refusals]
    assert set(statuses) <= {200, 201}, (statuses, refusals[:3])
    assert statuses[201] == CLIENTS and acknowledged == statuses[200] > CLIENTS
    assert wrong == 0
