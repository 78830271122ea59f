"""Issue 7: the hash chain makes any change to stored history visible, on both stores,
and survives crypto-shredding (it covers ciphertext, not keys)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from backends import Backend
from ledger_kit import open_ledger

from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command
from infra.persistence.database import Database


def history(ledger: Ledger) -> None:
    steps = []
    for n in range(4):
        steps += [
            (
                "register_account",
                {"account": f"t{n}", "name": f"N{n}", "email": f"t{n}@x.test"},
                "2026-01-05T09:00:00Z",
            ),
            (
                "subscribe",
                {"account": f"t{n}", "plan": "basic", "term": "monthly", "payment_method": "card"},
                "2026-01-05T09:00:00Z",
            ),
        ]
    steps += [
        (
            "record_payment",
            {"account": f"t{n}", "amount": "1.00", "reference": f"r{n}"},
            "2026-01-06T09:00:00Z",
        )
        for n in range(4)
    ]
    for do, fields, at in steps:
        ledger.execute(parse_command(do, fields, parse_instant(at)))


def raw(db: Database, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Change the store behind the ledger's back, as an intruder with database access."""
    if db.is_sqlite:
        import sqlite3

        conn = sqlite3.connect(str(db.path))
        try:
            rows = conn.execute(statement, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    table = f'"{db.schema}".subledger_events'
    with psycopg.connect(**db.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        cur = conn.execute(
            statement.replace("stored_events", table)
            .replace("rowid", "notification_id")
            .replace("?", "%s"),
            params,
        )
        return cur.fetchall() if cur.description else []


def flip_a_byte(db: Database, position: int) -> None:
    state = bytes(raw(db, "SELECT state FROM stored_events WHERE rowid=?", (position,))[0][0])
    middle = len(state) // 2  # one bit of one byte, in the middle of the event
    changed = state[:middle] + bytes([state[middle] ^ 1]) + state[middle + 1 :]
    raw(db, "UPDATE stored_events SET state=? WHERE rowid=?", (changed, position))


def delete(db: Database, position: int) -> None:
    raw(db, "DELETE FROM stored_events WHERE rowid=?", (position,))


def swap(db: Database, position: int) -> None:
    """Two consecutive events exchange their contents."""
    rows = {
        p: raw(
            db,
            "SELECT originator_id, originator_version, topic, state FROM "
            "stored_events WHERE rowid=?",
            (p,),
        )[0]
        for p in (position, position + 1)
    }
    raw(db, "DELETE FROM stored_events WHERE rowid IN (?, ?)", (position, position + 1))
    for target, source in ((position, position + 1), (position + 1, position)):
        raw(
            db,
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
            "state) VALUES (?, ?, ?, ?, ?)",
            (target, *rows[source]),
        )


TAMPERINGS: dict[str, Callable[[Database, int], None]] = {
    "one byte changed": flip_a_byte,
    "one event deleted": delete,
    "two events swapped": swap,
}


def test_an_untouched_store_verifies_also_after_erasures(backend: Backend) -> None:
    db = backend.database("chain")
    ledger = open_ledger(db)
    history(ledger)
    ledger.execute(
        parse_command(
            "request_data_deletion", {"account": "t1"}, parse_instant("2026-01-07T09:00:00Z")
        )
    )
    ledger.tick(parse_instant("2026-03-01T00:00:00Z"))
    assert ledger.state("t1")["privacy"]["personal_data"] == "erased"
    checked, found = ledger.verify()
    assert found is None
    assert checked == (ledger.app.recorder.max_notification_id() or 0) > 20
    ledger.close()


@pytest.mark.parametrize("tampering", list(TAMPERINGS), ids=list(TAMPERINGS))
def test_tampering_is_found_and_named_by_position(backend: Backend, tampering: str) -> None:
    db = backend.database("tamper")
    ledger = open_ledger(db)
    history(ledger)
    target = 7  # inside the history: events before it stay valid
    assert ledger.verify()[1] is None
    ledger.close()
    TAMPERINGS[tampering](db, target)
    reopened = open_ledger(db)
    _, found = reopened.verify()
    assert found is not None, f"{tampering} went unnoticed"
    assert found.position == target, found
    reopened.close()


def test_the_verify_command_exits_1_naming_the_position(
    backend: Backend,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    from ledger_kit import TEST_MASTER_KEY

    from infra.entrypoints.cli.main import main

    db = backend.database("cli")
    ledger = open_ledger(db)
    history(ledger)
    ledger.close()
    config = tmp_path / "v.toml"
    where = f'database = "{db.path}"' if db.is_sqlite else f'database_url = "{db.url()}"'
    config.write_text(
        f'[ledger]\n{where}\nprofile = "monthly-autorenew"\n[catalog.basic]\nmonthly = "29.00"\n'
    )
    monkeypatch.setenv("SUBLEDGER_MASTER_KEY", base64.b64encode(TEST_MASTER_KEY).decode())
    assert main(["--config", str(config), "verify"]) == 0
    assert "hash chain is whole" in capsys.readouterr().out
    flip_a_byte(db, 5)
    assert main(["--config", str(config), "--json", "verify"]) == 1
    assert json.loads(capsys.readouterr().out)["tampered_position"] == 5


# ================================================================ signed checkpoints
SEED = bytes(range(100, 132))  # the test ledger's Ed25519 signing key


def signed_ledger(db: Database, every: int = 5) -> Ledger:
    from dataclasses import replace

    from ledger_kit import CATALOG, TEST_MASTER_KEY

    from consumers.payment_provider import SimulatedPaymentProvider
    from domain.profiles import BUILT_IN_PROFILES
    from infra.application.bootstrap import build_ledger
    from infra.config import LedgerConfig

    config = LedgerConfig(
        database=db.path or Path("unused.db"),
        profile=BUILT_IN_PROFILES["monthly-autorenew"],
        currency="EUR",
        catalog=CATALOG,
        master_key=TEST_MASTER_KEY,
        signing_key=SEED,
        checkpoint_every=every,
    )
    if not db.is_sqlite:
        config = replace(config, database_url=db.url())
    return build_ledger(config, SimulatedPaymentProvider(), create=True)


def checkpoints(db: Database) -> list[Any]:
    return raw(
        db,
        "SELECT position FROM chain_checkpoints ORDER BY position".replace(
            "chain_checkpoints",
            "chain_checkpoints" if db.is_sqlite else f'"{db.schema}".chain_checkpoints',
        ),
    )


def test_checkpoints_are_signed_every_n_events_and_verify(backend: Backend) -> None:
    db = backend.database("signed")
    ledger = signed_ledger(db)
    history(ledger)
    head = ledger.app.recorder.max_notification_id() or 0
    assert [row[0] for row in checkpoints(db)] == list(range(5, head + 1, 5))
    assert ledger.verify()[1] is None
    ledger.close()


def test_a_rewritten_and_rechained_history_fails_at_the_first_checkpoint(backend: Backend) -> None:
    """An intruder who changes an event and recomputes the whole chain passes the chain
    check, but cannot sign: the first checkpoint after the change names it."""
    from infra.persistence.event_chain import GENESIS, event_digest

    db = backend.database("rechain")
    ledger = signed_ledger(db)
    history(ledger)
    assert ledger.verify()[1] is None
    ledger.close()
    flip_a_byte(db, 7)
    rows = raw(
        db,
        "SELECT rowid, originator_id, originator_version, topic, state FROM "
        "stored_events ORDER BY rowid",
    )
    chain = "event_chain" if db.is_sqlite else f'"{db.schema}".event_chain'
    previous = GENESIS
    for position, stored_id, version, topic, state in rows:
        oid = str(UUID(hex=stored_id)) if isinstance(stored_id, str) else str(stored_id)
        previous = event_digest(previous, oid, version, topic, bytes(state))
        raw(db, f"UPDATE {chain} SET hash=? WHERE position=?", (previous, position))
    reopened = signed_ledger(db)
    _, found = reopened.verify()
    assert found is not None and found.position == 10, found  # the first checkpoint >= 7
    assert "signed checkpoint" in found.problem
    reopened.close()
