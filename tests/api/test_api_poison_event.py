"""Issue 13, "Done when": an event no read model can handle, injected straight into the
event store of a running server, stops only what reads it; a normal command afterwards
answers 2xx; `/health`, `db check` and `project` name what stopped; a recorded skip is
the way out. Both stores.

Before issue 13 the first command after such an event answered 500 and so did every
later one (each settled the read models inline and met the event again), while
`/health` said ok and `db check` exited 0.
"""

from __future__ import annotations

import json
from dataclasses import replace
from uuid import uuid4

from api_kit import Installation, Server, day, subledger
from eventsourcing.persistence import StoredEvent

from domain.account import account_id
from infra.application.bootstrap import build_ledger
from infra.config import load_config

POISON_TOPIC = "domain.account:Account.CollectionRequested"  # views and collector read it


def inject(installation: Installation) -> int:
    """A stored event whose bytes are not an event (a bug, a hand edit), written with
    the ledger's own recorder (so the hash chain covers it); its log position."""
    config = load_config(installation.root / "subledger.toml")
    if "SUBLEDGER_DATABASE_URL" in installation.env:
        config = replace(config, database_url=installation.env["SUBLEDGER_DATABASE_URL"])
    ledger = build_ledger(config, create=False)
    try:
        ledger.app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=uuid4(),
                    originator_version=1,
                    topic=POISON_TOPIC,
                    state=b"\x00 not an event",
                )
            ]
        )
        return ledger.app.recorder.max_notification_id() or 0
    finally:
        ledger.close()


def subject_key_exists(installation: Installation, ref: str) -> bool:
    config = load_config(installation.root / "subledger.toml")
    if "SUBLEDGER_DATABASE_URL" in installation.env:
        config = replace(config, database_url=installation.env["SUBLEDGER_DATABASE_URL"])
    ledger = build_ledger(config, create=False)
    try:
        return ledger.app.keys.key(str(account_id(ref))) is not None
    finally:
        ledger.close()


def cli(installation: Installation, *argv: str) -> tuple[int, str, str]:
    done = subledger(*argv, cwd=installation.root, env=installation.env)
    return done.returncode, done.stdout, done.stderr


def test_a_poison_event_stops_only_its_readers_and_a_recorded_skip_ends_it(
    server: Server, installation: Installation
) -> None:
    api = server.client(installation.key("read", "write", "privacy"))
    assert (
        api.post(
            "/accounts",
            json={"account": "ann", "name": "Ann", "email": "ann@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/accounts/ann/subscription",
            json={"plan": "basic", "term": "monthly", "payment_method": "card", "at": day(0)},
        ).status_code
        == 200
    )
    assert (
        api.post(
            "/accounts",
            json={"account": "bob", "name": "Bob", "email": "bob@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    position = inject(installation)

    # a normal command after it: answered, with its state (folded from the log)
    activity = api.post("/accounts/ann/activity", json={"at": day(1)})
    assert activity.status_code == 200, activity.text
    assert activity.json()["status"] == "active" and activity.json()["recorded"] is True
    registered = api.post(
        "/accounts", json={"account": "cy", "name": "Cy", "email": "cy@example.com", "at": day(1)}
    )
    assert registered.status_code == 201 and registered.headers["location"] == "/accounts/cy"
    assert api.get("/accounts/cy").json()["status"] == "none"
    # the privacy keeper does not read that event's type: it goes on (Bob's key goes)
    assert api.post("/accounts/bob/deletion-request", json={"at": day(1)}).status_code == 200
    assert not subject_key_exists(installation, "bob")
    assert subject_key_exists(installation, "ann")

    health = api.get("/health")
    assert health.status_code == 503
    doc = health.json()
    assert doc["status"] == "degraded"
    assert {(h["name"], h["position"]) for h in doc["halted"]} == {
        ("accounts", position),
        ("collector", position),
    }
    assert all(h["event_id"].endswith(":1") and h["topic"] == POISON_TOPIC for h in doc["halted"])
    journal = api.get("/journal")  # read from the stopped views: refused, not stale
    assert journal.status_code == 503 and journal.json()["code"] == "read_model_halted"

    code, out, err = cli(installation, "db", "check")
    assert code == 1
    assert f"HALTED: accounts stopped on the event at position {position}" in err
    assert f"HALTED: collector stopped on the event at position {position}" in err
    assert "privacy_keeper stopped" not in err
    code, out, err = cli(installation, "--json", "db", "check")
    assert code == 1 and json.loads(out)["status"] == "halted"
    code, out, err = cli(installation, "project")
    assert code == 1 and f"accounts stopped on the event at position {position}" in err
    code, out, err = cli(installation, "project", "--rebuild")  # no fix: it stops again
    assert code == 1 and f"accounts stopped on the event at position {position}" in err
    assert "Traceback" not in err

    # the way out: a skip, recorded with its reason
    code, out, err = cli(installation, "project", "--skip", str(position))
    assert code == 2 and "--reason" in err  # why is not optional
    code, out, err = cli(
        installation,
        "project",
        "--skip",
        str(position),
        "--reason",
        "written by hand during an incident; no code reads it",
    )
    assert code == 0, err
    assert f"skipped the event at position {position}" in out
    code, out, err = cli(installation, "--json", "db", "check")
    assert code == 0, err
    checked = json.loads(out)
    assert checked["halted"] == [] and checked["max_lag"] == 0
    assert {(s["name"], s["position"], s["reason"]) for s in checked["skipped"]} == {
        (name, position, "written by hand during an incident; no code reads it")
        for name in ("accounts", "collector")
    }
    assert api.get("/health").status_code == 200
    assert api.post("/accounts/cy/activity", json={"at": day(2)}).status_code == 200
    assert api.get("/journal").json()["balanced"] is True
    code, out, err = cli(installation, "verify")
    assert code == 0, err
