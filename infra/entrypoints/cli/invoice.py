"""`subledger invoice ACCOUNT N`: an invoice, or one of its credit notes, as the document
an EU invoice must be (SPEC `TAX-6`), in the forms of `infra.interface.invoicing.formats`.

A query: it opens the ledger, reads and records nothing (no scheduled work runs).
Refusals exit 2 as every refusal does: an unknown account or invoice (`unknown_account`,
`unknown_invoice`), no `[seller]` in the config (`invalid_input` naming `seller`), CII or
UBL of an untaxed document (`untaxed_document`: without a tax table there is no VAT
category for EN 16931 to state), a PDF meant for a terminal (`invalid_input`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from infra.config import ConfigError
from infra.entrypoints.cli.handlers import config_path, open_ledger
from infra.interface import presenter as out
from projections.invoice_document import SellerNotConfiguredError, document_json

# infra.interface.invoicing.formats' names; the renderers (factur-x, fpdf2) load only when used
FORMAT_NAMES = ("json", "pdf", "cii", "ubl")
HELP = (
    "an invoice or credit note as its document (TAX-6): JSON, the Factur-X PDF "
    "(EN 16931 CII embedded), CII or UBL 2.1 XML"
)


def add_invoice_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Registers `invoice` with `infra.entrypoints.cli.main`'s subcommand factory."""
    p = command("invoice", HELP, invoice)
    p.epilog = (
        'TAX-6: seller from [seller], the buyer\'s invoice identity ("erased" after '
        "GDPR-3), number <prefix>-<account>-<n>, dates, lines with net, rate, "
        "category and tax, VAT breakdown, totals, reverse-charge mention, credit "
        "notes and what is paid. Credit notes are documents of their own (type "
        "381). CII and UBL need a tax table ([tax])."
    )
    p.add_argument("account", metavar="ACCOUNT", help="the customer's account reference")
    p.add_argument("n", type=int, metavar="N", help="the invoice number (n in `status`)")
    p.add_argument(
        "--credit-note",
        type=int,
        metavar="K",
        help="the K-th credit note against invoice N (from 1) instead",
    )
    p.add_argument(
        "--format",
        choices=FORMAT_NAMES,
        default="json",
        help="json (default, to stdout) | pdf (Factur-X, EN 16931) | cii "
        "(EN 16931 CII XML) | ubl (UBL 2.1, Peppol BIS syntax)",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the document to FILE (a pdf needs it, or stdout redirected)",
    )


def invoice(args: argparse.Namespace) -> int:
    from infra.interface.invoicing.formats import FORMATS, UntaxedDocumentError, filename

    form = FORMATS[args.format]
    if form.binary and args.output is None and sys.stdout.isatty():
        return out.error(
            "invalid_input",
            f"a {form.name.upper()} is binary: give --output FILE, or redirect stdout to a file",
            as_json=args.json,
            extra={"field": "output"},
        )
    ledger = open_ledger(args)
    try:
        doc = ledger.invoice_document(args.account, args.n, args.credit_note)
    except SellerNotConfiguredError as e:
        raise ConfigError(str(config_path(args)), str(e), "seller") from None
    finally:
        ledger.close()
    if form.name == "json" and args.output is None:
        if args.json:  # the answer: the document, named; without --json the document alone
            document = document_json(doc)
            out.write_json({"kind": "invoice", "account": args.account, **document})
        else:
            out.write_json(document_json(doc), pretty=True)
        return 0
    try:
        data = form.render(doc)
    except UntaxedDocumentError as e:
        return out.error(
            "untaxed_document",
            f"{e}; --format pdf or json gives the document",
            as_json=args.json,
            extra={"field": "format"},
        )
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    args.output.write_bytes(data)
    if args.json:
        out.write_json(
            {
                "kind": "invoice_written",
                "ok": True,
                "account": args.account,
                "number": doc.number,
                "format": form.name,
                "path": str(args.output),
                "bytes": len(data),
                "suggested_name": filename(doc, form),
            }
        )
    else:
        print(
            f"wrote {args.output}: {'credit note' if doc.is_credit_note else 'invoice'} "
            f"{doc.number}, {form.name}, {len(data)} bytes"
        )
    return 0
