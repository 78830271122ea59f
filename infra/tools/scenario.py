"""`subledger scenario run`: the acceptance interface of scenarios/FORMAT.md.

Runs a scenario through the real ledger (SQLite event store in a fresh file, scheduler,
projections, consumers); only the clock and the payment provider are simulated. A
malformed file is reported before anything runs (exit 2), with file, step and field.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from uuid import uuid4

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consumers.payment_provider import SimulatedPaymentProvider
from domain.calendar import format_instant, parse_instant
from domain.commands import Command
from domain.errors import ErrorCode, Rejected, invalid
from domain.tax import TaxTable
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig, parse_catalog, parse_currency, parse_tax, resolve_profile
from infra.interface.vocabulary import VOCABULARY, parse_command
from infra.persistence.database import DatabaseNotReadyError, drop_schema, parse_database_url
from infra.persistence.keystore import parse_master_key, write_master_key_file

TOP_LEVEL_KEYS = {
    "name",
    "profile",
    "currency",
    "catalog",
    "steps",
    "profiles",
    "description",
    "comment",
    "notes",
    "tax",
}
STEP_KEYS = {"at", "do", "expect", "expect_error", "comment", "note"}
ERROR_CODES = {code.value for code in ErrorCode}


class ScenarioFormatError(Exception):
    def __init__(
        self, path: str, message: str, step: int | None = None, field_name: str | None = None
    ) -> None:
        parts = [path]
        if step is not None:
            parts.append(f"step {step}")
        if field_name is not None:
            parts.append(f"field {field_name}")
        super().__init__(": ".join(parts) + ": " + message)


@dataclass
class Step:
    index: int
    at: datetime
    command: Command | None = None
    psp: tuple[str, str] | None = None
    expect: dict[str, Any] | None = None
    expect_error: str | None = None
    refused: Rejected | None = None  # the command's fields were refused before it ran


@dataclass
class Scenario:
    name: str
    config_profile: Any
    currency: str
    catalog: dict[str, dict[str, int]]
    steps: list[Step] = field(default_factory=list)
    tax: TaxTable | None = None  # SPEC section 9


def load_scenario(path: Path) -> Scenario:
    name = str(path)
    try:
        data = json.loads(path.read_text(), parse_float=Decimal)
    except FileNotFoundError:
        raise ScenarioFormatError(name, "no such file") from None
    except OSError as e:
        raise ScenarioFormatError(name, f"cannot be read: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ScenarioFormatError(name, f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ScenarioFormatError(name, "the top level must be an object")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ScenarioFormatError(
            name, f"unknown top-level key(s) {unknown}", field_name=unknown[0]
        )
    for key in ("profile", "currency", "catalog", "steps"):
        if key not in data:
            raise ScenarioFormatError(name, f"missing {key}", field_name=key)
    try:
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict):
            raise invalid("profiles must be an object", "profiles")
        profile = resolve_profile(data["profile"], profiles)
        currency = parse_currency(data["currency"])
        catalog = parse_catalog(data["catalog"])
        tax = parse_tax(data.get("tax"))
    except Rejected as e:
        raise ScenarioFormatError(name, e.message, field_name=e.field) from None
    if not isinstance(data["steps"], list):
        raise ScenarioFormatError(name, "steps must be a list", field_name="steps")
    scenario = Scenario(
        name=str(data.get("name", path.stem)),
        config_profile=profile,
        currency=currency,
        catalog=catalog,
        tax=tax,
    )
    previous: datetime | None = None
    for index, raw in enumerate(data["steps"]):
        step = _parse_step(name, index, raw)
        if previous is not None and step.at < previous:
            raise ScenarioFormatError(name, "steps must not go back in time", index, "at")
        previous = step.at
        scenario.steps.append(step)
    return scenario


def _parse_step(name: str, index: int, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise ScenarioFormatError(name, "a step must be an object", index)
    try:
        at = parse_instant(raw.get("at"), "at")
    except Rejected as e:
        raise ScenarioFormatError(name, e.message, index, "at") from None
    has_do, has_expect = "do" in raw, "expect" in raw
    if has_do == has_expect:
        raise ScenarioFormatError(
            name, "a step has either do or expect", index, "do" if not has_do else "expect"
        )
    if has_expect:
        unknown = sorted(set(raw) - {"at", "expect", "comment", "note"})
        if unknown:
            raise ScenarioFormatError(name, f"unknown key(s) {unknown}", index, unknown[0])
        expect = raw["expect"]
        if not isinstance(expect, dict) or not all(isinstance(v, dict) for v in expect.values()):
            raise ScenarioFormatError(name, "expect maps account -> state subset", index, "expect")
        return Step(index=index, at=at, expect=expect)
    fields = {k: v for k, v in raw.items() if k not in STEP_KEYS}
    expect_error = raw.get("expect_error")
    if expect_error is not None and expect_error not in ERROR_CODES:
        raise ScenarioFormatError(
            name, f"unknown error code {expect_error!r}", index, "expect_error"
        )
    do = raw["do"]
    if do != "psp" and do not in VOCABULARY:
        raise ScenarioFormatError(name, f"unknown command {do!r}", index, "do")
    if do == "psp":
        return Step(
            index=index, at=at, psp=_parse_psp(name, index, fields), expect_error=expect_error
        )
    try:
        command = parse_command(str(do), fields, at)
    except Rejected as e:
        if expect_error is not None:
            # a step that means to be refused: it runs, and must be refused with that code
            return Step(index=index, at=at, expect_error=expect_error, refused=e)
        raise ScenarioFormatError(name, e.message, index, e.field) from None
    return Step(index=index, at=at, command=command, expect_error=expect_error)


def _parse_psp(name: str, index: int, fields: dict[str, Any]) -> tuple[str, str]:
    unknown = sorted(set(fields) - {"account", "outcome"})
    if unknown:
        raise ScenarioFormatError(name, f"psp has no field(s) {unknown}", index, unknown[0])
    account = fields.get("account")
    outcome = fields.get("outcome", "approve")
    if not isinstance(account, str) or not account:
        raise ScenarioFormatError(name, "psp needs an account", index, "account")
    if outcome not in ("approve", "decline"):
        raise ScenarioFormatError(name, "outcome is approve or decline", index, "outcome")
    return account, outcome


# ------------------------------------------------------------------ matching
def matches(expected: Any, observed: Any, key: str | None = None) -> bool:
    if isinstance(expected, dict):
        return isinstance(observed, dict) and all(
            k in observed and matches(v, observed[k], k) for k, v in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(observed, list):
            return False
        if key == "notices":
            kinds = {e.get("kind") for e in expected if isinstance(e, dict)}
            observed = [o for o in observed if o.get("kind") in kinds]
        return len(expected) == len(observed) and all(
            matches(e, o) for e, o in zip(expected, observed, strict=True)
        )
    if isinstance(expected, Decimal) and isinstance(observed, str):
        return False
    return bool(expected == observed)


def _subset(expected: Any, observed: Any) -> Any:
    """The part of `observed` that `expected` talks about, for failure reports."""
    if isinstance(expected, dict) and isinstance(observed, dict):
        return {k: _subset(v, observed.get(k)) for k, v in expected.items()}
    return observed


# ------------------------------------------------------------------ running
@dataclass
class RunResult:
    failures: list[str]
    emitted: list[bytes]
    steps: int


def run_scenario(
    scenario: Scenario,
    database: Path | None = None,
    out: TextIO | None = None,
    emit_state: bool = False,
    database_url: str | None = None,
) -> RunResult:
    """Run on a new event store: a SQLite file (`database`, else a temporary one), or a
    PostgreSQL schema: the URL's `schema`, which must not hold a ledger yet and is kept,
    else a temporary schema dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="subledger-scenario-") as tmp:
        db = database or Path(tmp) / "ledger.db"
        provider = SimulatedPaymentProvider()
        # a new store: a new master key, kept beside a store that is kept (made owner-only
        # from the start, and never over an existing key file)
        master_key = AESGCM.generate_key(bit_length=256)
        if database is not None:
            key_file = database.with_name(database.name + ".key")
            if not write_master_key_file(key_file):
                raise DatabaseNotReadyError(
                    f"{key_file} exists: a scenario needs a new event store and its own key"
                )
            master_key = parse_master_key(key_file.read_text(), str(key_file))
        config = LedgerConfig(
            database=db,
            profile=scenario.config_profile,
            currency=scenario.currency,
            catalog=scenario.catalog,
            master_key=master_key,
            tax=scenario.tax,
        )
        temporary = None
        if database_url is not None:
            target = parse_database_url(database_url)
            if not target.is_sqlite and "schema=" not in database_url:
                temporary = target = target.with_schema(f"scenario_{uuid4().hex[:16]}")
            config = replace(config, database_url=target.url())
        try:
            ledger = build_ledger(config, provider, create=True, fresh=True)
            try:
                return _run(ledger, provider, scenario, out, emit_state)
            finally:
                ledger.close()
        finally:
            if temporary is not None:
                drop_schema(temporary)


