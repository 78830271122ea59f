"""SPEC section 9 over HTTP, against a real server process: country and VAT id in the
account bodies (and the OpenAPI document), taxed invoices, `GET /reports/vat?month=`."""

from __future__ import annotations

from pathlib import Path

from api_kit import DAY0, Installation, Server, day, in_cli_form
from backends import Backend

TAX = '\n[tax]\nseller_country = "BE"\nrates = { BE = "21", FR = "20" }\n'


def test_taxed_accounts_invoices_and_the_vat_report(backend: Backend, tmp_path: Path) -> None:
    installation = Installation(tmp_path / "taxed", backend)
    config = tmp_path / "taxed" / "subledger.toml"
    config.write_text(config.read_text() + TAX)
    server = Server(installation).start()
    try:
        api = server.client(installation.key("read", "write"))
        refused = api.post(
            "/accounts",
            json={
                "account": "x",
                "name": "X",
                "email": "x@example.com",
                "country": "FR",
                "vat_id": "FR40303265046",
                "at": day(0),
            },
        )
        assert refused.status_code == 400
        assert (refused.json()["code"], refused.json()["field"]) == ("invalid_input", "vat_id")
        missing = api.post(
            "/accounts", json={"account": "x", "name": "X", "email": "x@example.com", "at": day(0)}
        )
        assert (missing.status_code, missing.json()["field"]) == (400, "country")
        assert api.get("/accounts/x").status_code == 404  # nothing was recorded
        for ref, extra in (
            ("gent", {"country": "BE"}),
            ("paris", {"country": "fr", "vat_id": "FR 40 303 265 045"}),
        ):
            made = api.post(
                "/accounts",
                json={
                    "account": ref,
                    "name": ref,
                    "email": f"{ref}@example.com",
                    "at": day(0),
                    **extra,
                },
            )
            assert made.status_code == 201, made.text
            assert (
                api.post(
                    f"/accounts/{ref}/subscription",
                    json={
                        "plan": "basic",
                        "term": "monthly",
                        "payment_method": "bank_transfer",
                        "at": day(0),
                    },
                ).status_code
                == 200
            )
        invoices = api.get("/accounts/gent/invoices").json()["invoices"]
        assert [
            (i["amount"], i["net"], i["tax"], i["tax_rate"], i["tax_category"], i["kind"])
            for i in invoices
        ] == [("35.09", "29.00", "6.09", "21", "S", "term")]
        month = DAY0.strftime("%Y-%m")
        report = api.get("/reports/vat", params={"month": month, "at": day(1)})
        assert report.status_code == 200, report.text
        assert report.json()["rows"] == [
            {
                "month": month,
                "country": "BE",
                "category": "S",
                "rate": "21",
                "invoices": 1,
                "credit_notes": 0,
                "net": 2900,
                "tax": 609,
                "vat_ids": [],
            },
            {
                "month": month,
                "country": "FR",
                "category": "AE",
                "rate": "0",
                "invoices": 1,
                "credit_notes": 0,
                "net": 2900,
                "tax": 0,
                "vat_ids": ["FR40303265045"],
            },
        ]
        assert installation.json("report", "vat", "--month", month, "--at", day(1)) == in_cli_form(
            "report", report.json(), month=month
        )
        moved = api.post("/accounts/paris/personal-data", json={"country": "DE", "at": day(2)})
        assert (moved.status_code, moved.json()["field"]) == (400, "vat_id")
        body = api.get("/openapi.json").json()["paths"]["/accounts"]["post"]
        schema = body["requestBody"]["content"]["application/json"]["schema"]
        assert {"country", "vat_id"} <= set(schema["properties"])
    finally:
        assert server.stop() == 0, server.stderr[-3000:]
