"""Issue 13, Why 1 and 4: every hostile input of the issue over HTTP, on both stores, each
refused with a 4xx and its SPEC code (domain/bounds.py), and afterwards the ledger still
takes a normal command, nothing is halted and `verify` passes.

Before: the amounts were stored (and overflowed the journal, stopping every later
command), the nested body, the huge position, `month=9999-12`, `%00` and the 3,000
character id on PostgreSQL answered 500, `month=2026-13` was ignored, a package of
99,999,999 months crashed, Arabic-Indic digits were an amount, and `a/b` or `a..b` were
registered as ids no URL could address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import Installation, Server, day, subledger
from backends import Backend, require_postgres

NESTED = (
    b'{"account": "n1", "name": "N", "email": "n@example.com", "x": '
    + b"[" * 300
    + b"]" * 300
    + b"}"
)

# (what, method, path, json body or raw bytes, status, code)
HOSTILE: list[tuple[str, str, str, Any, int, str]] = [
    (
        "amount beyond int64",
        "POST",
        "/accounts/ann/payments",
        {"amount": "92233720368547758.08", "reference": "r-1", "at": day(1)},
        422,
        "invalid_amount",
    ),
    (
        "collection cost of 10^17",
        "POST",
        "/accounts/ann/collection-costs",
        {"amount": "100000000000000000.00", "at": day(1)},
        422,
        "invalid_amount",
    ),
    (
        "amount as a huge JSON integer",
        "POST",
        "/accounts/ann/payments",
        {"amount": 92233720368547758, "reference": "r-2", "at": day(1)},
        422,
        "invalid_amount",
    ),
    (
        "Arabic-Indic digits",
        "POST",
        "/accounts/ann/payments",
        {"amount": "\u0663\u0660.00", "reference": "r-3", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "id with NUL",
        "POST",
        "/accounts",
        {"account": "a\u0000b", "name": "A", "email": "a@example.com", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "id of 3,000 characters",
        "POST",
        "/accounts",
        {"account": "x" * 3000, "name": "A", "email": "a@example.com", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "id with a slash",
        "POST",
        "/accounts",
        {"account": "a/b", "name": "A", "email": "a@example.com", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "id with ..",
        "POST",
        "/accounts",
        {"account": "a..b", "name": "A", "email": "a@example.com", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "name with a control character",
        "POST",
        "/accounts",
        {"account": "ctl", "name": "A\u0007", "email": "a@example.com", "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "reference of 10,000 characters",
        "POST",
        "/accounts/ann/payments",
        {"amount": "1.00", "reference": "r" * 10_000, "at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "a package of 99,999,999 months",
        "POST",
        "/accounts/ann/prepaid",
        {"plan": "basic", "months": 99_999_999, "payment_method": "card", "at": day(1)},
        400,
        "invalid_input",
    ),
    ("JSON nested 300 deep", "POST", "/accounts", NESTED, 400, "invalid_input"),
    (
        "at in year 9999",
        "POST",
        "/accounts/ann/activity",
        {"at": "9999-12-31T23:59:59Z"},
        400,
        "invalid_input",
    ),
    (
        "position beyond BIGINT",
        "GET",
        "/accounts/ann?position=9223372036854775808",
        None,
        400,
        "invalid_input",
    ),
    (
        "journal position beyond BIGINT",
        "GET",
        "/journal?position=99999999999999999999",
        None,
        400,
        "invalid_input",
    ),
    ("churn for 9999-12", "GET", "/reports/churn?month=9999-12", None, 400, "invalid_input"),
    ("revenue for month 13", "GET", "/reports/revenue?month=2026-13", None, 400, "invalid_input"),
    (
        "a month the report would ignore",
        "GET",
        "/reports/mrr?month=2026-01",
        None,
        400,
        "invalid_input",
    ),
    ("%00 in a path", "GET", "/accounts/%00", None, 400, "invalid_input"),
    (
        "%00 in a command's path",
        "POST",
        "/accounts/%00/activity",
        {"at": day(1)},
        400,
        "invalid_input",
    ),
    (
        "as_of in year 9999",
        "GET",
        "/accounts/ann?as_of=9999-12-31T00:00:00Z",
        None,
        400,
        "invalid_input",
    ),
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    if request.param == "postgres":
        require_postgres()
    root = tmp_path_factory.mktemp("bounds")
    backend = Backend(request.param, Path(root))
    request.addfinalizer(backend.cleanup)
    installation = Installation(Path(root) / "ledger", backend, profile="device-cloud")
    key = installation.key("read", "write", "privacy")
    server = Server(installation, log_level="warning").start()
    api = server.client(key)
    assert (
        api.post(
            "/accounts",
            json={"account": "ann", "name": "Ann", "email": "ann@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    yield server, key
    api = server.client(key)  # afterwards: nothing the hostile requests sent stopped it
    assert api.post("/accounts/ann/activity", json={"at": day(2)}).status_code == 200
    assert api.get("/health").json()["status"] == "ok"
    for check in (("db", "check"), ("verify",)):
        done = subledger(*check, cwd=installation.root, env=installation.env)
        assert done.returncode == 0, (check, done.stdout, done.stderr)
    assert server.stop() == 0, server.stderr[-3000:]


@pytest.mark.parametrize(
    ("what", "method", "path", "body", "status", "code"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_input_is_refused_with_its_code(
    running: tuple[Server, str],
    what: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    server, key = running
    with httpx.Client(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        if isinstance(body, bytes):
            answer = api.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
        else:
            answer = api.request(method, path, json=body)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
