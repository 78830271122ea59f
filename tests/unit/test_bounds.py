"""Issue 13: the bounds of domain/bounds.py, and that the OpenAPI document's schemas
(infra/entrypoints/http/schemas.py) accept exactly what the parsers accept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import bounds
from domain.errors import ErrorCode, Rejected
from infra.entrypoints.http import schemas
from infra.interface.vocabulary import VOCABULARY, parse_command

AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


def refused(parse: Any, value: Any, field: str) -> Rejected:
    with pytest.raises(Rejected) as caught:
        parse(value, field)
    assert caught.value.field == field
    return caught.value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("acme-1", True),
        ("a", True),
        ("A.b_c-d@e+f:g", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("a/b", False),
        ("a..b", False),
        ("..", False),
        (".a", False),
        ("-a", False),
        ("a b", False),
        (" a", False),
        ("a\x00", False),
        ("caf\u00e9", False),
        ("\u0661", False),
        (12, False),
        (None, False),
    ],
)
def test_a_new_identifier(value: Any, ok: bool) -> None:
    """A new account's reference is usable as a URL path segment as it is."""
    if ok:
        assert bounds.identifier(value, "account") == value
    else:
        assert refused(bounds.identifier, value, "account").code is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(("field", "longest"), sorted(bounds.TEXT_LENGTHS.items()))
def test_every_text_field_has_its_length(field: str, longest: int) -> None:
    assert bounds.field_text("x" * longest, field) == "x" * longest
    refused(bounds.field_text, "x" * (longest + 1), field)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\t"])
def test_free_text_holds_no_control_character(bad: str) -> None:
    refused(bounds.field_text, f"Ann{bad}Example", "name")
    refused(bounds.field_text, f"1 Main St{bad}", "address")


def test_an_address_may_hold_newlines_a_name_may_not() -> None:
    assert bounds.field_text("1 Main St\n1000 AA Town", "address") == "1 Main St\n1000 AA Town"
    refused(bounds.field_text, "Ann\nExample", "name")


@pytest.mark.parametrize(
    ("field", "largest"), [("months", 120), ("invoice", 2**31 - 1), ("position", 2**63 - 1)]
)
def test_whole_numbers_have_their_maximum(field: str, largest: int) -> None:
    assert bounds.field_whole(largest, field) == largest
    for bad in (0, -1, largest + 1, True, "12", 1.0, None):
        refused(bounds.field_whole, bad, field)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-01-05T09:00:00Z", True),
        ("1970-01-01T00:00:00Z", True),
        ("2999-12-31T23:59:59Z", True),
        ("3000-01-01T00:00:00Z", False),
        ("1969-12-31T23:59:59Z", False),
        ("9999-12-31T23:59:59Z", False),
        ("0001-01-01T00:00:00Z", False),
        ("2026-01-05T09:00:00+01:00", False),
        ("\u0662\u0660\u0662\u0666-01-05T09:00:00Z", False),
        ("2026-01-05", False),
        ("2" * 100, False),
    ],
)
def test_instants_lie_within_the_bounds(value: str, ok: bool) -> None:
    if ok:
        assert bounds.instant(value, "at").year < 3000
    else:
        refused(bounds.instant, value, "at")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-01", True),
        ("1970-01", True),
        ("2999-12", True),
        ("2026-13", False),
        ("2026-00", False),
        ("9999-12", False),
        ("1969-12", False),
        ("2026-1", False),
        ("2026-01\n", False),
        ("\u0662\u0660\u0662\u0666-01", False),
        (202601, False),
    ],
)
def test_report_months(value: Any, ok: bool) -> None:
    if ok:
        assert bounds.month(value) == value
    else:
        refused(bounds.month, value, "month")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1990-04-01", True),
        ("1900-01-01", True),
        ("1899-12-31", False),
        ("9999-12-31", False),
        ("1990-02-30", False),
        ("1990-04-01T00:00:00Z", False),
    ],
)
def test_birth_dates(value: str, ok: bool) -> None:
    if ok:
        assert bounds.birth_date(value, "birth_date").isoformat() == value
    else:
        refused(bounds.birth_date, value, "birth_date")


def test_json_depth_is_measured_without_recursion() -> None:
    assert bounds.json_depth({"a": 1}) == 1
    assert bounds.json_depth({"a": [[1]]}) == 3
    deep: Any = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    assert bounds.json_depth({"a": deep}) > bounds.MAX_JSON_DEPTH


def test_every_command_field_is_bounded() -> None:
    """A field of any command, of any length, is refused past its bound: no parser of
    the vocabulary takes an unbounded text (a new field gets its bound by using one)."""
    for do, declaration in VOCABULARY.items():
        for f in declaration.fields:
            field = f.name
            with pytest.raises(Rejected, match=field):
                f.parse("7" * 100_000, field)
            with pytest.raises(Rejected):
                parse_command(do, {field: "7" * 100_000}, AT)


# ------------------------------------------------------------------ the document agrees
@given(st.text(max_size=12) | st.sampled_from(["a..b", "a.", ".a", "a.b", "a..", "-a"]))
def test_the_documents_identifier_pattern_is_the_domains(value: str) -> None:
    documented = (
        bool(re.fullmatch(schemas.IDENTIFIER_PATTERN, value)) and len(value) <= bounds.MAX_ID_LENGTH
    )
    try:
        bounds.identifier(value, "account")
        accepted = True
    except Rejected:
        accepted = False
    assert documented == accepted, value


@given(st.text(max_size=40), st.sampled_from(["name", "address", "reason"]))
def test_the_documents_text_schema_is_the_domains(value: str, field: str) -> None:
    schema = schemas.text(field)
    documented = bool(re.fullmatch(schema["pattern"], value)) and len(value) <= schema["maxLength"]
    try:
        bounds.field_text(value, field)
        accepted = True
    except Rejected:
        accepted = False
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in value):  # no JSON carries those
        assert documented == accepted, (field, value)


def test_a_new_account_is_an_identifier_in_the_document_and_the_parser() -> None:
    body = schemas.body_schema(VOCABULARY["register_account"])
    assert body["properties"]["account"]["pattern"] == schemas.IDENTIFIER_PATTERN
    with pytest.raises(Rejected):
        parse_command(
            "register_account", {"account": "a/b", "name": "A", "email": "a@example.com"}, AT
        )
