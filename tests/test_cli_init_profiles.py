"""`init --profile P` writes a catalog of only the terms P offers (issue 19): every plan
and term of the written catalog can be subscribed to under that profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture

from domain.profiles import BUILT_IN_PROFILES
from infra.config import load_config

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.mark.parametrize("profile", sorted(BUILT_IN_PROFILES))
def test_every_catalog_term_init_writes_can_be_subscribed_to(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(path), "--profile", profile)[0] == 0
    catalog = load_config(path).catalog
    offered = set(BUILT_IN_PROFILES[profile].terms)
    terms = {(plan, term) for plan, prices in catalog.items() for term in prices}
    assert terms and {term for _, term in terms} == offered
    for i, (plan, term) in enumerate(sorted(terms)):
        account = f"c{i}"
        code, _, err = run(
            capsys, "--config", str(path), "register-account", account, "--name", "C",
            "--email", f"{account}@example.test", "--birth-date", "1980-01-01", "--at", T0,
        )  # fmt: skip
        assert code == 0, err
        code, _, err = run(
            capsys, "--config", str(path), "subscribe", account, "--plan", plan,
            "--term", term, "--payment-method", "card", "--at", T0,
        )  # fmt: skip
        assert code == 0, (profile, plan, term, err)
