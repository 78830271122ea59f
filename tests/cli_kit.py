"""Running `subledger` in-process for the CLI tests, in a working directory of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import Backend

from infra.entrypoints.cli.main import main

ENVIRONMENT = ("SUBLEDGER_DB", "SUBLEDGER_CONFIG", "SUBLEDGER_DATABASE_URL")
T0 = "2026-01-05T09:00:00Z"  # the CLI tests' first instant


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting of the developer's shell leaks into a test; files go to tmp_path."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For `pytestmark = pytest.mark.usefixtures("isolated")` in a CLI test module."""
    isolate(monkeypatch, tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def configure(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: Backend,
    path: Path,
    *,
    init: bool,
) -> None:
    """A config file at `path` (annual-b2b); on PostgreSQL the database comes from
    SUBLEDGER_DATABASE_URL (also for subprocesses), `db init`ed first if `init`."""
    assert run(capsys, "init", "--path", str(path), "--profile", "annual-b2b")[0] == 0
    if backend.kind == "postgres":
        monkeypatch.setenv("SUBLEDGER_DATABASE_URL", backend.url("cli"))
        if init:
            assert run(capsys, "--config", str(path), "db", "init")[0] == 0
