"""Fixtures for the integration suite: real ledgers on both event stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import Backend
from ledger_kit import LedgerFactory, open_ledger

from consumers.payment_provider import SimulatedPaymentProvider
from infra.application.ledger import Ledger


def _factory(backend: Backend, opened: list[Ledger]) -> LedgerFactory:
    def make(
        profile: str = "monthly-autorenew",
        *,
        name: str = "l.db",
        catalog: dict[str, dict[str, int]] | None = None,
        provider: SimulatedPaymentProvider | None = None,
    ) -> Ledger:
        ledger = open_ledger(backend.database(name.removesuffix(".db")), profile, catalog, provider)
        opened.append(ledger)
        return ledger

    return make


@pytest.fixture
def make_ledger(backend: Backend) -> Iterator[LedgerFactory]:
    """`make_ledger(profile, name=..., catalog=..., provider=...)` on SQLite and on
    PostgreSQL (the test runs once on each), closed after the test."""
    opened: list[Ledger] = []
    yield _factory(backend, opened)
    for ledger in opened:
        ledger.close()


@pytest.fixture
def make_sqlite_ledger(tmp_path: Path) -> Iterator[LedgerFactory]:
    """SQLite only: for tests that read the database file's bytes."""
    opened: list[Ledger] = []
    yield _factory(Backend("sqlite", tmp_path), opened)
    for ledger in opened:
        ledger.close()
