"""Regenerate docs/invoice-sample.png, the sample invoice page the README shows (TAX-6).

    .venv/bin/python docs/invoice_sample.py     # needs pdftoppm (poppler-utils)

The page comes from a real ledger, the way `subledger invoice antwerp 1 --format pdf`
makes it: a throw-away SQLite ledger (device-cloud, seller BE, BE 21 %) where a Belgian
company subscribes to `basic` annually by bank transfer (290.00 net + 60.90 VAT), pays
50.00, and cancels in its 2nd started month (CANCEL-3): it owes 2 x 35.09 = 70.18, so a
credit note of 280.72 (TAX-4: 232.00 + 48.72) leaves 20.18 to pay.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from domain.calendar import parse_instant
from domain.profiles import BUILT_IN_PROFILES
from domain.tax import TaxTable
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig, Seller
from infra.interface.invoicing.pdf import render_pdf
from infra.interface.vocabulary import parse_command

SELLER = Seller(name="Subledger SRL", address="Rue de la Loi 16\n1000 Brussels",
                vat_id="BE0403170701", iban="BE71 0961 2345 6769", invoice_prefix="SL")
TAX = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "NL": "21", "FR": "20"}})
CATALOG = {"basic": {"monthly": 2900, "annual": 29000}}


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def sample_pdf(database: Path) -> bytes:
    config = LedgerConfig(database=database, profile=BUILT_IN_PROFILES["device-cloud"],
                          currency="EUR", catalog=CATALOG, master_key=secrets.token_bytes(32),
                          tax=TAX, seller=SELLER)
    ledger = build_ledger(config)
    try:
        do(ledger, "register_account", "2026-03-02T10:00:00Z", account="antwerp",
           name="Antwerp NV", email="ap@antwerp.example", address="Meir 1\n2000 Antwerpen",
           country="BE", vat_id="BE0477472701")
        do(ledger, "subscribe", "2026-03-02T10:00:00Z", account="antwerp", plan="basic",
           term="annual", payment_method="bank_transfer")
        do(ledger, "record_payment", "2026-03-09T08:00:00Z", account="antwerp",
           amount="50.00", reference="BE-TRF-0001")
        do(ledger, "request_cancellation", "2026-04-20T09:00:00Z", account="antwerp")
        return render_pdf(ledger.invoice_document("antwerp", 1))
    finally:
        ledger.close()


def main() -> None:
    target = Path(__file__).with_name("invoice-sample.png")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "invoice.pdf"
        pdf.write_bytes(sample_pdf(Path(tmp) / "sample.db"))
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf),
                        str(target.with_suffix(""))], check=True)
    print(target)


if __name__ == "__main__":
    main()
