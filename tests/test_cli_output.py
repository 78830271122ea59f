"""The command line's output rule (README "Output: money, JSON, instants", issue 19):
every `--json` answer is one JSON object with its `kind` and what was asked, money as
decimal strings in major units beside a `currency`, never integers of minor units; the
text for people shows money with the currency; the demo's table adds up.

One small ledger per profile family (annual-b2b: dunning, disputes, the vendor's
actions, reports; device-cloud: prepaid packages) is driven through the command line
itself, and every subcommand that answers is run with `--json` on it (the ones that
run until stopped, and the demo, excepted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_kit import isolated, run  # noqa: F401 - isolated is a fixture

from domain.profiles import BUILT_IN_PROFILES
from infra.entrypoints.cli.main import build_parser
from infra.interface.answers import MONEY_KEYS
from infra.persistence.keystore import write_master_key_file

pytestmark = pytest.mark.usefixtures("isolated")

DECIMAL = re.compile(r"^-?\d+\.\d{2,3}$")
T0 = "2026-01-05T09:00:00Z"
LONG_RUNNING = {"serve", "relay", "consume", "demo"}  # run until stopped, or a whole story
# What each kind carries besides `kind` (README's table); `currency` wherever money is.
KEYS = {
    "receipt": {"ok", "command", "at", "recorded"},
    "personal_data_export": {"account", "as_of", "currency", "fields", "balance", "invoices"},
    "account_status": {"account", "as_of", "currency", "profile", "status", "balance"},
    "events": {"account", "currency", "events"},
    "history": {"account", "currency", "steps"},
    "journal": {"currency", "lines", "trial_balance", "debits", "credits", "balanced"},
    "report": {"report", "as_of", "currency", "rows"},
    "invoice": {"account", "number", "currency", "lines", "totals"},
    "invoice_written": {"ok", "account", "number", "format", "path", "bytes"},
    "privacy_report": {"as_of", "accounts"},
    "verify": {"ok", "events"},
    "db_init": {"ok", "database", "schema_version"},
    "db_check": {"ok", "database", "schema_version", "lag"},
    "project": {"ok", "head", "lag"},
    "tick": {"as_of", "ran", "total", "pieces", "accounts"},
    "init": {"ok", "path", "profile"},
    "api_key": {"id", "scopes"},
    "api_keys": {"keys"},
    "scenario_run": {"ok", "name", "steps", "failures"},
    "error": {"error", "message"},
}
HAS_MONEY = {
    "receipt",
    "personal_data_export",
    "account_status",
    "events",
    "history",
    "journal",
    "report",
    "invoice",
}


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of a JSON document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from walk(item, f"{path}[{n}]")


def check_answer(out: str, kind: str) -> dict[str, Any]:
    """One JSON object on stdout, of this kind, with its documented keys and money as
    decimal strings (never minor units, never a `*_minor` key)."""
    lines = out.strip().splitlines()
    assert len(lines) == 1, f"{kind}: {len(lines)} lines on stdout"
    doc = json.loads(lines[0])
    assert isinstance(doc, dict) and next(iter(doc)) == "kind", doc
    assert doc["kind"] == kind, doc
    missing = KEYS[kind] - doc.keys()
    assert not missing, (kind, missing)
    if kind in HAS_MONEY:
        assert re.fullmatch(r"[A-Z]{3}", doc["currency"]), doc
    for path, key, item in walk(doc):
        assert not key.endswith("_minor"), f"{kind}{path}.{key}"
        if key in MONEY_KEYS and item is not None and not isinstance(item, (dict, list)):
            assert isinstance(item, str) and DECIMAL.match(item), f"{kind}{path}.{key}={item!r}"
    return doc


class Ledger:
    """A config file of its own and the commands run on it, each with `--json`."""

    def __init__(self, capsys: pytest.CaptureFixture[str], config: Path) -> None:
        self.capsys, self.config = capsys, config
        self.ran: set[str] = set()

    def json(self, kind: str, *argv: str, code: int = 0) -> dict[str, Any]:
        status, out, err = run(self.capsys, "--config", str(self.config), "--json", *argv)
        assert status == code, (argv, out, err)
        self.ran.add(argv[0])
        return check_answer(out, kind)

    def text(self, *argv: str) -> str:
        status, out, err = run(self.capsys, "--config", str(self.config), *argv)
        assert status == 0, (argv, err)
        return out

    def do(self, *argv: str) -> dict[str, Any]:
        """A command at an instant of the story (the clock may run ahead of now)."""
        return self.json("receipt", *argv, "--allow-future")


def ledger_for(
    capsys: pytest.CaptureFixture[str], folder: Path, profile: str, catalog: str
) -> Ledger:
    folder.mkdir()
    write_master_key_file(folder / "subledger.key")
    config = folder / "subledger.toml"
    config.write_text(
        f'[ledger]\ndatabase = "{folder / "ledger.db"}"\n'
        f'master_key_file = "{folder / "subledger.key"}"\n'
        f'profile = "{profile}"\ncurrency = "EUR"\n{catalog}\n'
        '[seller]\nname = "Example BV"\naddress = "Rue de la Loi 16, 1000 Brussels"\n'
        'vat_id = "BE0403170701"\n'
    )
    return Ledger(capsys, config)


@pytest.fixture
def b2b(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Ledger:
    """annual-b2b: three customers; one pays late (interest, compensation, collection
    costs), one disputes, one never pays (cancelled for non-payment); a price change."""
    ledger = ledger_for(
        capsys,
        tmp_path / "b2b",
        "annual-b2b",
        '[catalog.basic]\nannual = "1200.00"\n[catalog.plus]\nannual = "1800.00"',
    )
    ledger.json("db_init", "db", "init")
    for ref in ("acme", "globex", "hooli"):
        ledger.do("register-account", ref, "--name", ref.title(), "--email", f"ap@{ref}.test",
                  "--at", T0)  # fmt: skip
    ledger.do("start-trial", "globex", "--plan", "basic", "--at", T0)
    for ref in ("acme", "globex", "hooli"):
        ledger.do("subscribe", ref, "--plan", "basic", "--term", "annual",
                  "--payment-method", "bank_transfer", "--at", "2026-01-06T09:00:00Z")  # fmt: skip
    ledger.do("dispute-invoice", "globex", "--invoice", "1", "--reason", "wrong entity",
              "--at", "2026-01-07T09:00:00Z")  # fmt: skip
    ledger.do("change-plan", "hooli", "--plan", "plus", "--at", "2026-01-08T09:00:00Z")
    ledger.do("record-payment", "acme", "--amount", "600.00", "--reference", "a1",
              "--at", "2026-01-10T09:00:00Z")  # fmt: skip
    ledger.json("tick", "tick", "--to", "2026-03-10T00:00:00Z", "--allow-future")
    ledger.do("record-collection-cost", "acme", "--amount", "40.00",
              "--at", "2026-03-10T09:00:00Z")  # fmt: skip
    ledger.do("record-payment", "acme", "--amount", "900.00", "--reference", "a2",
              "--at", "2026-03-11T09:00:00Z")  # fmt: skip
    ledger.do("cancel-for-nonpayment", "hooli", "--at", "2026-03-12T09:00:00Z")
    ledger.do("announce-price-change", "--plan", "basic", "--term", "annual",
              "--new-price", "1300.00", "--effective-at", "2026-09-01T00:00:00Z",
              "--at", "2026-03-13T09:00:00Z")  # fmt: skip
    ledger.do("record-activity", "acme", "--at", "2026-03-14T09:00:00Z")
    ledger.do("update-personal-data", "acme", "--phone", "+3225550100",
              "--at", "2026-03-14T09:00:00Z")  # fmt: skip
    ledger.do("request-cancellation", "acme", "--at", "2026-03-15T09:00:00Z")
    ledger.do("revoke-cancellation", "acme", "--at", "2026-03-16T09:00:00Z")
    ledger.do("suspend-account", "acme", "--reason", "chargeback", "--at", "2026-03-17T09:00:00Z")
    ledger.do("reinstate-account", "acme", "--at", "2026-03-18T09:00:00Z")
    ledger.do("terminate-by-vendor", "globex", "--reason", "abuse", "--export-days", "14",
              "--at", "2026-03-19T09:00:00Z")  # fmt: skip
    ledger.do("request-data-deletion", "hooli", "--at", "2026-03-20T09:00:00Z")
    return ledger


@pytest.fixture
def prepaid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Ledger:
    """device-cloud: prepaid packages, one queued and cancelled; an account closed."""
    ledger = ledger_for(
        capsys,
        tmp_path / "cloud",
        "device-cloud",
        '[catalog.cloud]\nmonthly = "5.00"\nannual = "50.00"',
    )
    ledger.do("register-account", "dev", "--name", "Dev", "--email", "dev@d.test", "--at", T0)
    for months, at in (("6", T0), ("3", "2026-01-06T09:00:00Z")):
        ledger.do("purchase-prepaid", "dev", "--plan", "cloud", "--months", months,
                  "--payment-method", "card", "--at", at)  # fmt: skip
    ledger.do("cancel-queued", "dev", "--at", "2026-01-07T09:00:00Z")
    ledger.do("register-account", "fay", "--name", "Fay", "--email", "fay@f.test", "--at", T0)
    ledger.do("request-account-closure", "fay", "--at", "2026-03-01T09:00:00Z")
    return ledger


def test_every_json_answer_is_one_object_with_its_kind_and_money_as_decimals(
    b2b: Ledger, prepaid: Ledger, tmp_path: Path
) -> None:
    at = "2026-03-21T00:00:00Z"
    status = b2b.json("account_status", "status", "acme", "--at", at, "--allow-future")
    assert (status["account"], status["as_of"], status["currency"]) == ("acme", at, "EUR")
    assert Decimal(status["balance"]["invoiced"]) > 0
    assert b2b.json("account_status", "status", "acme", "--position", "3")["position"] == 3
    day1 = "2026-01-06T00:00:00Z"
    assert b2b.json("account_status", "status", "acme", "--as-of", day1)["as_of"] == day1
    events = b2b.json("events", "events", "acme")["events"]
    issued = next(e for e in events if e["event"] == "InvoiceIssued")
    assert issued["fields"]["amount"] == "1200.00"
    assert b2b.json("history", "history", "acme")["steps"][-1]["outstanding"]
    journal = b2b.json("journal", "journal")
    assert journal["balanced"] is True and journal["debits"] == journal["credits"]
    one = b2b.json("journal", "journal", "--account", "acme", "--as-of", at)
    assert (one["account"], one["as_of"]) == ("acme", at)
    assert b2b.json("journal", "journal", "--position", "5")["position"] == 5
    for name in ("subscriptions", "mrr", "conversion", "ageing"):
        assert b2b.json("report", "report", name, "--at", at)["report"] == name
    for name in ("mrr-movements", "churn", "revenue", "vat"):
        doc = b2b.json("report", "report", name, "--month", "2026-01", "--at", at)
        assert doc["month"] == "2026-01"
    revenue = b2b.json("report", "report", "revenue", "--month", "2026-01", "--at", at)
    assert revenue["rows"][0]["invoiced"] == "4196.71"  # 3 x 1200, hooli's upgrade prorated
    invoice = b2b.json("invoice", "invoice", "acme", "1")
    assert (invoice["account"], invoice["totals"]["gross"]) == ("acme", "1200.00")
    b2b.json("invoice_written", "invoice", "acme", "1", "--format", "pdf",
             "--output", str(tmp_path / "acme-1.pdf"))  # fmt: skip
    export = b2b.json("personal_data_export", "export-personal-data", "acme",
                      "--at", at, "--allow-future")  # fmt: skip
    assert (export["account"], export["as_of"]) == ("acme", at)
    b2b.json("personal_data_export", "privacy", "export", "acme", "--at", at, "--allow-future")
    privacy = b2b.json("privacy_report", "privacy", "report", "--at", at, "--allow-future")
    assert [a["account"] for a in privacy["accounts"]] == ["acme", "globex", "hooli"]
    assert b2b.json("verify", "verify")["ok"] is True
    b2b.json("db_check", "db", "check")
    b2b.json("project", "project")
    b2b.json("tick", "scheduler", "--once")  # one tick, reported as `tick` does
    key = b2b.json("api_key", "apikey", "create", "--scope", "read", "--label", "bi")
    assert [k["id"] for k in b2b.json("api_keys", "apikey", "list")["keys"]] == [key["id"]]
    b2b.json("api_key", "apikey", "revoke", key["id"])
    scenario = sorted((Path(__file__).parent / "scenarios" / "public").glob("*.json"))[0]
    assert b2b.json("scenario_run", "scenario", "run", str(scenario))["ok"] is True
    refused = b2b.json("error", "record-payment", "acme", "--amount", "1.001",
                       "--reference", "x", code=2)  # fmt: skip
    assert refused["error"] == "invalid_input"
    b2b.json("init", "init", "--path", str(tmp_path / "other.toml"))
    for ref in ("dev", "fay"):
        prepaid.json("account_status", "status", ref, "--at", at, "--allow-future")
        prepaid.json("events", "events", ref)

    subcommands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert subcommands - b2b.ran - prepaid.ran == LONG_RUNNING


def test_text_shows_money_with_the_currency(b2b: Ledger) -> None:
    """People read `1200.00 EUR`, never a bare integer of cents."""
    at = "2026-03-21T00:00:00Z"
    status = b2b.text("status", "acme", "--at", at, "--allow-future")
    assert re.search(r"invoiced \d+\.\d{2} EUR, paid \d+\.\d{2} EUR", status), status
    assert re.search(r"outstanding  \d+\.\d{2} EUR \(principal", status), status
    events = b2b.text("events", "acme")
    assert 'amount="1200.00 EUR"' in events and "amount=120000" not in events
    history = b2b.text("history", "acme").splitlines()
    assert all(line.endswith(" EUR") for line in history[2:]), history
    assert len({len(line) for line in history[1:]}) == 1  # the columns are aligned
    assert not any(re.search(r"\d{2}:\d{2}:\d{2}\.\d", line) for line in history)  # no µs
    journal = b2b.text("journal", "--account", "acme")
    assert "trial balance (amounts in EUR)" in journal and "minor units" not in journal
    assert re.search(r"Dr +\d+\.\d{2} EUR", journal)
    revenue = b2b.text("report", "revenue", "--month", "2026-01", "--at", at)
    assert "invoiced=4196.71 EUR" in revenue and "minor units" not in revenue
    export = b2b.text("export-personal-data", "acme", "--at", at, "--allow-future")
    assert not export.lstrip().startswith("{") and re.search(r"invoiced: \d+\.\d{2} EUR", export)
    privacy = b2b.text("privacy", "report", "--at", at, "--allow-future")
    assert not privacy.lstrip().startswith("{") and "account: acme" in privacy
    receipt = b2b.text("record-payment", "acme", "--amount", "1.00", "--reference", "a3",
                       "--at", "2026-03-22T00:00:00Z", "--allow-future")  # fmt: skip
    assert re.search(r"outstanding -?\d+\.\d{2} EUR", receipt), receipt


def test_the_demo_table_adds_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every customer of every profile: invoiced + interest + fees = paid - refunded +
    outstanding - credit, as printed."""
    code, out, _ = run(capsys, "demo", "--database", str(tmp_path / "demo"))
    assert code == 0 and "unexpected" not in out, out
    headers = [line.split() for line in out.splitlines() if line.startswith("  customer ")]
    assert len(headers) == 4
    columns = headers[0]
    money = ["invoiced", "interest", "fees", "paid", "refunded", "outstanding", "credit"]
    assert all(name in columns for name in money)
    rows = 0
    for line in out.splitlines():
        cells = line.split()
        if len(cells) == len(columns) - 1 and cells[1] in BUILT_IN_PROFILES:  # "personal data"
            amount = {name: Decimal(cells[columns.index(name)]) for name in money}
            assert amount["invoiced"] + amount["interest"] + amount["fees"] == (
                amount["paid"] - amount["refunded"] + amount["outstanding"] - amount["credit"]
            ), line
            rows += 1
    assert rows >= 15
