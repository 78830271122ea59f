"""Issue 13 at the command line: bounded input, the clock's margin, truthful history and
no tracebacks (Why 4 and 6).

Each case was reproduced before the change: the amounts, months and digits were taken,
`--at 9999-12-31T23:59:59Z` moved the ledger's clock to year 9999 (every later command
refused), `status --at T` printed "as of T" over a later state, `events` printed the
billing ciphertext, and a config folder, a binary key file, `init --path` into a missing
folder, a full disk, a corrupted event row and Ctrl-C each ended in a traceback.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture

from infra.entrypoints.cli import handlers as cli_handlers

pytestmark = pytest.mark.usefixtures("isolated")
ROOT = Path(__file__).resolve().parents[1]
AT = ("--at", T0)


@pytest.fixture
def ledger(capsys: pytest.CaptureFixture[str]) -> None:
    """./subledger.toml (device-cloud: prepaid packages) with one customer, ann."""
    assert run(capsys, "init", "--profile", "device-cloud")[0] == 0
    assert (
        run(
            capsys,
            "register-account",
            "ann",
            "--name",
            "Ann",
            "--email",
            "ann@example.com",
            "--address",
            "1 Main St",
            *AT,
        )[0]
        == 0
    )


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (
            ["record-payment", "ann", "--amount", "92233720368547758.08", "--reference", "r1"],
            "invalid_amount",
        ),
        (
            ["record-payment", "ann", "--amount", "\u0663\u0660.00", "--reference", "r1"],
            "invalid_input",
        ),
        (
            [
                "purchase-prepaid",
                "ann",
                "--plan",
                "basic",
                "--months",
                "99999999",
                "--payment-method",
                "card",
            ],
            "invalid_input",
        ),
        (
            [
                "purchase-prepaid",
                "ann",
                "--plan",
                "basic",
                "--months",
                "\u0661\u0662",
                "--payment-method",
                "card",
            ],
            "invalid_input",
        ),  # not 12: digits are ASCII
        (["register-account", "a/b", "--name", "A", "--email", "a@example.com"], "invalid_input"),
        (["register-account", "..", "--name", "A", "--email", "a@example.com"], "invalid_input"),
        (
            ["register-account", "bo", "--name", "A\u0000", "--email", "a@example.com"],
            "invalid_input",
        ),
        (
            ["dispute-invoice", "ann", "--invoice", "99999999999999999999999", "--reason", "x"],
            "invalid_input",
        ),
        (["status", "ann", "--position", "9223372036854775808"], "invalid_input"),
        (["journal", "--position", "99999999999999999999"], "invalid_input"),
        (["report", "churn", "--month", "9999-12"], "invalid_input"),
        (["report", "revenue", "--month", "2026-13"], "invalid_input"),
        (["report", "mrr", "--month", "2026-01"], "invalid_input"),  # never ignored
        (["status", "ann", "--as-of", "9999-12-31T00:00:00Z"], "invalid_input"),
    ],
)
def test_hostile_input_exits_2_with_its_code_and_records_nothing(
    ledger: None, capsys: pytest.CaptureFixture[str], argv: list[str], code: str
) -> None:
    at = [] if argv[0] in ("status", "journal", "report") else list(AT)
    status, out, _ = run(capsys, "--json", *argv, *at)
    assert (status, json.loads(out)["error"]) == (2, code), out
    assert run(capsys, "record-activity", "ann", *AT)[0] == 0  # the ledger goes on
    status, out, _ = run(capsys, "--json", "db", "check")
    assert status == 0 and json.loads(out)["halted"] == []
    assert run(capsys, "verify")[0] == 0


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["record-activity", "ann", "--at", "9999-12-31T23:59:59Z"], "outside"),
        (
            ["record-activity", "ann", "--at", "9999-12-31T23:59:59Z", "--allow-future"],
            "outside",
        ),  # beyond what any instant may be, simulation or not
        (["record-activity", "ann", "--at", "2126-01-05T09:00:00Z"], "--allow-future"),  # a typo
        (["tick", "--to", "2126-01-05T09:00:00Z"], "--allow-future"),
        (["status", "ann", "--at", "2126-01-05T09:00:00Z"], "--allow-future"),
        (["privacy", "report", "--at", "2126-01-05T09:00:00Z"], "--allow-future"),
    ],
)
def test_an_instant_far_ahead_of_the_wall_clock_needs_allow_future(
    ledger: None, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    """The clock would move there and every later command be refused as before it."""
    status, _, err = run(capsys, *argv)
    assert status == 2 and said in err and "invalid_input" in err
    assert run(capsys, "record-activity", "ann", *AT)[0] == 0  # the clock did not move


def test_allow_future_lets_a_simulation_run_ahead(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "tick", "--to", "2126-01-05T09:00:00Z", "--allow-future")
    assert status == 0, err  # a century of device-cloud: ann closed for inactivity
    status, _, err = run(
        capsys,
        "register-account",
        "bo",
        "--name",
        "Bo",
        "--email",
        "bo@example.com",
        "--at",
        "2126-02-01T00:00:00Z",
        "--allow-future",
    )
    assert status == 0, err
    status, _, err = run(
        capsys, "register-account", "cy", "--name", "Cy", "--email", "cy@example.com", *AT
    )  # now before that work
    assert status == 2 and "before scheduled work" in err


def test_the_margin_is_configured(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init")[0] == 0
    path = Path("subledger.toml")
    path.write_text(
        path.read_text().replace(
            'currency = "EUR"', 'currency = "EUR"\nfuture_margin_seconds = 7200'
        )
    )
    soon = cli_handlers.now().replace(microsecond=0)
    in_an_hour = soon.replace(hour=(soon.hour + 1) % 24) if soon.hour < 23 else soon
    assert (
        run(
            capsys,
            "register-account",
            "ann",
            "--name",
            "Ann",
            "--email",
            "ann@example.com",
            "--at",
            in_an_hour.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )[0]
        == 0
    )
    path.write_text(path.read_text().replace("7200", "-1"))
    status, _, err = run(capsys, "status", "ann")
    assert status == 2 and "future_margin_seconds" in err


def test_status_at_an_instant_the_ledger_has_passed_shows_it_as_it_stood(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: "as of 2026-01-10" over the state after the payment of 2026-01-20."""
    assert run(capsys, "init", "--profile", "annual-b2b")[0] == 0
    assert (
        run(capsys, "register-account", "acme", "--name", "Acme", "--email", "ap@acme.test", *AT)[0]
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
            *AT,
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            "record-payment",
            "acme",
            "--amount",
            "290.00",
            "--reference",
            "b1",
            "--at",
            "2026-01-20T00:00:00Z",
        )[0]
        == 0
    )
    status, out, _ = run(capsys, "status", "acme", "--at", "2026-01-10T00:00:00Z")
    assert status == 0
    assert (
        "as it stood at 2026-01-10T00:00:00Z (history: the ledger has run to "
        "2026-01-20T00:00:00Z)" in out
    )
    assert "paid 0.00" in out and "outstanding  290.00" in out
    status, out, _ = run(capsys, "--json", "status", "acme", "--at", "2026-01-10T00:00:00Z")
    assert json.loads(out)["balance"]["paid"] == "0.00"
    status, out, _ = run(capsys, "status", "acme", "--at", "2026-01-21T00:00:00Z")
    assert "history" not in out and "paid 290.00" in out


