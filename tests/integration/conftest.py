"""Fixtures for the integration suite: real ledgers on SQLite files under `tmp_path`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_kit import LedgerFactory, open_ledger

from consumers.payment_provider import SimulatedPaymentProvider
from infra.ledger import Ledger


@pytest.fixture
def make_ledger(tmp_path: Path) -> Iterator[LedgerFactory]:
    """`make_ledger(profile, name=..., catalog=..., provider=...)`, closed after the test."""
    opened: list[Ledger] = []

    def make(profile: str = "monthly-autorenew", *, name: str = "l.db",
             catalog: dict[str, dict[str, int]] | None = None,
             provider: SimulatedPaymentProvider | None = None) -> Ledger:
        ledger = open_ledger(tmp_path / name, profile, catalog, provider)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()
