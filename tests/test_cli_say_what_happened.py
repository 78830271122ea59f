"""The CLI says what happened (issue 19): `tick` lists per account what its scheduled
work did; `subscribe` and `status` say when a term will not renew (RENEW-2) and when
the scheduler's clock is ahead of the wall clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(path), "--profile", "monthly-autorenew")[0] == 0
    return str(path)


def cli(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "--config", config, *argv)


def customer(capsys: pytest.CaptureFixture[str], config: str, ref: str, method: str) -> str:
    code, _, err = cli(
        capsys, config, "register-account", ref, "--name", "N", "--email", f"{ref}@x.test",
        "--at", T0,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = cli(
        capsys, config, "subscribe", ref, "--plan", "basic", "--term", "monthly",
        "--payment-method", method, "--at", T0,
    )  # fmt: skip
    assert code == 0, err
    return out


def test_subscribe_says_a_term_paid_by_hand_will_not_renew(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = customer(capsys, config, "bob", "paypal")
    assert "will not renew: the term ends at 2026-02-05T09:00:00Z (RENEW-2" in out
    assert "renews automatically at 2026-02-05T09:00:00Z" in customer(capsys, config, "amy", "card")
    code, out, _ = cli(capsys, config, "--json", "status", "bob", "--at", "2026-01-06T00:00:00Z")
    doc = json.loads(out)
    assert doc["renewal"] == {
        "renews": False,
        "at": "2026-02-05T09:00:00Z",
        "reason": "manual_method",
        "rule": "RENEW-2",
        "payment_method": "paypal",
    }
    code, out, _ = cli(capsys, config, "status", "bob", "--at", "2026-01-06T00:00:00Z")
    assert code == 0 and "will not renew" in out and "RENEW-2" in out
    code, out, _ = cli(
        capsys, config, "request-cancellation", "amy", "--at", "2026-01-06T00:00:00Z"
    )
    assert code == 0
    code, out, _ = cli(capsys, config, "status", "amy", "--at", "2026-01-07T00:00:00Z")
    assert "will not renew: cancelled" in out


def test_tick_lists_what_ran_per_account_from_the_events_it_recorded(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    customer(capsys, config, "amy", "card")
    customer(capsys, config, "bob", "paypal")
    code, out, _ = cli(capsys, config, "--json", "tick", "--to", "2026-03-01T00:00:00Z")
    doc = json.loads(out)
    assert code == 0 and set(doc) >= {"kind", "as_of", "ran", "total"}
    assert (doc["kind"], doc["as_of"]) == ("tick", "2026-03-01T00:00:00Z")
    ran = [(w["account"], w["what"], w["at"]) for w in doc["ran"]]
    assert ("amy", "renewed", "2026-02-05T09:00:00Z") in ran
    assert ("amy", "invoiced", "2026-02-05T09:00:00Z") in ran
    assert ("bob", "overdue", "2026-01-05T09:00:00Z") in ran
    assert ("bob", "suspended", "2026-01-12T09:00:00Z") in ran
    assert ("bob", "ended", "2026-02-05T09:00:00Z") in ran
    assert doc["total"] == len(ran)
    assert [w["account"] for w in doc["ran"]] == sorted(w["account"] for w in doc["ran"])
    code, out, _ = cli(capsys, config, "tick", "--to", "2026-04-01T00:00:00Z")
    lines = out.splitlines()
    assert lines[0].startswith("ran 1 piece(s) of scheduled work up to 2026-04-01T00:00:00Z")
    assert any(line.split()[:3] == ["amy", "2026-03-05T09:00:00Z", "renewed"] for line in lines)
    assert lines[-1] == f"total: {len(lines) - 2} event(s) on 1 account(s)"


def test_status_and_subscribe_warn_when_the_scheduler_clock_is_ahead(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    customer(capsys, config, "amy", "card")
    code, out, _ = cli(capsys, config, "status", "amy")
    assert code == 0 and "warning: scheduled work has run up to" not in out
    far = "2099-01-01T00:00:00Z"
    assert cli(capsys, config, "tick", "--to", far, "--allow-future")[0] == 0
    code, out, _ = cli(capsys, config, "status", "amy")
    assert f"warning: scheduled work has run up to {far}, ahead of the wall clock" in out
    code, out, _ = cli(capsys, config, "--json", "status", "amy")
    assert json.loads(out)["scheduler_clock_ahead"]["scheduler_clock"] == far
    code, _, _ = cli(capsys, config, "register-account", "cy", "--name", "N", "--email", "c@x.test")
    code, out, _ = cli(
        capsys, config, "--json", "subscribe", "cy", "--plan", "basic", "--term", "monthly",
        "--payment-method", "card",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["scheduler_clock_ahead"]["scheduler_clock"] == far
    assert doc["renewal"]["renews"] is True
