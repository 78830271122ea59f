"""Regression tests: every tests/scenarios/*.json (one SPEC rule or a few, expectations
computed by hand from SPEC.md) runs through the real scenario runner without a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import Backend

from infra.tools.scenario import load_scenario, run_scenario

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.json"))


def test_rule_scenarios_exist() -> None:
    assert SCENARIOS, "no scenario files found in tests/scenarios/"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_rule_scenario(path: Path, backend: Backend) -> None:
    scenario = load_scenario(path)
    db = backend.database("rule")
    result = run_scenario(
        scenario, database=db.path, database_url=None if db.is_sqlite else db.url()
    )
    assert result.steps == len(scenario.steps)
    assert not result.failures, "\n".join(result.failures)
