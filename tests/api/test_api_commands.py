"""Every command and query over HTTP, against a real server process, on both stores.

The answers must be the CLI's: the same state document for the same account and
instant, the same error codes (SPEC section 0) as RFC 9457 problems, and nothing
recorded by a refused request.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import Installation, Server, day, events_of, in_cli_form
from backends import Backend

PROBLEM = "application/problem+json"

# (method, path, body, status, code or None): one customer's life, in order. Each SPEC
# refusal is asked where the contract makes it; the status is the API's mapping of it.
LIFE: list[tuple[str, str, dict[str, Any] | None, int, str | None]] = [
    (
        "POST",
        "/accounts",
        {
            "account": "kid",
            "name": "Kid",
            "email": "kid@example.com",
            "birth_date": day(-3000)[:10],
            "at": day(0),
        },
        422,
        "underage",
    ),
    (
        "POST",
        "/accounts",
        {
            "account": "ann",
            "name": "Ann Example",
            "email": "ann@example.com",
            "birth_date": "1990-01-01",
            "at": day(0),
        },
        201,
        None,
    ),
    (
        "POST",
        "/accounts",
        {"account": "ann", "name": "Ann Again", "email": "ann2@example.com", "at": day(0)},
        409,
        "account_exists",
    ),
    ("POST", "/accounts/ann/trial", {"plan": "basic", "at": day(0)}, 200, None),
    ("POST", "/accounts/ann/trial", {"plan": "basic", "at": day(1)}, 409, "trial_already_used"),
    (
        "POST",
        "/accounts/ann/subscription",
        {"plan": "gold", "term": "monthly", "payment_method": "card", "at": day(1)},
        422,
        "unknown_plan",
    ),
    (
        "POST",
        "/accounts/ann/subscription",
        {"plan": "basic", "term": "monthly", "payment_method": "bank_transfer", "at": day(1)},
        200,
        None,
    ),
    (
        "POST",
        "/accounts/ann/subscription",
        {"plan": "basic", "term": "annual", "payment_method": "card", "at": day(1)},
        409,
        "already_subscribed",
    ),
    (
        "POST",
        "/accounts/ann/payments",
        {"amount": "1.234", "reference": "p-0", "at": day(2)},
        400,
        "invalid_input",
    ),
    (
        "POST",
        "/accounts/ann/payments",
        {"amount": "-5.00", "reference": "p-0", "at": day(2)},
        422,
        "invalid_amount",
    ),
    (
        "POST",
        "/accounts/ann/payments",
        {"amount": 10.5, "reference": "p-0", "at": day(2)},
        400,
        "invalid_input",
    ),  # a float never touches an amount
    (
        "POST",
        "/accounts/ann/payments",
        {"amount": "10.00", "reference": "p-1", "at": day(2)},
        200,
        None,
    ),
    (
        "POST",
        "/accounts/ann/collection-costs",
        {"amount": "5.00", "at": day(3)},
        400,
        "invalid_input",
    ),  # monthly-autorenew has no collection costs (PAY-5)
    (
        "POST",
        "/accounts/ann/invoices/9/dispute",
        {"reason": "never got it", "at": day(3)},
        404,
        "unknown_invoice",
    ),
    (
        "POST",
        "/accounts/ann/invoices/1/dispute",
        {"reason": "wrong amount", "at": day(3)},
        200,
        None,
    ),
    ("POST", "/accounts/ann/activity", {"at": day(4)}, 200, None),
    (
        "POST",
        "/accounts/ann/personal-data",
        {"email": "ann.new@example.com", "at": day(4)},
        200,
        None,
    ),
    ("POST", "/accounts/ann/personal-data", {"at": day(4)}, 400, "invalid_input"),
    (
        "POST",
        "/price-changes",
        {
            "plan": "basic",
            "term": "monthly",
            "new_price": "35.00",
            "effective_at": day(10),
            "at": day(5),
        },
        422,
        "price_notice_too_short",
    ),
    (
        "POST",
        "/price-changes",
        {
            "plan": "basic",
            "term": "monthly",
            "new_price": "35.00",
            "effective_at": day(80),
            "at": day(5),
        },
        200,
        None,
    ),
    (
        "POST",
        "/accounts/ann/prepaid",
        {"plan": "basic", "months": 3, "payment_method": "card", "at": day(5)},
        422,
        "term_not_offered",
    ),
    ("POST", "/accounts/ann/prepaid/cancellation", {"at": day(5)}, 409, "nothing_to_cancel"),
    ("POST", "/accounts/ann/closure", {"at": day(6)}, 409, "closure_rejected"),
    ("POST", "/accounts/ann/cancellation", {"at": day(6)}, 200, None),
    ("POST", "/accounts/ann/deletion-request", {"at": day(7)}, 200, None),
    ("POST", "/accounts/nobody/activity", {"at": day(7)}, 404, "unknown_account"),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_a_customer_life_over_http_answers_as_the_rules_say(
    server: Server, installation: Installation
) -> None:
    api = server.client(installation.key("read", "write", "privacy"))
    for method, path, body, status, code in LIFE:
        before = _events(api)
        response = api.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        if code is None:
            receipt = response.json()
            assert receipt["ok"] is True and receipt["recorded"] is True
            assert receipt["at"] == body["at"]  # type: ignore[index]
        else:
            assert response.headers["content-type"] == PROBLEM
            problem = response.json()
            assert problem["code"] == code and problem["status"] == status
            assert problem["type"].endswith(code) and problem["title"] and problem["detail"]
            # time passed (work due before `at` may run) but the command left nothing
            new = _events(api) - before
            assert all(at < body["at"] for _, _, at in new), (path, new)  # type: ignore[index]
    registered = api.get("/accounts/ann/events").json()
    assert registered[0]["event"] == "Registered"
    assert registered[0]["fields"]["personal"] == "<sealed>"  # GDPR-5 over HTTP too
    notices = [e["fields"]["kind"] for e in registered if e["event"] == "NoticeSent"]
    assert notices == ["price_change"]  # PRICE-1: the subscriber was told


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_queries_answer_what_the_cli_answers(server: Server, installation: Installation) -> None:
    """One implementation: the state, journal and report documents over HTTP equal the
    CLI's `--json` output for the same database and instant."""
    api = server.client(installation.key("read", "write", "privacy"))
    _subscribe(api, "bea", at=day(0))
    assert (
        api.post(
            "/accounts/bea/payments", json={"amount": "29.00", "reference": "b-1", "at": day(1)}
        ).status_code
        == 200
    )
    as_of = day(2)
    state = api.get("/accounts/bea", params={"as_of": as_of})
    assert state.status_code == 200
    status = installation.json("status", "bea", "--as-of", as_of)
    assert status == in_cli_form(
        "account_status", state.json(), account="bea", as_of=as_of, profile=status["profile"]
    )
    assert state.json()["balance"]["outstanding"] == "0.00"
    assert state.json()["invoices"][0]["status"] == "paid"
    by_position = api.get("/accounts/bea", params={"position": 1}).json()
    status = installation.json("status", "bea", "--position", "1")
    assert status == in_cli_form(
        "account_status",
        by_position,
        account="bea",
        as_of=status["as_of"],
        position=1,
        profile=status["profile"],
    )
    assert by_position["status"] == "none"  # only the registration at position 1

    journal = api.get("/journal", params={"account": "bea"}).json()
    assert installation.json("journal", "--account", "bea") == in_cli_form(
        "journal", journal, account="bea"
    )
    assert journal["balanced"] and journal["debits"] == journal["credits"] == 5800

    report = api.get("/reports/mrr", params={"at": as_of}).json()
    assert installation.json("report", "mrr", "--at", as_of) == in_cli_form("report", report)
    assert report["rows"] == [{"plan": "basic", "mrr": 2900, "arr": 34800, "subscriptions": 1}]
    month = day(0)[:7]  # issue 18: the MRR movements of bea's first month
    movements = api.get("/reports/mrr-movements", params={"month": month, "at": as_of})
    assert movements.status_code == 200, movements.text
    assert installation.json(
        "report", "mrr-movements", "--month", month, "--at", as_of
    ) == in_cli_form("report", movements.json(), month=month)
    row = movements.json()["rows"][0]
    assert (row["opening"], row["new"], row["closing"]) == (0, 2900, 2900)
    invoices = api.get("/accounts/bea/invoices", params={"as_of": as_of}).json()
    assert invoices == {"account": "bea", "invoices": state.json()["invoices"]}
    history = api.get("/accounts/bea/history").json()
    assert installation.json("history", "bea") == in_cli_form("history", history, account="bea")
    assert [h["event"] for h in history][:2] == ["Registered", "Subscribed"]

    export = api.get("/accounts/bea/personal-data", params={"at": day(3)})
    assert export.status_code == 200
    assert export.json()["fields"]["email"] == "bea@example.com"  # GDPR-4, opened for her
    audit = api.get("/privacy/report", params={"at": day(3)}).json()
    assert [a["account"] for a in audit["accounts"]] == ["bea"]
    exports = [r for r in audit["accounts"][0]["processing_records"] if r["what"] == "export"]
    assert [r["at"] for r in exports] == [day(3)]  # the export is itself audited (GDPR-6)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bad_requests_are_problems_never_500(server: Server, installation: Installation) -> None:
    api = server.client(installation.key("read", "write"))
    _subscribe(api, "cat", at=day(0))
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/accounts/cat/payments", b"{not json", 400, "invalid_input"),
        ("POST", "/accounts/cat/payments", b"[1, 2]", 400, "invalid_input"),
        (
            "POST",
            "/accounts/cat/payments",
            {"amount": "1.00", "reference": "x", "colour": "red"},
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/accounts/cat/payments",
            {"account": "dog", "amount": "1.00", "reference": "x"},
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/accounts/cat/payments",
            {"amount": "1.00", "reference": "x", "at": day(400)},
            400,
            "invalid_input",
        ),  # the future: commands record what happened
        (
            "POST",
            "/accounts/cat/payments",
            {"amount": "1.00", "reference": "x", "at": "2001-01-01T00:00:00Z"},
            400,
            "invalid_input",
        ),  # decades back would replay decades of renewals
        (
            "POST",
            "/accounts/cat/payments",
            {"amount": "1.00", "reference": "x", "at": day(1)[:-1] + "+02:00"},
            400,
            "invalid_input",
        ),  # not UTC
        ("POST", "/accounts/cat/invoices/first/dispute", {"reason": "x"}, 400, "invalid_input"),
        (
            "POST",
            "/accounts/cat/payments",
            b'{"amount": "1.00", "reference": "' + b"x" * 70_000 + b'"}',
            413,
            "payload_too_large",
        ),
        ("GET", "/accounts/cat?position=0", None, 400, "invalid_input"),
        ("GET", "/accounts/cat?asof=" + day(1), None, 400, "invalid_input"),  # a typo
        ("GET", "/accounts/cat?as_of=yesterday", None, 400, "invalid_input"),
        ("GET", "/reports/profit", None, 400, "invalid_input"),
        ("GET", "/reports/churn?month=2026-13", None, 400, "invalid_input"),
        ("GET", "/no/such/thing", None, 404, "not_found"),
        ("DELETE", "/accounts/cat", None, 405, "method_not_allowed"),
    ]
    form = api.post(
        "/accounts/cat/payments",
        content=b"amount=1.00&reference=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    for method, path, body, status, code in cases:
        if isinstance(body, bytes):
            response = api.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = api.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text[:300])
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == code
    assert [e["event"] for e in events_of(installation, "cat")] == [
        "Registered",
        "Subscribed",
        "InvoiceIssued",
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_health_and_openapi_need_no_key(server: Server) -> None:
    anonymous = server.client()
    health = anonymous.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    document = anonymous.get("/openapi.json").json()
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert ("POST", "/accounts/{account}/payments") in operations
    assert ("GET", "/accounts/{account}") in operations
    assert len([o for o in operations if o[0] == "POST"]) == 20  # 14 + SPEC 2.0's six
    termination = document["paths"]["/accounts/{account}/termination"]["post"]
    schema = termination["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["export_days"] == {
        "anyOf": [
            {  # optional: null = default
                "type": "integer",
                "minimum": 0,
                "maximum": 90,
                "default": 30,
                "description": "days the customer may still export their data (VENDOR-2)",
            },
            {"type": "null"},
        ]
    }
    assert schema["required"] == ["reason"]
    payment = document["paths"]["/accounts/{account}/payments"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in payment["parameters"])
    body = payment["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["amount", "reference"] and "at" in body["properties"]


def _subscribe(api: httpx.Client, account: str, *, at: str) -> None:
    assert (
        api.post(
            "/accounts",
            json={
                "account": account,
                "name": account.title(),
                "email": f"{account}@example.com",
                "at": at,
            },
        ).status_code
        == 201
    )
    assert (
        api.post(
            f"/accounts/{account}/subscription",
            json={"plan": "basic", "term": "monthly", "payment_method": "bank_transfer", "at": at},
        ).status_code
        == 200
    )


def _events(api: httpx.Client) -> set[tuple[str, int, str]]:
    """(account, version, effective time) of every event of the accounts named here."""
    found = set()
    for account in ("ann", "kid", "nobody"):
        response = api.get(f"/accounts/{account}/events")
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200:
            found |= {(account, e["version"], e["at"]) for e in response.json()}
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_collection_costs_on_a_b2b_contract(backend: Backend, tmp_path: Path) -> None:
    """PAY-5 over HTTP: the vendor's collection costs on a late annual-b2b invoice are
    added to what the customer owes (fees), and shown in the state and the journal."""
    installation = Installation(tmp_path / "b2b", backend, profile="annual-b2b")
    server = Server(installation).start()
    try:
        api = server.client(installation.key("read", "write"))
        assert (
            api.post(
                "/accounts",
                json={
                    "account": "acme",
                    "name": "Acme BV",
                    "email": "ap@acme.example",
                    "at": day(0),
                },
            ).status_code
            == 201
        )
        assert (
            api.post(
                "/accounts/acme/subscription",
                json={
                    "plan": "basic",
                    "term": "annual",
                    "payment_method": "bank_transfer",
                    "at": day(0),
                },
            ).status_code
            == 200
        )
        cost = api.post("/accounts/acme/collection-costs", json={"amount": "40.00", "at": day(60)})
        assert cost.status_code == 200 and cost.json()["recorded"] is True
        state = api.get("/accounts/acme", params={"as_of": day(61)}).json()
        assert state["balance"]["fees"] == "190.00"  # PAY-3 compensation 150.00 + 40.00
        journal = api.get("/journal", params={"account": "acme"}).json()
        assert journal["balanced"]
        assert any(
            line["amount"] == 4000 and line["debit"] == "receivable:fees"
            for line in journal["lines"]
        )
    finally:
        assert server.stop() == 0


def test_health_says_unavailable_when_the_store_is_gone(postgres: Backend, tmp_path: Path) -> None:
    """A load balancer's question: the schema is dropped under a running server, and
    /health answers 503 (and a command a 500 problem, not a hang or a crash)."""
    import psycopg

    from infra.persistence.database import parse_database_url

    installation = Installation(tmp_path / "ledger", postgres)
    key = installation.key("read", "write")
    server = Server(installation).start()
    try:
        assert server.client().get("/health").json()["status"] == "ok"
        db = parse_database_url(installation.env["SUBLEDGER_DATABASE_URL"])
        with psycopg.connect(**db.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(f'DROP SCHEMA "{db.schema}" CASCADE')
        health = server.client().get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        command = server.client(key).post("/accounts/x/activity", json={})
        assert command.status_code == 500  # the key table went with the schema
        assert command.headers["content-type"] == PROBLEM
        assert command.json()["code"] == "internal_error"
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_server_runs_due_work_on_the_wall_clock(installation: Installation) -> None:
    """`serve --tick-every`: with no command arriving, a monthly subscription paid by bank
    transfer 200 days ago ends at its term's end (RENEW-2), and an unpaid invoice becomes
    overdue: the server's own scheduler ran the work that fell due."""
    key = installation.key("read", "write")
    importing = Server(installation).start()  # back-dated commands need the ticker off
    _subscribe(importing.client(key), "ned", at=day(0))
    assert importing.stop() == 0
    server = Server(installation, tick_every=0.2).start()
    try:
        api = server.client(key)
        deadline = time.monotonic() + 30
        while api.get("/accounts/ned").json()["status"] != "ended":
            assert time.monotonic() < deadline, api.get("/accounts/ned").json()
            time.sleep(0.2)
        events = [e["event"] for e in events_of(installation, "ned")]
        assert "SubscriptionEnded" in events and "InvoiceOverdue" in events
    finally:
        assert server.stop() == 0
