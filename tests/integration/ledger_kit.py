"""Helpers for the integration suite: real ledgers on SQLite files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
    """The composition root every caller uses, on a SQLite file, one built-in profile."""
    config = LedgerConfig(database=database, profile=BUILT_IN_PROFILES[profile],
                          currency="EUR", catalog=catalog or CATALOG)
    return build_ledger(config, provider or SimulatedPaymentProvider())
