"""Config files: a fifth contract profile without code, and errors that name file and key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain import commands as c
from domain.errors import ErrorCode, Rejected
from infra.application.bootstrap import build_ledger
from infra.config import ConfigError, load_config
from infra.persistence.keystore import write_master_key_file

FIFTH = """
[ledger]
database = "fifth.db"
master_key_file = "fifth.key"
profile = "weekly-friends"
currency = "CHF"

[catalog.pro]
monthly = "10.00"
annual = "100.00"

[profiles.weekly-friends]
extends = "monthly-autorenew"
trial_days = 30
terms = ["annual"]
payment_terms_days = 5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subledger.toml"
    path.write_text(text)
    write_master_key_file(tmp_path / "fifth.key")
    return path


def test_a_fifth_profile_is_defined_in_the_config_file(tmp_path: Path) -> None:
    """SPEC profiles are data: a new contract (TRIAL-2, TERM-1, TERM-4 numbers) without code."""
    config = load_config(write(tmp_path, FIFTH))
    assert config.profile.name == "weekly-friends"
    assert config.profile.trial_days == 30
    assert config.profile.renewal_reminder_days == 30  # inherited from monthly-autorenew
    ledger = build_ledger(config)
    try:
        t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
        ledger.execute(c.RegisterAccount(at=t0, account="a", name="A", email="a@x.test"))
        ledger.execute(c.StartTrial(at=t0, account="a", plan="pro"))
        assert ledger.state("a")["access_until"] == "2026-02-04T09:00:00Z"  # 30 days
        with pytest.raises(Rejected) as refused:
            ledger.execute(
                c.Subscribe(
                    at=t0, account="a", plan="pro", term="monthly", payment_method="bank_transfer"
                )
            )
        assert refused.value.code is ErrorCode.TERM_NOT_OFFERED  # TERM-1
        ledger.execute(
            c.Subscribe(
                at=t0, account="a", plan="pro", term="annual", payment_method="bank_transfer"
            )
        )
        invoice = ledger.state("a")["invoices"][0]
        assert invoice["due_at"] == "2026-01-10T09:00:00Z"  # TERM-4: 5 payment days
        assert ledger.state("a")["balance"]["invoiced"] == "100.00"
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            FIFTH.replace("trial_days = 30", 'trial_days = "thirty"'),
            "profiles.weekly-friends.trial_days",
        ),
        (FIFTH.replace("payment_terms_days = 5", "grace = 5"), "profiles.weekly-friends.grace"),
        (FIFTH.replace('monthly = "10.00"', 'monthly = "10.001"'), "catalog.pro.monthly"),
        (FIFTH.replace('currency = "CHF"', 'currency = "francs"'), "ledger.currency"),
        (FIFTH.replace('profile = "weekly-friends"', 'profile = "nope"'), "ledger.profile"),
        (FIFTH.replace("[catalog.pro]", '[catalog.pro]\nweekly = "1.00"'), "catalog.pro.weekly"),
    ],
)
def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.path == str(path)
    assert error.value.key == key


def test_a_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="subledger init"):
        load_config(tmp_path / "absent.toml")


# ------------------------------------------------------------------ the master key
def test_init_writes_a_private_master_key_and_never_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.entrypoints.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUBLEDGER_MASTER_KEY", raising=False)
    assert main(["init"]) == 0
    key_file = tmp_path / "subledger.key"
    first = key_file.read_text()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert main(["init", "--force"]) == 0
    assert key_file.read_text() == first  # the data keys it wraps stay readable
    assert len(load_config(tmp_path / "subledger.toml").master_key or b"") == 32


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda d: (d / "fifth.key").unlink(), "cannot read the master key file"),
        (lambda d: (d / "fifth.key").write_text("not base64 at all!"), "not base64"),
        (lambda d: (d / "fifth.key").write_text("c2hvcnQ="), "must be 32 bytes"),
    ],
)
def test_a_missing_or_broken_master_key_is_a_clear_startup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: object, says: str
) -> None:
    monkeypatch.delenv("SUBLEDGER_MASTER_KEY", raising=False)
    path = write(tmp_path, FIFTH)
    setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=says) as error:
        load_config(path)
    assert error.value.key == "ledger.master_key_file"


def test_another_master_key_is_refused_never_silent_garbage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6: a ledger opened with a key other than the one that wrapped its data keys
    stops at start-up, before any personal data is read or written."""
    from infra.persistence.keystore import MasterKeyError, new_master_key

    monkeypatch.delenv("SUBLEDGER_MASTER_KEY", raising=False)
    path = write(tmp_path, FIFTH)
    ledger = build_ledger(load_config(path))
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    ledger.execute(c.RegisterAccount(at=t0, account="a", name="Ann", email="a@x.test"))
    ledger.close()
    monkeypatch.setenv("SUBLEDGER_MASTER_KEY", new_master_key())
    with pytest.raises(MasterKeyError, match="not the one this ledger"):
        build_ledger(load_config(path))
    monkeypatch.delenv("SUBLEDGER_MASTER_KEY")
    again = build_ledger(load_config(path))
    assert again.export("a", t0)["fields"]["name"] == "Ann"
    again.close()


def test_a_broken_signing_key_names_the_audit_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUBLEDGER_SIGNING_KEY", raising=False)
    path = write(tmp_path, FIFTH + '\n[audit]\nsigning_key_file = "audit.key"\n')
    (tmp_path / "audit.key").write_text("c2hvcnQ=")
    with pytest.raises(ConfigError, match="the signing key must be 32 bytes") as error:
        load_config(path)
    assert error.value.key == "audit.signing_key_file"
