"""API keys: every operation's scope boundary, revocation, hashing, and clean logs.

The policy, stated here apart from the code: GET needs `read`, POST needs `write`,
except the GDPR operations (export, erasure request, privacy report), which need
`privacy`, and the vendor's own commands (SPEC section 11), which need `operator`;
`/health` and `/openapi.json` are open. The operations are read from the
served OpenAPI document, so an operation added later is covered without a new test.
"""

from __future__ import annotations

import pytest
from api_kit import Installation, Server, day, stored_bytes

PRIVACY = {
    ("POST", "/accounts/{account}/deletion-request"),
    ("GET", "/accounts/{account}/personal-data"),
    ("GET", "/privacy/report"),
}
OPERATOR = {
    ("POST", f"/accounts/{{account}}/{action}")
    for action in ("suspension", "reinstatement", "termination", "nonpayment-cancellation")
}
OPEN = {("GET", "/health")}
PATH_VALUES = {"{account}": "ann", "{invoice}": "1", "{credit_note}": "1", "{name}": "mrr"}


def needed_scope(method: str, path: str) -> str | None:
    if (method, path) in OPEN:
        return None
    if (method, path) in PRIVACY:
        return "privacy"
    if (method, path) in OPERATOR:
        return "operator"
    return "read" if method == "GET" else "write"


