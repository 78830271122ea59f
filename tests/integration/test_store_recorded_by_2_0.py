"""Old stores stay readable: a store recorded by the code before issue 14 opens, replays
to what it showed, verifies and takes new work.

`tests/legacy_2_0/` holds a SQLite store made at commit 7773ff6 (`make_store.py` says how)
through the old command line and, for one idempotent request, the old HTTP API: taxes,
plan changes, the vendor's actions, credit waived, prepaid packages, dunning, a dispute,
a price change, GDPR requests. `expected.json` is what the old code showed at the
store's clock. Opened by today's code (moved modules, one declaration per command, the
request mark passed to the save), it must show the same answers through the same command
line (`status`, `events`, `journal`, `report`, `invoice`, `verify`), keep the HTTP
request's stored answer, and extend the log without breaking its hash chain.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_kit import isolate, run

from domain.calendar import parse_instant
from infra.interface.answers import REPORT_MONEY, decimal_rows, major

FIXTURE = Path(__file__).resolve().parents[1] / "legacy_2_0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
END = EXPECTED["as_of"]


def t(text: str) -> datetime:
    return parse_instant(text)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the 2.0 store (the fixture itself is never written), for today's code."""
    isolate(monkeypatch, tmp_path)
    monkeypatch.delenv("SUBLEDGER_MASTER_KEY", raising=False)
    for name in ("ledger.db", "subledger.key", "subledger.toml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    return tmp_path / "subledger.toml"


def cli(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> Any:
    code, out, err = run(capsys, "--config", str(config), "--json", *argv)
    assert code == 0, (argv, err)
    return json.loads(out)


def as_recorded(observed: Any, recorded: Any) -> Any:
    """The observed answer cut to the keys the old code recorded: a later version may add
    keys to an answer, never drop or change one. Lists keep their length."""
    if isinstance(recorded, dict) and isinstance(observed, dict):
        return {k: as_recorded(observed.get(k), v) for k, v in recorded.items()}
    if isinstance(recorded, list) and isinstance(observed, list) and len(recorded) == len(observed):
        return [as_recorded(o, r) for o, r in zip(observed, recorded, strict=True)]
    return observed


def in_todays_units(name: str, recorded: Any) -> Any:
    """What the old code showed, in the units the command line answers with since issue
    19 (README "Output: money, JSON, instants"): money as decimal strings, the answer
    named by `kind`. The amounts themselves must not move."""
    if name == "trial_balance":
        return {
            account: {
                "debits": major(t["debit"]),
                "credits": major(t["credit"]),
                "net": major(t["net"]),
            }
            for account, t in recorded.items()
        }
    if name == "verify":
        return {"kind": "verify", **recorded}
    return {**recorded, "rows": decimal_rows(recorded["rows"], REPORT_MONEY[name])}


def same(observed: Any, recorded: Any) -> bool:
    return bool(as_recorded(observed, recorded) == recorded)


def test_the_2_0_store_replays_to_what_it_showed(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    """Every account's state (from the read models rebuilt by today's projections, and
    from today's aggregate replaying its events), its stored events, the journal, the
    reports of the months the store covers and two documents (an invoice taxed at 21 %,
    a reverse-charge credit note, TAX-4/TAX-6) are what the old code showed; `verify`
    accepts the hash chain, and reading recorded nothing."""
    assert EXPECTED["verify"] == {"events": EXPECTED["events"], "ok": True}
    assert cli(capsys, config, "verify") == in_todays_units("verify", EXPECTED["verify"])
    cli(capsys, config, "project", "--rebuild")
    for ref, recorded in EXPECTED["accounts"].items():
        assert same(cli(capsys, config, "status", ref, "--as-of", END), recorded), ref
        events = cli(capsys, config, "events", ref)["events"]
        assert [[e["event"], e["version"]] for e in events] == EXPECTED["events_of"][ref]
    journal = cli(capsys, config, "journal")
    assert (len(journal["lines"]), journal["trial_balance"]) == (
        EXPECTED["journal_lines"],
        in_todays_units("trial_balance", EXPECTED["trial_balance"]),
    )
    for name, months in EXPECTED["reports"].items():
        if name == "ageing":
            assert same(
                cli(capsys, config, "report", name, "--at", END), in_todays_units(name, months)
            )
            continue
        for month, recorded in months.items():
            observed = cli(capsys, config, "report", name, "--month", month, "--at", END)
            assert same(observed, in_todays_units(name, recorded)), (name, month)
    for which, recorded in EXPECTED["documents"].items():
        ref, n, *note = which.split()
        argv = ["invoice", ref, n] + (["--credit-note", note[0][1:]] if note else [])
        assert same(cli(capsys, config, *argv), recorded), which
    assert cli(capsys, config, "verify") == in_todays_units("verify", EXPECTED["verify"])


def test_the_2_0_store_replays_in_the_aggregate(config: Path) -> None:
    """The aggregate (not the read models) replays each account to the state the old
    code showed, and each account's next deadline is the one the old recorder indexed."""
    from domain.account import account_id
    from domain.calendar import sortable_instant
    from infra.application.bootstrap import build_ledger
    from infra.config import load_config

    ledger = build_ledger(load_config(config))
    try:
        for ref, recorded in EXPECTED["accounts"].items():
            assert same(ledger.state_as_of(ref, t(END)), recorded), ref
            due = ledger.account(ref).next_deadline()
            assert (None if due is None else sortable_instant(due)) == EXPECTED["deadlines"].get(
                str(account_id(ref))
            ), ref
        assert ledger.app.recorder.max_notification_id() == EXPECTED["events"]
    finally:
        ledger.close()


def test_the_2_0_http_answer_and_key_are_kept(config: Path) -> None:
    """The API key made by the old code still authenticates with its scopes, and the
    request it sent with an Idempotency-Key still gets its stored answer (a retry within
    the retention window is a replay, not a second payment); its payment is recorded
    once."""
    from infra.application.bootstrap import build_ledger
    from infra.config import load_config
    from infra.persistence.api_keys import ApiKeyStore
    from infra.persistence.idempotency import ClaimState, IdempotencyStore, fingerprint

    http = EXPECTED["http"]
    ledger = build_ledger(load_config(config))
    try:
        datastore, dialect = ledger.app.datastore, ledger.store.dialect
        key = ApiKeyStore(datastore, dialect).authenticate(http["api_key"])
        assert key is not None and key.key_id == http["key_id"]
        assert sorted(key.scopes) == ["read", "write"]
        with ledger.store.transaction(commit=False) as c:
            c.execute(dialect("SELECT claimed_at, committed FROM {t:idempotency_keys}"))
            claimed_at, committed = c.fetchone()
        assert committed == 1  # marked by the command's own transaction
        print_ = fingerprint(
            ledger.app.keys.derived_key(b"subledger idempotency"),
            "POST",
            http["path"],
            json.dumps(http["body"]).encode(),
        )
        claim = IdempotencyStore(datastore, dialect).claim(
            key.key_id, http["idempotency_key"], print_, int(claimed_at) + 60
        )
        assert claim.state is ClaimState.REPLAY and claim.stored is not None
        assert (claim.stored.status, json.loads(claim.stored.body)) == (
            http["status"],
            http["answer"],
        )
        payments = [
            e
            for e in ledger.events("be-b2b")
            if type(e).__name__ == "PaymentReceived" and e.reference == http["body"]["reference"]
        ]
        assert len(payments) == 1
    finally:
        ledger.close()


def test_the_2_0_store_takes_new_work(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """Extended by today's code: fr-b2b renews at the upgraded plan's price, reverse
    charged (TAX-1, CHANGE-2, RENEW-1); a new Belgian customer pays the price the old
    store announced (PRICE-1), taxed at 21 %, and renews; the
    hash chain still verifies over old and new events; the old answers as of the store's
    clock do not move."""
    cli(
        capsys,
        config,
        "register-account",
        "be-new",
        "--name",
        "Be New",
        "--email",
        "be-new@example.test",
        "--country",
        "BE",
        "--at",
        "2026-11-20T10:00:00Z",
    )
    cli(
        capsys,
        config,
        "subscribe",
        "be-new",
        "--plan",
        "basic",
        "--term",
        "monthly",
        "--payment-method",
        "card",
        "--at",
        "2026-11-20T10:00:00Z",
    )
    cli(capsys, config, "tick", "--to", "2027-01-06T00:00:00Z", "--allow-future")
    later = "2027-01-06T00:00:00Z"
    new = cli(capsys, config, "status", "be-new", "--as-of", later)
    assert [
        (i["net"], i["tax"], i["amount"], i["tax_category"], i["issued_at"])
        for i in new["invoices"]
    ] == [
        ("35.00", "7.35", "42.35", "S", "2026-11-20T10:00:00Z"),
        ("35.00", "7.35", "42.35", "S", "2026-12-20T10:00:00Z"),
    ]
    renewed = cli(capsys, config, "status", "fr-b2b", "--as-of", later)["invoices"][-1]
    assert (
        renewed["net"],
        renewed["tax"],
        renewed["amount"],
        renewed["tax_category"],
        renewed["issued_at"],
    ) == ("2400.00", "0.00", "2400.00", "AE", "2027-01-05T10:00:00Z")
    verified = cli(capsys, config, "verify")
    assert verified["ok"] is True and verified["events"] > EXPECTED["events"]
    for ref, recorded in EXPECTED["accounts"].items():
        assert same(cli(capsys, config, "status", ref, "--as-of", END), recorded), ref
    totals = cli(capsys, config, "journal")["trial_balance"].values()
    assert sum(Decimal(a["debits"]) for a in totals) == sum(Decimal(a["credits"]) for a in totals)
