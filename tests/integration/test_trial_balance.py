"""The double-entry journal as auditors read it (issue 7), on both stores."""

from __future__ import annotations

from backends import Backend
from ledger_kit import journal_net, open_ledger
from test_tamper_evidence import history

from domain.calendar import parse_instant


def test_the_journal_balances_at_every_position_and_filters(backend: Backend) -> None:
    """Issue 7: trial balance zero at every log position; one account's lines; as of an
    instant."""
    ledger = open_ledger(backend.database("journal"))
    history(ledger)
    ledger.tick(parse_instant("2026-03-01T00:00:00Z"))  # renewals and their collections
    head = ledger.app.recorder.max_notification_id() or 0
    every = ledger.journal()
    assert every and {line["debit"] for line in every} >= {"receivable:principal"}
    for position in range(1, head + 1):
        assert sum(journal_net(ledger.journal(position=position)).values()) == 0, position
    mine = ledger.journal("t1")
    assert mine and {line["account"] for line in mine} == {"t1"}
    early = ledger.journal(as_of=parse_instant("2026-01-05T23:59:59Z"))
    assert early and all(line["at"] <= "2026-01-05T23:59:59Z" for line in early)
    assert len(early) < len(every)
    ledger.close()


def test_a_rebuild_reports_its_progress(backend: Backend) -> None:
    """Long rebuilds show a progress bar: the runner reports each batch's position."""
    ledger = open_ledger(backend.database("progress"))
    history(ledger)
    head = ledger.app.recorder.max_notification_id() or 0
    seen: list[tuple[int, int]] = []
    ledger.rebuild(lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (head, head)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    ledger.close()
