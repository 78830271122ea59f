"""Issue 6 acceptance: personal data in clear appears nowhere: not in the database files
(SQLite file and WAL; PostgreSQL table files and WAL segments), not on the Kafka topics;
and replaying the log after erasure gives the balances it gave before."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from backends import Backend
from ledger_kit import open_ledger
from test_kafka_relay import do, publish, read_topic

from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.persistence.database import Database
from infra.tools.local_broker import Broker

PEOPLE = {  # distinctive, so that a find is never a coincidence
    "p1": (
        "Wilhelmina Quarstenbeck",
        "w.quarstenbeck@example.test",
        "+31 6 1111 2222",
        "Zwanenburgwal 991, Amsterdam",
    ),
    "p2": (
        "Aurelio Fenwick-Ostrander",
        "aurelio.fo@example.test",
        "+39 333 444 5555",
        "Via dei Calzaiuoli 773, Firenze",
    ),
    "p3": (
        "Ottilie Brackenridge",
        "ottilie.b@example.test",
        "+44 7700 900123",
        "17 Quillfeather Lane, Bath",
    ),
    "p4": (
        "Casimir Vondrakova",
        "casimir.v@example.test",
        "+420 777 888 999",
        "Nerudova 808, Praha",
    ),
}
ERASED = ("p2", "p4")
CANARY = "canary-ref-7f3a91x"


def secrets(refs: tuple[str, ...] | list[str]) -> list[bytes]:
    found = []
    for ref in refs:
        name, email, phone, address = PEOPLE[ref]
        found += [
            name.encode(),
            email.encode(),
            phone.encode(),
            address.encode(),
            name.split()[-1].encode(),
            f"{address} bis".encode(),
        ]
    return found


def lifecycle(ledger: Ledger) -> dict[str, Any]:
    for ref, (name, email, phone, address) in PEOPLE.items():
        do(
            ledger,
            "register_account",
            "2026-01-05T09:00:00Z",
            account=ref,
            name=name,
            email=email,
            phone=phone,
            address=address,
            birth_date="1980-02-29",
        )
        do(
            ledger,
            "subscribe",
            "2026-01-05T09:00:00Z",
            account=ref,
            plan="basic",
            term="annual",
            payment_method="card",
        )  # no renewal before the erasures
    for ref, (_, _, _, address) in PEOPLE.items():
        do(
            ledger,
            "update_personal_data",
            "2026-01-06T09:00:00Z",
            account=ref,
            address=f"{address} bis",
        )
    for ref in PEOPLE:
        ledger.export(ref, parse_instant("2026-01-07T09:00:00Z"))
    # the control: account references are not personal data and stand in clear in the
    # views; finding this one proves the scan reads the right files
    do(
        ledger,
        "register_account",
        "2026-01-07T09:00:00Z",
        account=CANARY,
        name="C",
        email="c@example.test",
    )
    balances = {ref: ledger.state(ref)["balance"] for ref in PEOPLE}
    for ref in ERASED:
        do(ledger, "request_data_deletion", "2026-01-08T09:00:00Z", account=ref)
    ledger.tick(parse_instant("2026-02-08T00:00:00Z"))  # GDPR-1 deadlines passed
    return balances


def sqlite_files(db: Database) -> dict[str, bytes]:
    assert db.path is not None
    return {
        p.name: p.read_bytes() for p in db.path.parent.iterdir() if p.name.startswith(db.path.name)
    }


def postgres_files(db: Database, since: float) -> dict[str, bytes]:
    """Every table and index file of the ledger's schema, after a CHECKPOINT has written
    them out, and every WAL segment written during the test."""
    with psycopg.connect(**db.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CHECKPOINT")
        data = Path(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        paths = [
            row[0]
            for row in conn.execute(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'i', 't')",
                (db.schema,),
            )
            if row[0]
        ]
    files = {p: (data / p).read_bytes() for p in paths if (data / p).exists()}
    for segment in (data / "pg_wal").iterdir():
        if segment.is_file() and segment.stat().st_mtime >= since - 1:
            files[f"pg_wal/{segment.name}"] = segment.read_bytes()
    assert any(name.startswith("pg_wal/") for name in files)
    return files


def test_no_personal_data_in_clear_anywhere_and_replay_after_erasure(
    backend: Backend, broker: Broker
) -> None:
    started = time.time()
    db = backend.database("atrest")
    ledger = open_ledger(db)
    before_erasure = lifecycle(ledger)
    publish(ledger, broker)
    for ref in ERASED:
        assert ledger.state(ref)["privacy"]["personal_data"] == "erased"
    kept = [ref for ref in PEOPLE if ref not in ERASED]
    assert (
        ledger.export(kept[0], parse_instant("2026-02-09T00:00:00Z"))["fields"]["name"]
        == PEOPLE[kept[0]][0]
    )  # the others' data is still there, sealed
    files = sqlite_files(db) if db.is_sqlite else postgres_files(db, started)
    topics = {
        "subledger.events": b"".join(r.value or b"" for r in read_topic(broker.bootstrap)),
        "subledger.subjects": b"".join(
            (r.key or b"") + (r.value or b"")
            for r in read_topic(broker.bootstrap, "subledger.subjects")
        ),
    }
    everywhere = {**files, **topics}
    assert any(CANARY.encode() in blob for blob in files.values()), "the scan saw nothing"
    leaks = [
        (where, secret)
        for where, blob in everywhere.items()
        for secret in secrets(list(PEOPLE))
        if secret in blob
    ]
    assert leaks == [], f"personal data in clear: {leaks[:5]}"
    # replay from position 0 after erasure: the same money as before it
    assert {ref: ledger.state(ref)["balance"] for ref in PEOPLE} == before_erasure
    ledger.rebuild()
    assert {ref: ledger.state(ref)["balance"] for ref in PEOPLE} == before_erasure
    ledger.close()
