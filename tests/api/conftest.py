"""Fixtures of the API tests: an installation on each store and its server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import Installation, Server
from backends import Backend


@pytest.fixture
def installation(backend: Backend, tmp_path: Path) -> Installation:
    return Installation(tmp_path / "ledger", backend)


@pytest.fixture
def server(installation: Installation) -> Iterator[Server]:
    started = Server(installation).start()
    yield started
    assert started.stop() == 0, started.stderr[-2000:]