def test_events_never_print_ciphertext(ledger: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The contact data and the invoice identity (billing) are both sealed (GDPR-5/-3)."""
    status, out, _ = run(capsys, "events", "ann")
    assert status == 0
    registered = next(line for line in out.splitlines() if "Registered" in line)
    assert "personal=<sealed>" in registered and "billing=<sealed>" in registered
    status, out, _ = run(capsys, "--json", "events", "ann")
    fields = json.loads(out)["events"][0]["fields"]
    assert (fields["personal"], fields["billing"]) == ("<sealed>", "<sealed>")


# ------------------------------------------------------------------ no tracebacks
def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text


def test_a_config_path_that_is_a_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    status, out, err = run(capsys, "--config", str(tmp_path / "conf"), "status", "ann")
    assert status == 2 and no_traceback(out + err)
    assert f"{tmp_path / 'conf'}: cannot be read" in err


def test_a_binary_key_file(ledger: None, capsys: pytest.CaptureFixture[str]) -> None:
    Path("subledger.key").write_bytes(b"\xff\xfe\x00binary")
    status, out, err = run(capsys, "status", "ann")
    assert status == 2 and no_traceback(out + err)
    assert "ledger.master_key_file" in err and "not text" in err


def test_init_into_a_missing_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "init", "--path", str(tmp_path / "nope" / "s.toml"))
    assert status == 2 and no_traceback(out + err) and "does not exist" in err


def test_a_full_disk(capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    status, out, err = run(capsys, "init", "--path", "/dev/full", "--force")
    assert status == 2 and no_traceback(out + err) and "No space left on device" in err


def test_a_corrupted_event_row(ledger: None, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect("subledger.db") as db:
        db.execute("UPDATE stored_events SET state=X'00FF' WHERE rowid=1")
    for argv in (
        ["events", "ann"],
        ["history", "ann"],
        ["status", "ann", *AT],
        ["record-activity", "ann", *AT],
    ):
        status, out, err = run(capsys, *argv)
        assert status == 1 and no_traceback(out + err), (argv, err)
        assert err.startswith("error: "), (argv, err)
    status, _, err = run(capsys, "verify")  # and the auditors' check names the position
    assert status == 1 and "TAMPERED at position 1" in err


def test_ctrl_c_is_a_clean_exit(
    ledger: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_handlers, "run_command", interrupted)
    try:
        status, out, err = run(capsys, "record-activity", "ann", *AT)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the command line as a traceback")
    assert status == 130 and no_traceback(out + err) and "interrupted" in err


def test_git_ignores_the_keys() -> None:
    """The master key and signing keys never end up in a commit by accident."""
    for name in ("subledger.key", "audit.key", "deploy/prod/subledger.key"):
        done = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
        assert done.returncode == 0, name
