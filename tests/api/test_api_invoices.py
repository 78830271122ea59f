"""TAX-6 over HTTP, against a real server process: `GET /accounts/{a}/invoices/{n}` and
`.../credit-notes/{k}` answer the CLI's document as JSON, the Factur-X PDF for `Accept:
application/pdf`, EN 16931 CII for `application/xml`, UBL 2.1 for `format=ubl`; 404 for
what does not exist, 406 for a form the client does not accept or that cannot exist, 503
without a seller; the OpenAPI document declares each form and describes the JSON.

Hand-computed (device-cloud, seller BE 21 %; basic annual 290.00 net): antwerp pays 350.90
by card on day 0 and cancels on day 40, in its 2nd started month (CANCEL-3): it owes
2 x 35.09 = 70.18, so 280.72 is refunded with a credit note of 280.72 (48.72 VAT).
"""

from __future__ import annotations

from pathlib import Path

import facturx
import jsonschema_rs
import pytest
from api_kit import Installation, Server, day, in_cli_form
from backends import Backend
from en16931_kit import passes_xsd, schematron_errors

from infra.interface.invoicing.pdf import embedded_xml

TAX = '\n[tax]\nseller_country = "BE"\nrates = { BE = "21", FR = "20" }\n'
SELLER = (
    '\n[seller]\nname = "Example BV"\naddress = "Rue de la Loi 16, 1000 Brussels"\n'
    'vat_id = "BE0403170701"\ninvoice_prefix = "EX"\n'
)
PROBLEM = "application/problem+json"


def serve(tmp_path: Path, backend: Backend, name: str, extra: str) -> tuple[Installation, Server]:
    installation = Installation(tmp_path / name, backend, profile="device-cloud")
    config = tmp_path / name / "subledger.toml"
    config.write_text(config.read_text() + extra)
    return installation, Server(installation).start()