def concrete(path: str) -> str:
    for template, value in PATH_VALUES.items():
        path = path.replace(template, value)
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_every_operation_refuses_a_missing_bad_revoked_or_narrow_key(
    server: Server, installation: Installation
) -> None:
    keys = {scope: installation.key(scope) for scope in ("read", "write", "privacy", "operator")}
    revoked = installation.key("read", "write", "privacy", "operator")
    installation.run("apikey", "revoke", revoked.split("_")[1])
    writer = server.client(keys["write"])
    assert (
        writer.post(
            "/accounts",
            json={"account": "ann", "name": "Ann", "email": "ann@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    auditor = server.client(keys["read"])

    def recorded() -> int:
        return len(auditor.get("/accounts/ann/events").json())

    document = server.client().get("/openapi.json").json()
    operations = sorted((m.upper(), p) for p, item in document["paths"].items() for m in item)
    assert len(operations) == 31  # 20 commands, 10 queries, health
    unauthenticated = {
        "none": None,
        "garbage": "slk_123_nope",
        "not ours": "Bearer-ish",
        "revoked": revoked,
        "mistyped": keys["read"][:-1] + "x",
    }
    anonymous = {why: server.client(key) for why, key in unauthenticated.items()}
    holders = {held: server.client(key) for held, key in keys.items()}
    for method, path in operations:
        scope = needed_scope(method, path)
        url = concrete(path)
        body = {} if method == "POST" else None
        for why, client in anonymous.items():
            before = recorded()
            response = client.request(method, url, json=body)
            if scope is None:
                assert response.status_code == 200, (method, path)
                continue
            assert response.status_code == 401, (method, path, why, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["code"] == "unauthenticated"
            assert recorded() == before, (method, path, why)
        if scope is None:
            continue
        for held, client in holders.items():
            before = recorded()
            response = client.request(method, url, json=body)
            if held == scope:
                assert response.status_code not in (401, 403), (method, path, held)
                assert response.status_code < 500, (method, path, held, response.text)
            else:
                assert response.status_code == 403, (method, path, held, response.text)
                problem = response.json()
                assert problem["code"] == "insufficient_scope"
                assert problem["required_scope"] == scope
                assert recorded() == before, (method, path, held)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_refused_key_does_not_use_up_an_idempotency_key(
    server: Server, installation: Installation
) -> None:
    reader, writer = installation.key("read"), installation.key("write")
    body = {"account": "bo", "name": "Bo", "email": "bo@example.com", "at": day(0)}
    headers = {"Idempotency-Key": "register-bo"}
    assert server.client(reader).post("/accounts", json=body, headers=headers).status_code == 403
    first = server.client(writer).post("/accounts", json=body, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_keys_are_stored_hashed_listed_without_secrets_and_never_logged(
    installation: Installation,
) -> None:
    server = Server(installation, log_level="debug").start()
    try:
        full = installation.key("read", "write", "privacy", label="billing")
        narrow = installation.key("read", label="reports")
        statuses = [
            server.client(full)
            .post(
                "/accounts",
                json={"account": "cy", "name": "Cy", "email": "cy@example.com", "at": day(0)},
            )
            .status_code,
            server.client(narrow).get("/accounts/cy").status_code,
            server.client(narrow).post("/accounts/cy/activity", json={}).status_code,
            server.client(full[:-2] + "zz").get("/accounts/cy").status_code,  # wrong secret
            server.client(full).get("/accounts/cy/personal-data").status_code,
        ]
    finally:
        assert server.stop() == 0
    assert statuses == [201, 200, 403, 401, 200]
    secrets = [k.split("_", 2)[2] for k in (full, narrow)] + [full[:-2] + "zz"]
    logs = server.stderr
    assert f'"key":"{full.split("_")[1]}"' in logs  # the key's public id is what logs show
    assert f'"key":"{narrow.split("_")[1]}"' in logs
    for secret in secrets:
        assert secret not in logs
        assert secret[:12] not in logs
    listed = installation.json("apikey", "list")["keys"]
    assert {k["label"] for k in listed} == {"billing", "reports"}
    assert all(set(k) == {"id", "label", "scopes", "created_at", "revoked_at"} for k in listed)
    stored = stored_bytes(installation)
    assert full.split("_")[1].encode() in stored  # the scan reads the keys' table
    for secret in secrets[:2]:
        assert secret.encode() not in stored  # only its SHA-256 is kept


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_apikey_refuses_unknown_scopes_and_ids(installation: Installation) -> None:
    from api_kit import subledger

    for argv, says in (
        (("apikey", "create", "--scope", "admin"), "unknown scope 'admin'"),
        (("apikey", "create", "--scope", ","), "at least one scope"),
        (("apikey", "revoke", "0123456789ab"), "no API key"),
    ):
        done = subledger(*argv, cwd=installation.root, env=installation.env)
        assert done.returncode == 2 and says in done.stderr, (argv, done.stderr)
    assert installation.json("apikey", "list") == {"kind": "api_keys", "keys": []}  # none made


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_write_key_cannot_run_the_vendors_commands(
    server: Server, installation: Installation
) -> None:
    """SPEC section 11: the vendor's commands need the operator scope: a `write` key (what
    a customer-facing front end holds) gets 403 and nothing is recorded; the customer's
    own 2.0 commands (change_plan, revoke_cancellation) stay `write`; an operator key
    suspends, and the state says so."""
    writer = server.client(installation.key("write", "read"))
    operator = server.client(installation.key("operator"))
    assert (
        writer.post(
            "/accounts",
            json={"account": "di", "name": "Di", "email": "di@example.com", "at": day(0)},
        ).status_code
        == 201
    )
    assert (
        writer.post(
            "/accounts/di/subscription",
            json={"plan": "basic", "term": "monthly", "payment_method": "card", "at": day(0)},
        ).status_code
        == 200
    )
    events = len(writer.get("/accounts/di/events").json())
    for path, body in (
        ("suspension", {"reason": "chargeback"}),
        ("reinstatement", {}),
        ("termination", {"reason": "abuse", "export_days": 10}),
        ("nonpayment-cancellation", {}),
    ):
        refused = writer.post(f"/accounts/di/{path}", json={**body, "at": day(1)})
        assert refused.status_code == 403, (path, refused.text)
        assert (refused.json()["code"], refused.json()["required_scope"]) == (
            "insufficient_scope",
            "operator",
        )
    assert len(writer.get("/accounts/di/events").json()) == events
    plan = writer.post(
        "/accounts/di/plan-change", json={"plan": "basic", "term": "annual", "at": day(1)}
    )
    assert plan.status_code == 200, plan.text
    done = operator.post("/accounts/di/suspension", json={"reason": "chargeback", "at": day(2)})
    assert (done.status_code, done.json()["status"], done.json()["access"]) == (
        200,
        "suspended",
        False,
    )
    again = operator.post("/accounts/di/suspension", json={"reason": "again", "at": day(2)})
    assert (again.status_code, again.json()["code"]) == (409, "already_suspended")
    state = writer.get("/accounts/di").json()
    assert (state["suspension"], state["scheduled_change"]["term"]) == ("vendor", "annual")
