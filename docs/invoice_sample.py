"""Regenerate docs/invoice-sample.png, the sample invoice page the README shows (TAX-6).

    .venv/bin/python docs/invoice_sample.py     # needs pdftoppm (poppler-utils)

A domestic B2B invoice at 21 % with a credit note against it and a part payment, built
from dicts in the account view's shape, rendered as the Factur-X PDF and rasterised.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from infra.invoicing.pdf import render_pdf
from projections.invoice_document import build_invoice_document

SELLER = {"name": "Subledger SRL", "address": "Rue de la Loi 16\n1000 Brussels",
          "vat_id": "BE0403170701", "iban": "BE71096123456769", "invoice_prefix": "SL-"}
BUYER = {"name": "Antwerp NV", "address": "Meir 1\n2000 Antwerpen", "vat_id": "BE0477472701"}
INVOICE = {  # after a credit note of 210.00 (TAX-4: 173.55 + 36.45) and 400.00 paid
    "n": 1, "issued_at": "2026-03-02T10:00:00Z", "due_at": "2026-03-16T10:00:00Z",
    "amount": "1000.00", "net": "826.45", "tax": "173.55", "tax_rate": "21",
    "tax_category": "S", "country": "BE", "reverse_charge": False, "paid": "400.00",
    "status": "open", "kind": "term", "plan": "basic", "term": "annual",
    "period_start": "2026-03-02T10:00:00Z", "period_end": "2027-03-02T10:00:00Z",
    "credit_notes": [{"gross": "210.00", "net": "173.55", "tax": "36.45",
                      "at": "2026-04-01T09:00:00Z"}],
}


def main() -> None:
    doc = build_invoice_document(SELLER, BUYER, INVOICE, account="antwerp", currency="EUR")
    target = Path(__file__).with_name("invoice-sample.png")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "invoice.pdf"
        pdf.write_bytes(render_pdf(doc))
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf),
                        str(target.with_suffix(""))], check=True)
    print(target)


if __name__ == "__main__":
    main()
