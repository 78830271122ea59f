"""Issue 14: a command is declared once (infra/interface/vocabulary.py), and everything
the outside sees of it is derived from that declaration: the scenario `do`, the CLI
subcommand, the HTTP route with its body schema and scope. These tests keep the
declarations, the typed commands, the handlers and the domain's lists in step."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest

from domain import commands as c
from domain.activity import ACTIVITY_COMMANDS
from domain.errors import Rejected
from infra.application.handlers import HANDLERS
from infra.entrypoints.cli.main import build_parser
from infra.entrypoints.http.schemas import body_schema
from infra.interface.vocabulary import (
    DECLARATIONS,
    VOCABULARY,
    Declaration,
    Scope,
    parse_command,
)

AT = datetime(2026, 3, 1, tzinfo=UTC)
COMMAND_CLASSES = {
    cls
    for _, cls in inspect.getmembers(c, inspect.isclass)
    if issubclass(cls, c.Command) and cls is not c.Command
}
VENDOR = {
    "suspend_account",
    "reinstate_account",
    "terminate_by_vendor",
    "cancel_for_nonpayment",
}  # SPEC section 11


def test_every_command_is_declared_once_and_handled_once() -> None:
    """A dataclass without a declaration could not be sent; one without a handler could
    be sent and not run."""
    declared = [d.command for d in DECLARATIONS]
    assert sorted(declared, key=str) == sorted(COMMAND_CLASSES, key=str)
    assert len(set(declared)) == len(declared) == len(VOCABULARY)
    assert set(HANDLERS) == COMMAND_CLASSES


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.do)
def test_a_declaration_matches_its_dataclass(declaration: Declaration) -> None:
    """Every declared field is a field of the command, every field the command needs
    (no default) is declared required, and `account` comes first (positional)."""
    d = declaration
    fields = {f.name: f for f in dataclasses.fields(d.command) if f.name != "at"}
    assert [f.name for f in d.fields] == list(fields)
    for f in d.fields:
        needs = fields[f.name].default is dataclasses.MISSING
        assert f.required == needs, f.name


def test_the_vendors_commands_need_the_operator_scope() -> None:
    """SPEC section 11: the vendor's own commands take the `operator` scope, never
    `write`; no command of the operator is the customer's activity (ACCOUNT-3)."""
    operator = {d.do for d in DECLARATIONS if d.scope is Scope.OPERATOR}
    assert operator >= VENDOR
    assert not operator & ACTIVITY_COMMANDS
    assert {d.do for d in DECLARATIONS if d.scope is Scope.PRIVACY} == {
        "request_data_deletion",
        "export_personal_data",
    }


def test_routes_and_subcommands_are_unique() -> None:
    paths = [d.path for d in DECLARATIONS if d.path is not None]
    assert len(paths) == len(set(paths)) == len(DECLARATIONS) - 1  # the export is a GET
    names = [d.cli_name for d in DECLARATIONS]
    assert len(names) == len(set(names))
    for d in DECLARATIONS:  # a path's fields are fields of the command
        assert d.path_fields <= {f.name for f in d.fields}, d.do


def test_the_cli_and_the_body_schema_come_from_the_declaration() -> None:
    """What the declaration says is what the CLI offers and the document states."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "cmd")
    for d in DECLARATIONS:
        p = sub.choices[d.cli_name]  # type: ignore[index]
        options = {a.dest: a for a in p._actions}
        for f in d.fields:
            if f.name == "account":
                assert options["account"].metavar == "ACCOUNT"
                continue
            action = options[f"field_{f.name}"]
            assert (action.option_strings, action.required) == ([f.option], f.required)
        assert p.description.startswith(d.summary[:1].upper() + d.summary[1:])
        if d.path is not None:
            body = body_schema(d)
            assert set(body["properties"]) == ({f.name for f in d.fields} - d.path_fields | {"at"})
            assert body.get("required", []) == [
                f.name for f in d.fields if f.required and f.name not in d.path_fields
            ]


def test_update_personal_data_needs_one_change() -> None:
    with pytest.raises(Rejected, match="at least one of name"):
        parse_command("update_personal_data", {"account": "a"}, AT)
    assert parse_command(
        "update_personal_data", {"account": "a", "vat_id": ""}, AT
    ) == c.UpdatePersonalData(at=AT, account="a", vat_id="")


def test_unknown_commands_and_fields_are_refused_by_name() -> None:
    with pytest.raises(Rejected, match="unknown command 'pay'"):
        parse_command("pay", {}, AT)
    with pytest.raises(Rejected, match="record_payment has no field"):
        parse_command(
            "record_payment", {"account": "a", "amount": "1", "reference": "r", "memo": "x"}, AT
        )
