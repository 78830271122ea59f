"""A ledger file the user may only read (issue 19): the queries answer from what is
stored and say so; a write is refused with `read_only` (exit 2, one line, nothing
written). Tests run as root too, where `chmod 444` stops no write: the file's mode
bits are read (a file nobody may write opens read-only), `--read-only` says it
outright, and the file's bytes prove nothing was written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture

pytestmark = pytest.mark.usefixtures("isolated")
QUERIES = [
    ["status", "amy", "--at", "2026-03-01T00:00:00Z"],
    ["events", "amy"],
    ["history", "amy"],
    ["journal"],
    ["report", "mrr"],
    ["report", "revenue"],
    ["report", "mrr-movements"],
    ["verify"],
    ["privacy", "report", "--at", "2026-03-01T00:00:00Z"],
]
WRITES = [
    ["record-activity", "amy", "--at", "2026-03-01T00:00:00Z"],
    [
        "register-account",
        "zed",
        "--name",
        "Z",
        "--email",
        "z@x.test",
        "--at",
        "2026-03-01T00:00:00Z",
    ],
    ["tick", "--to", "2026-03-01T00:00:00Z"],
    ["apikey", "create", "--scope", "read"],
    ["project", "--rebuild"],
]


@pytest.fixture
def ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    """A ledger with two customers, its file and folder given back writable after."""
    config = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(config), "--profile", "monthly-autorenew")[0] == 0
    for ref, method in (("amy", "card"), ("bob", "paypal")):
        for argv in (
            ["register-account", ref, "--name", "N", "--email", f"{ref}@x.test", "--at", T0],
            ["subscribe", ref, "--plan", "basic", "--term", "monthly", "--payment-method",
             method, "--at", T0],
        ):  # fmt: skip
            assert run(capsys, "--config", str(config), *argv)[0] == 0
    assert run(capsys, "--config", str(config), "tick", "--to", "2026-02-01T00:00:00Z")[0] == 0
    db = tmp_path / "subledger.db"
    assert db.exists()
    yield db
    tmp_path.chmod(0o755)
    db.chmod(0o644)


def digest(db: Path) -> list[str]:
    """The file's bytes and its write-ahead log's (an empty one, made by a reader's
    open, holds nothing)."""
    files = [db, db.with_name(db.name + "-wal")]
    return [
        hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists() and f.stat().st_size
    ]


def answers_and_refuses(capsys: pytest.CaptureFixture[str], *options: str) -> None:
    before = digest(Path("subledger.db"))
    for argv in QUERIES:
        code, out, err = run(capsys, *options, *argv)
        assert code == 0, (argv, err)
        assert out and "Traceback" not in err
    code, out, err = run(capsys, *options, "status", "amy", "--at", "2026-03-01T00:00:00Z")
    assert "read-only: answered from the stored events; scheduled work due from " in out
    code, out, _ = run(capsys, *options, "--json", "status", "amy", "--at", "2026-03-01T00:00:00Z")
    doc = json.loads(out)
    assert doc["read_only"]["due_work_not_run_from"] == "2026-02-05T09:00:00Z"
    assert doc["status"] == "active"  # what is stored: the renewal of Feb 5 has not run
    code, _, err = run(capsys, *options, "journal")
    assert "read-only: answered from what is stored" in err
    for argv in WRITES:
        code, out, err = run(capsys, *options, *argv)
        assert code == 2, (argv, out, err)
        assert err.startswith("error: read_only: "), (argv, err)
        assert "Traceback" not in err
        code, out, _ = run(capsys, *options, "--json", *argv)
        assert code == 2 and json.loads(out)["error"] == "read_only"
    assert digest(Path("subledger.db")) == before  # not a byte written


def test_a_file_nobody_may_write_answers_queries_and_refuses_writes(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger.chmod(0o444)
    answers_and_refuses(capsys)


def test_read_only_says_it_outright_on_a_writable_file(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_and_refuses(capsys, "--read-only")
    code, _, err = run(capsys, "record-activity", "amy", "--at", "2026-03-01T00:00:00Z")
    assert code == 0, err  # without the option, the same file takes writes


def test_a_folder_nobody_may_write_is_read_as_it_is(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No -wal pages and a folder SQLite may not write its side files in: opened
    `immutable`, which makes no -shm file (where `mode=ro` alone would, as root)."""
    for suffix in ("-wal", "-shm"):
        side = ledger.with_name(ledger.name + suffix)
        if side.exists():
            assert suffix == "-shm" or side.stat().st_size == 0
            side.unlink()
    ledger.chmod(0o444)
    ledger.parent.chmod(0o555)
    answers_and_refuses(capsys)
    assert not ledger.with_name(ledger.name + "-shm").exists()