def test_invoice_documents_over_http(backend: Backend, tmp_path: Path) -> None:
    installation, server = serve(tmp_path, backend, "taxed", TAX + SELLER)
    try:
        api = server.client(installation.key("read", "write"))
        assert (
            api.post(
                "/accounts",
                json={
                    "account": "antwerp",
                    "name": "Antwerp NV",
                    "email": "ap@antwerp.test",
                    "address": "Meir 1, 2000 Antwerpen",
                    "country": "BE",
                    "at": day(0),
                },
            ).status_code
            == 201
        )
        for path, body in (
            (
                "subscription",
                {"plan": "basic", "term": "annual", "payment_method": "card", "at": day(0)},
            ),
            ("cancellation", {"at": day(40)}),
        ):
            answer = api.post(f"/accounts/antwerp/{path}", json=body)
            assert answer.status_code == 200, answer.text
        url = "/accounts/antwerp/invoices/1"

        # JSON: the CLI's document, described by the OpenAPI document
        document = api.get(url)
        assert (
            document.status_code,
            document.headers["content-type"],
            document.headers["vary"],
        ) == (200, "application/json", "Accept")
        doc = document.json()
        assert installation.json("invoice", "antwerp", "1") == in_cli_form("invoice", doc)
        assert {
            k: doc[k] for k in ("number", "totals", "paid", "refunded", "credited", "amount_due")
        } == {
            "number": "EX-antwerp-1",
            "totals": {"net": "290.00", "tax": "60.90", "gross": "350.90"},
            "paid": "70.18",
            "refunded": "280.72",
            "credited": "280.72",
            "amount_due": "0.00",
        }
        operation = api.get("/openapi.json").json()["paths"][
            "/accounts/{account}/invoices/{invoice}"
        ]["get"]
        forms = operation["responses"]["200"]["content"]
        assert set(forms) == {"application/json", "application/pdf", "application/xml"}
        jsonschema_rs.validate(forms["application/json"]["schema"], doc)
        assert api.get(url, headers={"Accept": "*/*"}).json() == doc

        # the Factur-X PDF; its XML is the CII that application/xml answers
        pdf = api.get(url, headers={"Accept": "application/pdf"})
        assert (
            pdf.status_code,
            pdf.headers["content-type"],
            pdf.headers["content-disposition"],
        ) == (200, "application/pdf", 'inline; filename="EX-antwerp-1.pdf"')
        cii = api.get(url, headers={"Accept": "text/html;q=0.9, application/xml"})
        assert (cii.status_code, cii.headers["content-type"]) == (200, "application/xml")
        assert embedded_xml(pdf.content) == cii.content
        parsed = facturx.parse_ubl_cii_xml(cii.content)
        assert (
            parsed["BT-1"],
            parsed["BT-109"],
            parsed["BT-110"],
            parsed["BT-112"],
            parsed["BT-113"],
        ) == ("EX-antwerp-1", "290.00", "60.90", "350.90", "70.18")
        assert api.get(url, params={"format": "pdf"}).content[:5] == b"%PDF-"
        assert api.get(url, headers={"Accept": "text/*"}).content == cii.content

        # UBL 2.1, invoice and credit note; both syntaxes valid
        for path, credit_note in ((url, False), (url + "/credit-notes/1", True)):
            for form, kind in (("cii", "cii"), ("ubl", "ubl")):
                xml = api.get(path, params={"format": form}, headers={"Accept": "application/xml"})
                assert xml.status_code == 200, xml.text
                assert passes_xsd(xml.content, kind, credit_note), (path, form)
                assert schematron_errors(xml.content, kind) == [], (path, form)
        note = api.get(url + "/credit-notes/1").json()
        assert (note["type"], note["number"], note["totals"], note["corrects"]["number"]) == (
            "credit_note",
            "EX-antwerp-1-C1",
            {"net": "232.00", "tax": "48.72", "gross": "280.72"},
            "EX-antwerp-1",
        )
        assert (
            api.get(url + "/credit-notes/1", params={"format": "ubl"}).headers[
                "content-disposition"
            ]
            == 'inline; filename="EX-antwerp-1-C1.ubl.xml"'
        )

        # refusals: problems with the SPEC code or the API's own
        for path, params, accept, status, code in (
            ("/accounts/antwerp/invoices/2", {}, None, 404, "unknown_invoice"),
            (url + "/credit-notes/2", {}, None, 404, "unknown_invoice"),
            ("/accounts/nobody/invoices/1", {}, None, 404, "unknown_account"),
            ("/accounts/antwerp/invoices/0", {}, None, 400, "invalid_input"),
            (url, {"format": "docx"}, None, 400, "invalid_input"),
            (url, {}, "text/html", 406, "not_acceptable"),
            (url, {}, "image/*, text/plain;q=0.5", 406, "not_acceptable"),
            (url, {"format": "pdf"}, "application/json", 406, "not_acceptable"),
            (url, {"as_of": day(1)}, None, 400, "invalid_input"),
        ):
            answer = api.get(
                path, params=params, headers={} if accept is None else {"Accept": accept}
            )
            assert (answer.status_code, answer.headers["content-type"]) == (status, PROBLEM), (
                path,
                params,
                accept,
                answer.text,
            )
            assert answer.json()["code"] == code, answer.text
        assert server.client(installation.key("write")).get(url).status_code == 403
    finally:
        assert server.stop() == 0, server.stderr[-3000:]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_untaxed_and_unconfigured_ledgers(backend: Backend, tmp_path: Path) -> None:
    """Without a tax table the JSON and PDF forms exist but CII/UBL cannot (406
    untaxed_document); without a [seller] no document can be made (503)."""
    for name, extra, wanted in (
        ("plain", SELLER, "untaxed_document"),
        ("noseller", TAX, "seller_not_configured"),
    ):
        installation, server = serve(tmp_path, backend, name, extra)
        try:
            api = server.client(installation.key("read", "write"))
            country = {"country": "BE"} if extra == TAX else {}
            assert (
                api.post(
                    "/accounts",
                    json={
                        "account": "gent",
                        "name": "Gent",
                        "email": "g@gent.test",
                        "at": day(0),
                        **country,
                    },
                ).status_code
                == 201
            )
            assert (
                api.post(
                    "/accounts/gent/subscription",
                    json={
                        "plan": "basic",
                        "term": "monthly",
                        "payment_method": "bank_transfer",
                        "at": day(0),
                    },
                ).status_code
                == 200
            )
            url = "/accounts/gent/invoices/1"
            if wanted == "untaxed_document":
                doc = api.get(url).json()
                assert (doc["taxed"], doc["totals"]) == (
                    False,
                    {"net": "29.00", "tax": "0.00", "gross": "29.00"},
                )
                pdf = api.get(url, headers={"Accept": "application/pdf"})
                assert pdf.status_code == 200 and embedded_xml(pdf.content) is None
                for params in ({"format": "cii"}, {"format": "ubl"}):
                    refused = api.get(url, params=params)
                    assert (refused.status_code, refused.json()["code"]) == (406, wanted)
                refused = api.get(url, headers={"Accept": "application/xml"})
            else:
                refused = api.get(url)
                assert refused.status_code == 503
            assert refused.json()["code"] == wanted, refused.text
        finally:
            assert server.stop() == 0, server.stderr[-3000:]
