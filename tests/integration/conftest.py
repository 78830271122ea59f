"""Fixtures for the integration suite: real ledgers on SQLite files under `tmp_path`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consumers.payment_provider import SimulatedPaymentProvider
from domain.profiles import BUILT_IN_PROFILES
from infra.config import LedgerConfig
from infra.ledger import Ledger, build_ledger

CATALOG: dict[str, dict[str, int]] = {
    "basic": {"monthly": 2900, "quarterly": 7500, "semiannual": 15000, "annual": 29000},
    "pro": {"monthly": 9900, "annual": 99000},
    "cloud": {"monthly": 500, "annual": 5000},
}

LedgerFactory = Callable[..., Ledger]


def open_ledger(database: Path, profile: str = "monthly-autorenew",
                catalog: dict[str, dict[str, int]] | None = None,
                provider: SimulatedPaymentProvider | None = None) -> Ledger:
    config = LedgerConfig(database=database, profile=BUILT_IN_PROFILES[profile],
                          currency="EUR", catalog=catalog or CATALOG)
    return build_ledger(config, provider or SimulatedPaymentProvider())


@pytest.fixture
def make_ledger(tmp_path: Path) -> Iterator[LedgerFactory]:
    """`make_ledger(profile, catalog=..., provider=..., name=...)`, closed after the test."""
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
