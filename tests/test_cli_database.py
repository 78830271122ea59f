"""`subledger db`, `project --follow` and `scenario run --database-url`: the commands an
operator runs against the production database (and the embedded one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backends import Backend
from cli_kit import T0, configure, isolated, run  # noqa: F401 - isolated is a fixture

from infra.config import ConfigError, load_config
from infra.persistence.database import SCHEMA_VERSION, DatabaseUrlError, parse_database_url
from infra.persistence.keystore import new_master_key

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "tests" / "scenarios" / "public"
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def configured(
    backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Backend:
    """./subledger.toml on each store, not initialised yet."""
    configure(capsys, monkeypatch, backend, tmp_path / "subledger.toml", init=False)
    return backend


# ------------------------------------------------------------------ database URLs
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://app:s%40cret@db.internal:6432/ledger?schema=billing",
            {
                "host": "db.internal",
                "port": 6432,
                "user": "app",
                "password": "s@cret",
                "dbname": "ledger",
                "schema": "billing",
            },
        ),
        ("postgres://root@127.0.0.1/test", {"user": "root", "port": 5432, "schema": "public"}),
        ("postgresql://u@h/d?pool_size=8&lock_timeout=3", {"pool_size": 8, "lock_timeout": 3}),
        (
            "sqlite:///var/lib/subledger/ledger.db",
            {"kind": "sqlite", "path": Path("/var/lib/subledger/ledger.db")},
        ),
        ("ledger.db", {"kind": "sqlite", "path": Path("ledger.db")}),
    ],
)
def test_database_urls_are_read_whole(url: str, expected: dict[str, object]) -> None:
    db = parse_database_url(url)
    assert {k: getattr(db, k) for k in expected} == expected
    assert parse_database_url(db.url()) == db  # the URL written back reads the same
    assert "cret" not in db.describe()  # never the password in what is shown or logged


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u@h/d", "unknown database scheme"),
        ("postgresql://h/d", "names no user"),
        ("postgresql://u@h/", "names no database"),
        ("postgresql://u@h:port/d", "port"),
        ("postgresql://u@h/d?schema=Bad-Name", "schema"),
        ("postgresql://u@h/d?sslmode=require&colour=red", "unknown URL option"),
        ("sqlite:///", "without a file"),
    ],
)
def test_bad_database_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError, match=says):
        parse_database_url(url)


def test_a_bad_database_url_in_the_config_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[ledger]\ndatabase_url = "postgresql://nobody@h"\n[catalog.basic]\nmonthly = "1.00"\n'
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.key == "ledger.database_url"
    monkeypatch.setenv("SUBLEDGER_DATABASE_URL", "postgresql://u@h/d?schema=s")
    monkeypatch.setenv("SUBLEDGER_MASTER_KEY", new_master_key())
    path.write_text('[catalog.basic]\nmonthly = "1.00"\n')
    assert load_config(path).db.schema == "s"  # the environment names the database


# ------------------------------------------------------------------ db init / check
def test_db_check_before_init_then_init_is_idempotent_then_check_reports_positions(
    configured: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "db", "check", "--json")
    assert code == 1 and json.loads(out)["status"] == "not_initialised"
    for _ in range(2):
        code, out, _ = run(capsys, "db", "init", "--json")
        assert code == 0 and json.loads(out)["schema_version"] == SCHEMA_VERSION
    assert (
        run(
            capsys, "register-account", "acme", "--name", "Acme", "--email", "a@x.test", "--at", T0
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            "subscribe",
            "acme",
            "--plan",
            "basic",
            "--term",
            "annual",
            "--payment-method",
            "bank_transfer",
            "--at",
            T0,
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "db", "check", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["schema_version"] == SCHEMA_VERSION
    assert report["backend"] == ("sqlite" if configured.kind == "sqlite" else "postgresql")
    assert report["last_notification_id"] >= 3
    assert report["positions"]["accounts"] == report["last_notification_id"]
    assert report["max_lag"] == 0
    code, out, _ = run(capsys, "db", "check")
    assert code == 0 and f"schema version {SCHEMA_VERSION}" in out and "accounts" in out


def test_db_check_reports_an_unreachable_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "init")[0] == 0
    monkeypatch.setenv("SUBLEDGER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    started = time.monotonic()
    code, out, _ = run(capsys, "db", "check", "--json")
    report = json.loads(out)
    assert code == 1 and report["status"] == "unreachable"
    assert "nobody@127.0.0.1:1/none" in report["database"]
    assert time.monotonic() - started < 30


def test_commands_on_an_uninitialised_postgres_schema_say_run_db_init(
    postgres: Backend, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "init")[0] == 0
    monkeypatch.setenv("SUBLEDGER_DATABASE_URL", postgres.url("empty"))
    code, _, err = run(capsys, "status", "acme")
    assert code == 2 and "subledger db init" in err


def test_a_schema_of_the_previous_version_is_refused_until_db_init_upgrades_it(
    postgres: Backend, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 2 added the HTTP API's tables: a version-1 schema keeps its ledger, is
    refused with both versions named, and `db init` brings it up to date."""
    import psycopg

    assert run(capsys, "init")[0] == 0
    db = postgres.database("v1")
    monkeypatch.setenv("SUBLEDGER_DATABASE_URL", db.url())
    assert run(capsys, "db", "init")[0] == 0
    assert (
        run(
            capsys, "register-account", "acme", "--name", "Acme", "--email", "a@x.test", "--at", T0
        )[0]
        == 0
    )
    with psycopg.connect(**db.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP TABLE "{db.schema}".api_keys, "{db.schema}".idempotency_keys')
        conn.execute(
            f"UPDATE \"{db.schema}\".subledger_meta SET value='1' WHERE name='schema_version'"
        )
    code, _, err = run(capsys, "apikey", "create", "--scope", "read")
    assert code == 2 and f"schema version 1, this subledger needs {SCHEMA_VERSION}" in err
    code, out, _ = run(capsys, "db", "init", "--json")
    assert code == 0 and json.loads(out)["schema_version"] == SCHEMA_VERSION
    code, out, _ = run(capsys, "apikey", "create", "--scope", "read", "--json")
    assert code == 0 and json.loads(out)["key"].startswith("slk_")
    code, out, _ = run(capsys, "status", "acme", "--json", "--at", T0)
    assert code == 0 and json.loads(out)["status"] == "none"  # the ledger is untouched


# ------------------------------------------------------------------ project --follow
def _subledger(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.entrypoints.cli", *argv],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_project_follow_folds_what_other_processes_write_and_reports_lag(
    configured: Backend, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The follower keeps the views current for writes that did not settle themselves
    (another process's `LedgerApplication`), woken by NOTIFY on PostgreSQL."""
    from infra.application.bootstrap import build_ledger

    assert run(capsys, "db", "init")[0] == 0
    env = {k: v for k in ("SUBLEDGER_DATABASE_URL",) if (v := os.environ.get(k))}
    follower = _subledger(
        "project", "--follow", "--json", "--interval", "0.2", cwd=tmp_path, env=env
    )
    assert follower.stdout is not None
    first = json.loads(follower.stdout.readline())  # caught up, listening
    assert first["max_lag"] == 0
    ledger = build_ledger(load_config())
    try:
        from domain.calendar import parse_instant
        from infra.interface.vocabulary import parse_command

        at = parse_instant(T0)
        for do, fields in (
            ("register_account", {"account": "acme", "name": "A", "email": "a@x.test"}),
            (
                "subscribe",
                {"account": "acme", "plan": "basic", "term": "annual", "payment_method": "card"},
            ),
        ):
            ledger.app.handle(parse_command(do, fields, at))  # recorded, not settled here
        head = ledger.app.recorder.max_notification_id()
        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            state = ledger.store.doc("acme")
            if (
                state
                and state["sub"]
                and ledger.store.positions()["accounts"] >= (head or 0)
                and ledger.store.positions()["collector"] >= (head or 0)
            ):
                break
            time.sleep(0.05)
        assert state is not None and state["sub"]["plan"] == "basic"
        positions = ledger.store.positions()
        assert positions["accounts"] >= (head or 0) and positions["collector"] >= (head or 0)
        # the follower ran the collector too: the card payment was booked, by it, not here
        assert "PaymentReceived" in [type(e).__name__ for e in ledger.events("acme")]
        ledger.settle()
        assert ledger.state("acme")["balance"]["paid"] == "290.00"  # the template's price
    finally:
        ledger.close()
    follower.send_signal(signal.SIGTERM)
    out, _ = follower.communicate(timeout=20)
    assert follower.returncode == 0
    last = json.loads(out.strip().splitlines()[-1])
    assert last["max_lag"] == 0 and last["head"] >= 4


def test_project_once_and_rebuild(configured: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "init")[0] == 0
    assert (
        run(capsys, "register-account", "acme", "--name", "A", "--email", "a@x.test", "--at", T0)[0]
        == 0
    )
    code, out, _ = run(capsys, "project", "--rebuild", "--json")
    report = json.loads(out)
    assert code == 0 and report["max_lag"] == 0 and report["positions"]["accounts"] >= 1
    code, out, _ = run(capsys, "status", "acme", "--at", T0, "--json")
    assert code == 0 and json.loads(out)["status"] == "none"


# ------------------------------------------------------------------ scenarios on PostgreSQL
@pytest.mark.parametrize("path", sorted(PUBLIC.glob("*.json")), ids=lambda p: p.name)
def test_scenario_run_database_url_passes_on_postgres(
    path: Path, postgres: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 4: the public scenarios pass on PostgreSQL through the CLI, in a temporary
    schema that is gone afterwards."""
    import psycopg
    from backends import PG_URL

    def schemas() -> set[str]:
        db = parse_database_url(PG_URL)
        with psycopg.connect(**db.conninfo()) as conn:  # type: ignore[arg-type]
            return {
                row[0]
                for row in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scenario%'"
                )
            }

    before = schemas()
    code, out, err = run(
        capsys, "scenario", "run", str(path), "--emit-state", "--database-url", PG_URL
    )
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("PASS ")
    assert schemas() == before


def test_scenario_run_refuses_a_schema_that_holds_a_ledger(
    postgres: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.url("kept")
    path = sorted(PUBLIC.glob("*.json"))[0]
    assert run(capsys, "scenario", "run", str(path), "--database-url", url)[0] == 0
    code, _, err = run(capsys, "scenario", "run", str(path), "--database-url", url)
    assert code == 2 and "already holds a ledger" in err


def test_a_wrong_master_key_stops_commands_and_db_check_says_why(
    configured: Backend, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "db", "init")[0] == 0
    assert (
        run(capsys, "register-account", "acme", "--name", "A", "--email", "a@x.test", "--at", T0)[0]
        == 0
    )
    monkeypatch.setenv("SUBLEDGER_MASTER_KEY", new_master_key())
    code, _, err = run(capsys, "status", "acme", "--at", T0)
    assert code == 2 and "master key" in err and "ledger.master_key_file" in err
    code, out, _ = run(capsys, "db", "check", "--json")
    assert code == 1 and json.loads(out)["status"] == "wrong_master_key"
