"""Helpers for the integration suite: real ledgers on SQLite files or PostgreSQL schemas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from consumers.payment_provider import SimulatedPaymentProvider
from domain.profiles import BUILT_IN_PROFILES
from domain.tax import TaxTable
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig, Seller
from infra.persistence.database import Database

CATALOG: dict[str, dict[str, int]] = {
    "basic": {"monthly": 2900, "quarterly": 7500, "semiannual": 15000, "annual": 29000},
    "pro": {"monthly": 9900, "annual": 99000},
    "cloud": {"monthly": 500, "annual": 5000},
}

LedgerFactory = Callable[..., Ledger]
# the master key of every test ledger (worker processes reopen the same stores)
TEST_MASTER_KEY = bytes.fromhex("5e" * 32)


def open_ledger(
    database: Path | Database,
    profile: str = "monthly-autorenew",
    catalog: dict[str, dict[str, int]] | None = None,
    provider: SimulatedPaymentProvider | None = None,
    tax: TaxTable | None = None,
    seller: Seller | None = None,
) -> Ledger:
    """The composition root every caller uses, on a new database, one built-in profile
    (`tax`: a tax table, SPEC section 9; `seller`: the issuer of its documents, TAX-6)."""
    config = LedgerConfig(
        database=Path("unused.db"),
        profile=BUILT_IN_PROFILES[profile],
        currency="EUR",
        catalog=catalog or CATALOG,
        master_key=TEST_MASTER_KEY,
        tax=tax,
        seller=seller,
    )
    if isinstance(database, Path):
        config = replace(config, database=database)
    else:
        config = replace(config, database_url=database.url())
    return build_ledger(config, provider or SimulatedPaymentProvider(), create=True)


def journal_net(lines: list[dict[str, Any]]) -> dict[str, int]:
    """Each ledger account's net (debits minus credits) over journal lines: a trial
    balance sums to zero."""
    net: dict[str, int] = {}
    for line in lines:
        net[line["debit"]] = net.get(line["debit"], 0) + line["amount"]
        net[line["credit"]] = net.get(line["credit"], 0) - line["amount"]
    return net
