"""The invoice page a person reads (`TAX-6`): one A4 page, PDF/A-3B, drawn with fpdf2.

PDF/A (which Factur-X requires) forbids the PDF base fonts: the page embeds DejaVu Sans,
shipped next to this module (`fonts/`, Bitstream Vera licence), so it renders the same on
every machine with no system font. fpdf2 adds the sRGB output intent PDF/A asks for.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from infra.interface.invoicing.en16931 import address_lines
from projections.invoice_document import (
    CATEGORIES,
    InvoiceDocument,
    Line,
    last_day,
    utc_date,
)

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVuSans"
GREY = (110, 110, 110)
INK = (20, 20, 20)
RULE = (190, 190, 190)
WIDTH = 180.0  # A4 less 15 mm margins


def money(minor: int) -> str:
    """1,210.00: thousands separated for the eye, never a float."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def day(instant: datetime) -> str:
    return utc_date(instant).isoformat()


def iban_text(iban: str) -> str:
    """The IBAN in groups of four, as people copy it."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def render_page(doc: InvoiceDocument) -> bytes:
    """The page alone, as PDF/A-3B bytes (the Factur-X XML is added by `pdf.py`)."""
    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.creation_date = doc.issued_at  # the same document makes the same page
    pdf.set_lang("en")
    title = f"{_kind(doc)} {doc.number}"
    pdf.set_title(title)
    pdf.set_author(doc.seller.name)
    pdf.set_subject(f"{title} issued {day(doc.issued_at)} by {doc.seller.name}")
    pdf.set_creator("subledger")
    pdf.add_page()
    pdf.set_text_color(*INK)
    _header(pdf, doc)
    _parties(pdf, doc)
    _lines(pdf, doc)
    if doc.vat_breakdown:
        _vat_breakdown(pdf, doc)
    _totals(pdf, doc)
    _mentions(pdf, doc)
    if doc.credit_notes:
        _credit_notes(pdf, doc)
    _payment(pdf, doc)
    _footer(pdf, doc)
    return bytes(pdf.output())


def _kind(doc: InvoiceDocument) -> str:
    return "Credit note" if doc.is_credit_note else "Invoice"


def _paragraph(pdf: FPDF, text: str, height: float = 5, **kwargs: Any) -> None:
    pdf.multi_cell(
        WIDTH, height, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT, **kwargs
    )


def _font(pdf: FPDF, size: float, bold: bool = False, grey: bool = False) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_text_color(*(GREY if grey else INK))


def _header(pdf: FPDF, doc: InvoiceDocument) -> None:
    top = pdf.get_y()
    _font(pdf, 14, bold=True)
    pdf.multi_cell(105, 7, doc.seller.name, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf, 9)
    for text in address_lines(doc.seller.address):
        pdf.cell(105, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.seller.country:
        pdf.cell(105, 4.6, doc.seller.country, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(105, 4.6, f"VAT {doc.seller.vat_id}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    pdf.set_xy(125, top)
    _font(pdf, 20, bold=True)
    pdf.cell(70, 9, _kind(doc).upper(), align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    facts = [("Number", doc.number), ("Issue date", day(doc.issued_at))]
    if doc.due_at is not None:
        facts.append(("Due date", day(doc.due_at)))
    if doc.corrects is not None:
        facts.append(("Corrects invoice", doc.corrects.number))
        facts.append(("Invoice date", day(doc.corrects.issued_at)))
    facts.append(("Account", doc.account))
    for label, value in facts:
        pdf.set_x(125)
        _font(pdf, 9, grey=True)
        pdf.cell(30, 5, label)
        _font(pdf, 9, bold=label == "Number")
        pdf.cell(40, 5, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)


def _parties(pdf: FPDF, doc: InvoiceDocument) -> None:
    buyer = doc.buyer
    _font(pdf, 8, bold=True, grey=True)
    pdf.cell(WIDTH, 5, "BILL TO", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if buyer.erased:
        _font(pdf, 11, bold=True)
        pdf.cell(WIDTH, 6, "erased", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _font(pdf, 8.5, grey=True)
        _paragraph(
            pdf,
            "The customer's invoice identity was erased after its retention "
            "period (GDPR); amounts and dates are as issued.",
            height=4.4,
        )
    else:
        _font(pdf, 11, bold=True)
        pdf.multi_cell(110, 6, buyer.name, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _font(pdf, 9)
        for text in address_lines(buyer.address):
            pdf.cell(110, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if buyer.vat_id:
            pdf.cell(110, 4.6, f"VAT {buyer.vat_id}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if buyer.country:
        _font(pdf, 9)
        pdf.cell(110, 4.6, buyer.country, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


def _period(line: Line) -> str:
    if line.period_start is None or line.period_end is None:
        return ""
    return f"{day(line.period_start)} \N{EN DASH} {last_day(line.period_end).isoformat()}"


def _rate(category: str | None, rate: str | None) -> str:
    if category is None:
        return ""
    return f"{category} {rate} %" if category == "S" else f"{category} 0 %"


def _lines(pdf: FPDF, doc: InvoiceDocument) -> None:
    taxed = doc.taxed
    heads = ["Description", "Period", "Qty", f"{'Net' if taxed else 'Amount'} ({doc.currency})"]
    widths = [70.0, 44.0, 12.0, 26.0]
    align = ["LEFT", "LEFT", "RIGHT", "RIGHT"]
    if taxed:
        heads += ["VAT rate", "VAT amount"]
        widths += [18.0, 24.0]
        align += ["RIGHT", "RIGHT"]
        widths[0] = 56.0
    else:
        widths[0] = WIDTH - sum(widths[1:])
    _font(pdf, 8.5)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        width=sum(widths),
        align=Align.L,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", color=GREY),
        line_height=5,
        padding=(1.2, 1, 1.2, 1),
    ) as table:
        table.row(heads)
        for line in doc.lines:
            name = line.name if not line.note else f"{line.name}\n{line.note}"
            cells = [name, _period(line), str(line.quantity), money(line.net)]
            if taxed:
                cells += [_rate(line.tax_category, line.tax_rate), money(line.tax)]
            table.row(cells)
    pdf.ln(4)


def _vat_breakdown(pdf: FPDF, doc: InvoiceDocument) -> None:
    _font(pdf, 8, bold=True, grey=True)
    pdf.cell(WIDTH, 5, "VAT BREAKDOWN", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf, 8.5)
    widths = (80.0, 30.0, 40.0, 30.0)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align=Align.L,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", color=GREY),
        line_height=5,
        padding=(1.2, 1, 1.2, 1),
    ) as table:
        table.row(["Category", "Rate", f"Taxable ({doc.currency})", f"VAT ({doc.currency})"])
        for row in doc.vat_breakdown:
            label = f"{CATEGORIES[row.category]} ({row.category})"
            rate = f"{row.rate} %" if row.category == "S" else "0 %"
            table.row([label, rate, money(row.taxable), money(row.tax)])
    pdf.ln(3)


def _amount_row(pdf: FPDF, label: str, value: str, bold: bool = False, size: float = 9.5) -> None:
    pdf.set_x(15 + WIDTH - 90)
    _font(pdf, size, bold=bold, grey=not bold)
    pdf.cell(55, 6, label)
    _font(pdf, size, bold=bold)
    pdf.cell(35, 6, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _totals(pdf: FPDF, doc: InvoiceDocument) -> None:
    cur = doc.currency
    totals = doc.totals
    if doc.taxed:
        _amount_row(pdf, "Total net", f"{money(totals.net)} {cur}")
        _amount_row(pdf, "Total VAT", f"{money(totals.tax)} {cur}")
    else:
        _amount_row(pdf, "VAT", "not charged")
    y = pdf.get_y()
    pdf.set_draw_color(*RULE)
    pdf.line(15 + WIDTH - 90, y, 15 + WIDTH, y)
    label = "Total credited" if doc.is_credit_note else "Total"
    _amount_row(pdf, label, f"{money(totals.gross)} {cur}", bold=True, size=11)
    pdf.ln(4)


def _mentions(pdf: FPDF, doc: InvoiceDocument) -> None:
    for mention in doc.mentions:
        _font(pdf, 9.5, bold=True)
        _paragraph(pdf, mention, border=1, padding=2.5)
        pdf.ln(3)


def _credit_notes(pdf: FPDF, doc: InvoiceDocument) -> None:
    _font(pdf, 8, bold=True, grey=True)
    pdf.cell(WIDTH, 5, "CREDIT NOTES AGAINST THIS INVOICE", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf, 8.5)
    widths = (60.0, 30.0, 30.0, 30.0, 30.0)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align=Align.L,
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", color=GREY),
        line_height=5,
        padding=(1.2, 1, 1.2, 1),
    ) as table:
        table.row(["Credit note", "Date", "Net", "VAT", f"Total ({doc.currency})"])
        for note in doc.credit_notes:
            table.row(
                [
                    note.number,
                    day(note.issued_at),
                    money(note.totals.net),
                    money(note.totals.tax),
                    money(note.totals.gross),
                ]
            )
    pdf.ln(3)


def _payment(pdf: FPDF, doc: InvoiceDocument) -> None:
    cur = doc.currency
    _font(pdf, 8, bold=True, grey=True)
    pdf.cell(WIDTH, 5, "PAYMENT", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _font(pdf, 9.5)
    if doc.is_credit_note:
        assert doc.corrects is not None
        _paragraph(
            pdf,
            f"This credit note reduces what is owed on invoice "
            f"{doc.corrects.number} by {money(doc.totals.gross)} {cur}. "
            "There is nothing to pay.",
        )
        return
    rows = [("Paid", f"{money(doc.paid + doc.refunded)} {cur}")]
    if doc.refunded:  # paid, then partly given back: the customer sees both
        rows.append(("Refunded", f"{money(doc.refunded)} {cur}"))
    if doc.credit_notes:
        rows.append(("Credited", f"{money(doc.credited)} {cur}"))
    for label, value in rows:
        _amount_row(pdf, label, value)
    _amount_row(pdf, "Amount due", f"{money(doc.amount_due)} {cur}", bold=True, size=11)
    pdf.ln(2)
    _font(pdf, 9.5)
    if doc.amount_due == 0:
        text = "Nothing is due on this invoice."
        if doc.status:
            text = f"Status: {doc.status}. {text}"
        _paragraph(pdf, text)
        return
    due = f" by {day(doc.due_at)}" if doc.due_at is not None else ""
    overdue = ""
    if doc.status == "overdue":  # the due date has passed: say so rather than ask for it
        overdue = "This invoice is overdue" + (
            f" (it was due on {day(doc.due_at)}). " if doc.due_at is not None else ". "
        )
        due = " now"
    if doc.payment is not None:
        text = (
            f"{overdue}Please pay {money(doc.amount_due)} {cur}{due} by bank transfer "
            f"to IBAN {iban_text(doc.payment.iban)}, quoting {doc.payment.reference}."
        )
    else:
        text = f"{overdue}Please pay {money(doc.amount_due)} {cur}{due}, quoting {doc.number}."
    _paragraph(pdf, text)


def _footer(pdf: FPDF, doc: InvoiceDocument) -> None:
    pdf.set_y(-22)
    _font(pdf, 7.5, grey=True)
    if doc.taxed:
        text = (
            f"{_kind(doc)} {doc.number}. Factur-X (EN 16931): the structured "
            "invoice is embedded in this PDF as factur-x.xml."
        )
    else:
        text = f"{_kind(doc)} {doc.number}."
    pdf.multi_cell(WIDTH, 4, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