def _run(
    ledger: Ledger,
    provider: SimulatedPaymentProvider,
    scenario: Scenario,
    out: TextIO | None,
    emit_state: bool,
) -> RunResult:
    failures: list[str] = []
    emitted: list[bytes] = []
    for step in scenario.steps:
        if step.expect is not None:
            ledger.tick(step.at)
            state: dict[str, Any] = {}
            for account in step.expect:
                try:
                    state[account] = ledger.state(account, as_of=step.at)
                except Rejected as e:
                    state[account] = e.as_dict()
            line = orjson.dumps(
                {"step": step.index, "at": _iso(step.at), "state": state},
                option=orjson.OPT_SORT_KEYS,
            )
            emitted.append(line)
            if emit_state and out is not None:
                out.write(line.decode() + "\n")
            for account, expected in step.expect.items():
                if not matches(expected, state[account]):
                    failures.append(
                        f"step {step.index} ({_iso(step.at)}) {account}: expected "
                        f"{_dump(expected)} observed {_dump(_subset(expected, state[account]))}"
                    )
            continue
        failure = _run_command(ledger, provider, step)
        if failure:
            failures.append(f"step {step.index} ({_iso(step.at)}): {failure}")
    return RunResult(failures=failures, emitted=emitted, steps=len(scenario.steps))


def _run_command(ledger: Ledger, provider: SimulatedPaymentProvider, step: Step) -> str | None:
    before = ledger.app.recorder.max_notification_id() or 0
    try:
        ledger.tick(step.at)
        before = ledger.app.recorder.max_notification_id() or 0
        if step.refused is not None:
            raise step.refused
        if step.psp is not None:
            provider.set_outcome(*step.psp)
        else:
            assert step.command is not None
            ledger.execute(step.command)
    except Rejected as e:
        if step.expect_error == e.code.value:
            after = ledger.app.recorder.max_notification_id() or 0
            return (
                None
                if after == before
                else f"rejected with {e.code.value} but recorded {after - before} event(s)"
            )
        wanted = f"expected {step.expect_error}" if step.expect_error else "expected success"
        return f"{wanted}, got {e.code.value}: {e.message}"
    if step.expect_error:
        return f"expected {step.expect_error}, but the command succeeded"
    return None


def _iso(at: datetime) -> str:
    return format_instant(at) or ""


def _dump(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).decode()
