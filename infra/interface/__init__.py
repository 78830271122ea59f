"""Strings and bytes <-> domain types, shared by the CLI, the HTTP API and the
scenario runner: the command vocabulary, the presenter of answers, country and VAT
id checks, and the invoice documents' renderers. No SQL, no I/O of its own."""
