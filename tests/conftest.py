"""Fixtures shared by every suite: the storage backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import BACKENDS, Backend, require_postgres

from infra.tools.local_broker import Broker


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        require_postgres()
    chosen = Backend(request.param, tmp_path)
    yield chosen
    chosen.cleanup()


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    """PostgreSQL only: for what only a server can show (LISTEN/NOTIFY, ...)."""
    require_postgres()
    chosen = Backend("postgres", tmp_path)
    yield chosen
    chosen.cleanup()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A Kafka-protocol broker of its own for the test, stopped afterwards."""
    started = Broker(tmp_path)
    started.start()
    yield started
    started.stop()
