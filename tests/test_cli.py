"""The `subledger` command line: exit statuses, error codes and output (SPEC section 0).

Most tests call `infra.entrypoints.cli.main.main(argv)` in-process (fast, output through capsys); a few
run the real entry point in a subprocess to check exit statuses and signals end to end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from backends import Backend
from cli_kit import T0, configure, isolated, run  # noqa: F401 - isolated is a fixture

from domain.profiles import BUILT_IN_PROFILES
from infra.config import load_config
from infra.interface.vocabulary import VOCABULARY

ROOT = Path(__file__).resolve().parents[1]
SHARED_SCENARIOS = Path(os.environ.get("SUBLEDGER_SCENARIOS", ROOT.parent / "shared" / "scenarios"))
if not SHARED_SCENARIOS.is_dir():  # a clone on its own: the copy kept in the tests
    SHARED_SCENARIOS = ROOT / "tests" / "scenarios" / "public"
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def config(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A config file on each store, initialised as an operator would (`db init`)."""
    path = tmp_path / "subledger.toml"
    configure(capsys, monkeypatch, backend, path, init=True)
    return str(path)


def cli(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "--config", config, *argv)


def register_and_subscribe(
    capsys: pytest.CaptureFixture[str], config: str, method: str = "bank_transfer"
) -> None:
    code, out, err = cli(
        capsys,
        config,
        "register-account",
        "acme",
        "--name",
        "Acme BV",
        "--email",
        "ap@acme.test",
        "--at",
        T0,
    )
    assert (code, err) == (0, ""), err
    assert out.startswith("ok: register_account acme")
    code, out, err = cli(
        capsys,
        config,
        "subscribe",
        "acme",
        "--plan",
        "basic",
        "--term",
        "annual",
        "--payment-method",
        method,
        "--at",
        T0,
    )
    assert code == 0, err


# ------------------------------------------------------------------ help and init
def test_help_documents_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in [
        *(do.replace("_", "-") for do in VOCABULARY),
        "init",
        "status",
        "events",
        "tick",
        "scheduler",
        "scenario",
        "demo",
        "db",
        "project",
        "privacy",
        "relay",
        "consume",
        "verify",
        "history",
        "journal",
        "report",
    ]:
        assert re.search(rf"\n    {name}\s", out), name


@pytest.mark.parametrize("do", sorted(VOCABULARY))
def test_every_vocabulary_command_has_a_subcommand_with_its_fields(
    capsys: pytest.CaptureFixture[str], do: str
) -> None:
    code, out, _ = run(capsys, do, "--help")  # the underscore form is accepted too
    assert code == 0
    for field in VOCABULARY[do].fields:
        assert ("ACCOUNT" if field.name == "account" else field.option) in out


def test_init_writes_a_config_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.toml"
    code, out, _ = run(capsys, "init", "--path", str(path), "--profile", "device-cloud")
    assert code == 0 and "device-cloud" in out
    config = load_config(path)
    assert config.profile == BUILT_IN_PROFILES["device-cloud"]
    assert config.database == tmp_path / "subledger.db"

    code, _, err = run(capsys, "init", "--path", str(path))
    assert code == 2 and "--force" in err
    assert load_config(path).profile.name == "device-cloud"
    code, _, _ = run(capsys, "init", "--path", str(path), "--force")
    assert code == 0 and load_config(path).profile.name == "monthly-autorenew"


def test_init_defaults_to_subledger_toml_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init")[0] == 0
    assert (tmp_path / "subledger.toml").exists()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (None, None),
        ('[ledger]\nprofile = "nope"\n[catalog.basic]\nannual = "1.00"\n', "ledger.profile"),
        ('[ledger]\ncurrency = "EUR"\n[catalog.basic]\nannual = "1.001"\n', "catalog.basic.annual"),
    ],
)
def test_config_errors_exit_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, key: str | None
) -> None:
    path = tmp_path / "broken.toml"
    if text is not None:
        path.write_text(text)
    code, out, _ = run(capsys, "--config", str(path), "--json", "status", "acme")
    assert code == 2
    doc = json.loads(out)
    assert doc["error"] == "invalid_input" and doc["file"] == str(path)
    assert doc["key"] == key
    code, _, err = run(capsys, "--config", str(path), "status", "acme")
    assert code == 2 and err.startswith(f"error: invalid_input: {path}")


