"""Invoice documents (`TAX-6`) rendered from `projections.invoice_document`: EN 16931 CII
and UBL 2.1 XML (`en16931`), the page a person reads (`page`) and the Factur-X PDF that
carries both (`pdf`)."""
