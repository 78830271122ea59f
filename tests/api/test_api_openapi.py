"""Issue 13, Why 6: the OpenAPI document states the headers the README promises and the
bounds the domain enforces (domain/bounds.py), from the same constants.

Before: no response header was declared (no Location, Idempotent-Replayed, Retry-After
or WWW-Authenticate) and no field had a length or a maximum.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_kit import Server

from domain import bounds


@pytest.fixture
def document(server: Server) -> dict[str, Any]:
    answer = httpx.get(server.url + "/openapi.json", timeout=30)
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in operation["parameters"] if p["name"] == name)
    return found


def body(operation: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_promised_header_is_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    register = paths["/accounts"]["post"]
    assert set(register["responses"]["201"]["headers"]) == {"Location", "Idempotent-Replayed"}
    for path, methods in paths.items():
        for method, operation in methods.items():
            responses = operation["responses"]
            if path in ("/health", "/openapi.json"):
                continue
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
            assert "Retry-After" in responses["503"]["headers"], (method, path)
            if method == "post":
                assert parameter(operation, "Idempotency-Key")["in"] == "header"
                assert "Retry-After" in responses["409"]["headers"], path
                ok = next(v for k, v in responses.items() if k in ("200", "201"))
                assert "Idempotent-Replayed" in ok["headers"], path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_bounds_are_the_domains(document: dict[str, Any]) -> None:
    paths = document["paths"]
    account = body(paths["/accounts"]["post"])["properties"]["account"]
    assert account["maxLength"] == bounds.MAX_ID_LENGTH and account["pattern"]
    assert (
        body(paths["/accounts"]["post"])["properties"]["name"]["maxLength"]
        == bounds.TEXT_LENGTHS["name"]
    )
    amount = body(paths["/accounts/{account}/payments"]["post"])["properties"]["amount"]
    as_text, as_integer = amount["anyOf"]
    assert as_text["maxLength"] == bounds.MAX_AMOUNT_TEXT_LENGTH
    assert as_integer["maximum"] * 100 <= bounds.MAX_AMOUNT_MINOR
    assert "9999999999.99" in amount["description"]
    months = body(paths["/accounts/{account}/prepaid"]["post"])["properties"]["months"]
    assert (months["minimum"], months["maximum"]) == (1, bounds.MAX_MONTHS)
    dispute = paths["/accounts/{account}/invoices/{invoice}/dispute"]["post"]
    assert parameter(dispute, "invoice")["schema"]["maximum"] == bounds.MAX_INVOICE_NUMBER
    state = paths["/accounts/{account}"]["get"]
    assert parameter(state, "position")["schema"]["anyOf"][0]["maximum"] == bounds.MAX_POSITION
    assert parameter(state, "account")["schema"]["maxLength"] == bounds.TEXT_LENGTHS["account"]
    month = parameter(paths["/reports/{name}"]["get"], "month")["schema"]["anyOf"][0]
    assert month["pattern"] == bounds.MONTH_PATTERN