# ------------------------------------------------------------------ commands
def test_register_subscribe_then_status_json_shows_the_subscription(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    code, out, _ = cli(capsys, config, "status", "acme", "--json", "--at", "2026-01-10T00:00:00Z")
    assert code == 0
    state = json.loads(out)
    assert state["status"] == "active" and state["access"] is True
    assert (state["plan"], state["term"]) == ("basic", "annual")
    assert state["access_until"] == "2027-01-05T09:00:00Z"
    assert state["invoices"][0]["n"] == 1 and state["invoices"][0]["status"] == "open"
    assert state["balance"]["outstanding"] == "290.00"  # the template's annual price

    code, out, _ = cli(capsys, config, "status", "acme", "--at", "2026-01-10T00:00:00Z")
    assert code == 0 and "active" in out and "annual-b2b" in out and "290.00" in out


def test_status_runs_scheduled_work_up_to_at_first(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    code, out, _ = cli(
        capsys, config, "--json", "status", "acme", "--at", "2026-01-19T09:00:01Z"
    )  # PAY-2/PAY-3: overdue, suspended
    assert code == 0
    state = json.loads(out)
    assert state["status"] == "suspended" and state["invoices"][0]["status"] == "overdue"
    assert state["balance"]["fees"] == "150.00"


def test_json_success_and_underscore_command_names(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    argv = (
        "--json",
        "record_payment",
        "acme",
        "--amount",
        "90.00",
        "--reference",
        "r-1",
        "--at",
        "2026-01-06T00:00:00Z",
    )
    code, out, _ = cli(capsys, config, *argv)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["recorded"] is True
    assert (doc["command"], doc["account"]) == ("record_payment", "acme")
    code, out, _ = cli(capsys, config, *argv)  # idempotent: the same reference is a no-op
    assert code == 0 and json.loads(out)["recorded"] is False


def test_whole_number_fields_are_passed_as_numbers(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    code, _, err = cli(
        capsys,
        config,
        "dispute-invoice",
        "acme",
        "--invoice",
        "1",
        "--reason",
        "wrong PO",
        "--at",
        "2026-01-06T00:00:00Z",
    )
    assert code == 0, err
    code, out, _ = cli(
        capsys,
        config,
        "--json",
        "dispute-invoice",
        "acme",
        "--invoice",
        "7",
        "--reason",
        "no such",
        "--at",
        "2026-01-06T00:00:00Z",
    )
    assert code == 2 and json.loads(out)["error"] == "unknown_invoice"


def test_rejected_command_exits_2_with_its_code(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    argv = (
        "subscribe",
        "acme",
        "--plan",
        "basic",
        "--term",
        "annual",
        "--payment-method",
        "card",
        "--at",
        T0,
    )
    code, out, err = cli(capsys, config, "--json", *argv)
    assert code == 2 and err == ""
    assert json.loads(out) == {
        "kind": "error",
        "error": "already_subscribed",
        "message": "the account already has a subscription",
    }
    code, out, err = cli(capsys, config, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: already_subscribed: ")
    code, out, _ = cli(capsys, config, "status", "nobody", "--json")
    assert code == 2 and json.loads(out)["error"] == "unknown_account"


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--amount", "12.345", "amount"),
        ("--at", "2026-01-01T10:00:00+02:00", "at"),
        ("--at", "2026-02-30T10:00:00Z", "at"),
        ("--at", "2026-01-01", "at"),
        ("--amount", "twelve", "amount"),
    ],
)
def test_invalid_input_exits_2(
    config: str, capsys: pytest.CaptureFixture[str], option: str, value: str, field: str
) -> None:
    register_and_subscribe(capsys, config)
    argv = {
        "--amount": "12.00",
        "--reference": "r-1",
        "--at": "2026-01-06T00:00:00Z",
        option: value,
    }
    code, out, _ = cli(
        capsys, config, "--json", "record-payment", "acme", *(x for kv in argv.items() for x in kv)
    )
    assert code == 2
    doc = json.loads(out)
    assert doc["error"] == "invalid_input" and doc["field"] == field


def test_missing_option_and_unknown_option_exit_2(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, config, "--json", "record-payment", "acme", "--amount", "1.00")
    assert code == 2 and json.loads(out)["error"] == "invalid_input"
    assert "--reference" in json.loads(out)["message"]
    code, _, err = cli(
        capsys,
        config,
        "record-payment",
        "acme",
        "--amount",
        "1.00",
        "--reference",
        "r",
        "--colour",
        "red",
    )
    assert code == 2 and "error: invalid_input:" in err and "--colour" in err


def test_events_lists_history_oldest_first_with_personal_data_sealed(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    cli(capsys, config, "tick", "--to", "2026-03-01T00:00:00Z")
    code, out, _ = cli(capsys, config, "events", "acme", "--json")
    assert code == 0
    answer = json.loads(out)
    assert (answer["kind"], answer["account"], answer["currency"]) == ("events", "acme", "EUR")
    events = answer["events"]
    versions = [e["version"] for e in events]
    assert versions == sorted(versions) and versions[0] == 1
    assert [e["event"] for e in events[:3]] == ["Registered", "Subscribed", "InvoiceIssued"]
    assert events[0]["fields"]["personal"] == "<sealed>"
    assert "InterestCharged" in [e["event"] for e in events]
    effective = [e["at"] for e in events]
    assert effective == sorted(effective)

    code, out, _ = cli(capsys, config, "events", "acme")
    lines = out.splitlines()
    assert code == 0 and "Registered" in lines[1] and "Subscribed" in lines[2]
    assert "personal=<sealed>" in lines[1] and "Acme" not in out


def test_export_personal_data_prints_the_export(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    register_and_subscribe(capsys, config)
    code, out, _ = cli(
        capsys, config, "export-personal-data", "acme", "--at", "2026-01-06T00:00:00Z"
    )
    assert code == 0
    assert out.startswith("everything held about acme") and "name: Acme BV" in out
    assert "outstanding: 290.00 EUR" in out  # money for people: with the currency
    code, out, _ = cli(
        capsys, config, "--json", "export-personal-data", "acme", "--at", "2026-01-07T00:00:00Z"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "personal_data_export" and doc["as_of"] == "2026-01-07T00:00:00Z"
    assert doc["account"] == "acme" and doc["fields"]["name"] == "Acme BV"
    assert (doc["currency"], doc["balance"]["outstanding"]) == ("EUR", "290.00")


def test_tick_and_scheduler_once(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    register_and_subscribe(capsys, config)
    code, out, _ = cli(capsys, config, "--json", "tick", "--to", "2026-02-01T00:00:00Z")
    doc = json.loads(out)
    assert code == 0 and doc["kind"] == "tick" and doc["as_of"] == "2026-02-01T00:00:00Z"
    # what ran, per account, read back from the events the tick recorded (issue 19)
    assert {"overdue", "compensation_charged", "interest_charged"} <= {
        w["what"] for w in doc["ran"] if w["account"] == "acme"
    }
    assert doc["total"] == len(doc["ran"]) >= 3
    code, out, _ = cli(capsys, config, "tick", "--to", "2026-02-01T00:00:00Z")
    assert code == 0 and out.startswith("ran 0 ") and "total: 0 event(s)" in out
    code, out, _ = cli(capsys, config, "scheduler", "--once")
    assert code == 0 and "ran" in out


# ------------------------------------------------------------------ history
def test_history_and_status_at_a_log_position(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auditors: the timeline with positions, effective and recorded times and the state
    each event left; `status --position N` answers as the log stood at N."""
    register_and_subscribe(capsys, config)
    assert (
        cli(
            capsys,
            config,
            "record-payment",
            "acme",
            "--amount",
            "1200.00",
            "--reference",
            "r1",
            "--at",
            "2026-01-10T09:00:00Z",
        )[0]
        == 0
    )
    code, out, err = cli(capsys, config, "--json", "history", "acme")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["kind"], answer["account"], answer["currency"]) == ("history", "acme", "EUR")
    steps = answer["steps"]
    assert [s["event"] for s in steps][:3] == ["Registered", "Subscribed", "InvoiceIssued"]
    issued = next(s for s in steps if s["event"] == "InvoiceIssued")
    assert issued["outstanding"] != "0.00" and issued["at"] == T0 and issued["recorded_at"]
    assert steps[-1]["outstanding"] == "0.00"
    assert [s["position"] for s in steps] == sorted(s["position"] for s in steps)
    code, out, _ = cli(
        capsys, config, "--json", "status", "acme", "--position", str(issued["position"])
    )
    assert code == 0 and json.loads(out)["balance"]["outstanding"] == issued["outstanding"]
    code, out, _ = cli(
        capsys, config, "--json", "status", "acme", "--position", str(steps[-1]["position"])
    )
    assert json.loads(out)["balance"]["outstanding"] == "0.00"
    code, _, err = cli(capsys, config, "status", "acme", "--position", "0")
    assert code == 2 and "invalid_input" in err
    # --as-of: from the events effective before the instant, after the clock moved on
    code, out, _ = cli(
        capsys, config, "--json", "status", "acme", "--as-of", "2026-01-10T08:00:00Z"
    )
    assert code == 0 and json.loads(out)["balance"]["outstanding"] == issued["outstanding"]
    code, out, _ = cli(
        capsys, config, "--json", "status", "acme", "--as-of", "2026-01-10T09:00:01Z"
    )
    assert json.loads(out)["balance"]["outstanding"] == "0.00"
    code, _, err = cli(capsys, config, "status", "acme", "--as-of", "2025-01-01T00:00:00Z")
    assert code == 2 and "unknown_account" in err  # it did not exist yet


def test_journal_and_report_commands(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    register_and_subscribe(capsys, config)  # annual-b2b: basic annual 290.00 (template)
    code, out, err = cli(capsys, config, "journal", "--account", "acme")
    assert code == 0, err
    assert "balanced" in out.splitlines()[-1]
    code, out, _ = cli(capsys, config, "--json", "journal")
    assert json.loads(out)["balanced"] is True
    code, out, err = cli(capsys, config, "report", "mrr", "--csv", "--at", T0)
    assert code == 0, err  # as of T0: nothing effective before it yet
    assert out.splitlines() == ["plan,mrr,arr,subscriptions"]
    code, out, err = cli(capsys, config, "report", "mrr", "--csv", "--at", "2026-01-06T00:00:00Z")
    assert out.splitlines() == ["plan,mrr,arr,subscriptions", "basic,24.16,289.92,1"]
    code, out, _ = cli(
        capsys, config, "--json", "report", "revenue", "--month", "2026-01", "--at", T0
    )
    assert json.loads(out)["rows"][0]["invoiced"] == "290.00"
    # issue 18: how January's MRR moved, as CSV (contraction and churn are negative)
    code, out, err = cli(
        capsys,
        config,
        "report",
        "mrr-movements",
        "--month",
        "2026-01",
        "--csv",
        "--at",
        "2026-03-01T00:00:00Z",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "month,opening,new,expansion,contraction,churn,reactivation,closing,until",
        "2026-01,0.00,24.16,0.00,0.00,0.00,0.00,24.16,2026-02-01T00:00:00Z",
    ]
    code, _, err = cli(capsys, config, "report", "mrr-movements", "--month", "2026-13")
    assert code == 2 and "invalid_input" in err
    code, _, err = cli(capsys, config, "journal", "--account", "nobody")
    assert code == 2 and "unknown_account" in err


# ------------------------------------------------------------------ privacy
def test_privacy_report_csv_and_export(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """GDPR-6 report (one CSV line per account) and GDPR-4 export, itself audited."""
    register_and_subscribe(capsys, config)
    assert (
        cli(capsys, config, "request-data-deletion", "acme", "--at", "2026-01-06T09:00:00Z")[0] == 0
    )
    code, out, err = cli(
        capsys, config, "privacy", "report", "--csv", "--at", "2026-01-07T00:00:00Z"
    )
    assert code == 0, err
    header, row = out.strip().splitlines()
    assert header.split(",")[:8] == [
        "account",
        "profile",
        "personal_data",
        "erased_at",
        "deletion_requested_at",
        "deletion_due_at",
        "deletion_completed_at",
        "deletion_overdue",
    ]
    assert row.split(",")[:8] == [
        "acme",
        "annual-b2b",
        "erased",
        "2026-01-06T09:00:00Z",
        "2026-01-06T09:00:00Z",
        "2026-02-05T09:00:00Z",
        "2026-01-06T09:00:00Z",
        "false",
    ]
    assert row.split(",")[11:13] == ["retained", "2036-01-05T09:00:00Z"]
    code, out, err = cli(
        capsys, config, "--json", "privacy", "export", "acme", "--at", "2026-01-08T00:00:00Z"
    )
    assert code == 0, err
    exported = json.loads(out)
    assert exported["fields"]["email"] == "erased"  # the contact data went at once
    assert exported["invoice_identity"]["fields"] == {"name": "Acme BV", "address": None}
    code, out, _ = cli(
        capsys, config, "--json", "privacy", "report", "--at", "2026-01-09T00:00:00Z"
    )
    records = json.loads(out)["accounts"][0]["processing_records"]
    assert [r["what"] for r in records][-1] == "export"  # the export is audited too


# ------------------------------------------------------------------ scenarios
SCENARIO_FILES = sorted(SHARED_SCENARIOS.glob("*.json"))


@pytest.mark.skipif(not SCENARIO_FILES, reason=f"no scenario files in {SHARED_SCENARIOS}")
@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_run_passes_every_shared_scenario(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    code, out, err = run(capsys, "scenario", "run", str(path))
    assert code == 0, out + err
    assert out.startswith("PASS ") and len(out.splitlines()) == 1


def _scenario(tmp_path: Path, steps: list[dict[str, object]]) -> Path:
    path = tmp_path / "case.json"
    path.write_text(
        json.dumps(
            {
                "name": "case",
                "profile": "annual-b2b",
                "currency": "EUR",
                "catalog": {"basic": {"annual": "1200.00"}},
                "steps": steps,
            }
        )
    )
    return path


REGISTER = {
    "at": T0,
    "do": "register_account",
    "account": "a",
    "name": "A",
    "email": "a@example.test",
}


@pytest.mark.parametrize(
    ("step", "field"),
    [
        (
            {
                "at": T0,
                "do": "record_payment",
                "account": "a",
                "amount": "1.00",
                "reference": "r",
                "colour": "red",
            },
            "colour",
        ),
        (
            {"at": T0, "do": "record_payment", "account": "a", "amount": "1.001", "reference": "r"},
            "amount",
        ),
        ({"at": "2026-02-30T00:00:00Z", "do": "record_activity", "account": "a"}, "at"),
    ],
)
def test_malformed_scenario_exits_2_naming_step_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: dict[str, object], field: str
) -> None:
    path = _scenario(tmp_path, [REGISTER, step])
    code, out, err = run(capsys, "scenario", "run", str(path))
    assert code == 2 and out == ""
    assert str(path) in err and "step 1" in err and f"field {field}" in err


def test_failing_scenario_exits_1_and_still_emits_every_expect_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        [
            REGISTER,
            {"at": T0, "expect": {"a": {"status": "active"}}},
            {"at": T0, "expect": {"a": {"status": "none"}}},
        ],
    )
    code, out, _ = run(capsys, "scenario", "run", str(path), "--emit-state")
    assert code == 1
    lines = out.splitlines()
    emitted = [json.loads(line) for line in lines if line.startswith("{")]
    assert [e["step"] for e in emitted] == [1, 2]
    assert emitted[0]["state"]["a"]["status"] == "none"
    assert any(line.startswith("step 1 ") for line in lines)
    assert not any(line.startswith("step 2 ") for line in lines)


def test_scenario_database_option_keeps_the_event_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kept.db"
    path = _scenario(tmp_path, [REGISTER])
    assert run(capsys, "scenario", "run", str(path), "--database", str(db))[0] == 0
    assert db.exists()
    assert run(capsys, "scenario", "run", str(path), "--database", str(db))[0] == 2


# ------------------------------------------------------------------ demo
def test_demo_runs_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0, out
    for name in BUILT_IN_PROFILES:
        assert f"== {name} " in out
    for word in ("trial_expired", "30.00", "erased", "soft_deleted", "closed"):
        assert word in out
    assert "unexpected" not in out


def test_demo_kafka_publishes_and_feeds_the_entitlement_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's first command: the demo on SQLite and a local broker."""
    code, out, _ = run(capsys, "demo", "--kafka")
    assert code == 0, out
    lines = [line for line in out.splitlines() if "events published once each" in line]
    assert len(lines) == len(BUILT_IN_PROFILES)
    for line in lines:
        agreed, total = re.search(r"on (\d+) of (\d+) customers", line).groups()  # type: ignore[union-attr]
        assert agreed == total and int(total) > 0
    assert "unexpected" not in out


def test_demo_mrr_movements_reconcile_every_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18 on the demo's ledgers, through `report mrr-movements` and `report mrr`:
    every month of every profile, opening + movements = closing, opening and closing are
    the MRR report's totals at the month's bounds, each month opens where the last one
    closed; and the demo moves MRR in each of the five ways."""
    from infra.interface.answers import REPORT_MONEY
    from projections.mrr_movements import MOVEMENTS

    MONEY = {*REPORT_MONEY["mrr"], *REPORT_MONEY["mrr-movements"]}

    code, out, _ = run(capsys, "demo", "--database", str(tmp_path / "demo"))
    assert code == 0 and "unexpected" not in out, out
    bounds = [
        f"{year}-{month:02d}"
        for year, month in [(2026, m) for m in range(1, 13)] + [(2027, 1), (2027, 2)]
    ]
    moved: set[str] = set()

    def report(config: str, *argv: str) -> list[dict[str, Decimal]]:
        code, out, err = run(capsys, "--config", config, "--json", "report", *argv)
        assert code == 0, err
        rows = json.loads(out)["rows"]  # money as decimal strings: summed exactly
        return [{k: Decimal(v) if k in MONEY else v for k, v in row.items()} for row in rows]

    for profile in BUILT_IN_PROFILES:
        config = str(tmp_path / "demo" / f"{profile}.toml")
        mrr_at = [
            sum((r["mrr"] for r in report(config, "mrr", "--at", f"{m}-01T00:00:00Z")), Decimal(0))
            for m in bounds
        ]
        for i, month in enumerate(bounds[:-1]):
            row = report(config, "mrr-movements", "--month", month, "--at", "2027-03-01T00:00:00Z")[
                0
            ]
            assert row["opening"] + sum(row[m] for m in MOVEMENTS) == row["closing"], row
            assert (row["opening"], row["closing"]) == (mrr_at[i], mrr_at[i + 1]), row
            moved |= {m for m in MOVEMENTS if row[m]}
    assert moved == set(MOVEMENTS)


def test_demo_database_refuses_existing_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "demo-annual-b2b.db").write_text("")
    code, _, err = run(capsys, "demo", "--database", str(tmp_path / "demo.db"))
    assert code == 2 and "demo-annual-b2b.db" in err


# ------------------------------------------------------------------ the real entry point
def _subledger(*argv: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.entrypoints.cli", *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_entry_point_exit_status_and_stderr(config: str, tmp_path: Path) -> None:
    proc = _subledger(
        "--config",
        config,
        "record-payment",
        "nobody",
        "--amount",
        "1.00",
        "--reference",
        "r",
        "--at",
        T0,
        cwd=tmp_path,
    )
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert err.strip().splitlines()[-1].startswith("error: unknown_account: ")


def test_scheduler_loop_stops_on_sigterm(config: str, tmp_path: Path) -> None:
    proc = _subledger("--config", config, "scheduler", "--interval", "0.1", cwd=tmp_path)
    assert proc.stdout is not None
    started = proc.stdout.readline()  # printed once the ledger is open and handlers are set
    assert started.startswith("scheduler:")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "scheduler stopped" in out
