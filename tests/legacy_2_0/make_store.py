"""Build the SPEC 2.0 store of this folder with the code as it was before issue 14's moves.

The store is recorded by the ledger of commit 7773ff6 (the last commit before `infra/`
was split by role, the command vocabulary declared once and the request mark passed to
the save), driven through its own command line, one process per command, and through its
own HTTP API for one idempotent request, so that
tests/integration/test_store_recorded_by_2_0.py can open it with the new code and check
that it replays to what was recorded. Usage (from the repository root):

    git archive 7773ff6 | tar -x -C /tmp/subledger-2.0
    .venv/bin/python tests/legacy_2_0/make_store.py --old-source /tmp/subledger-2.0 \
        --out tests/legacy_2_0

It writes `subledger.toml`, `subledger.key` (a test master key: the personal data is made
up), `ledger.db`, and `expected.json`: what the old code showed at the end (each
account's observed state as of the store's clock and its stored events, the journal's
trial balance, the deadline index, the finance reports of the months it covers, an
invoice and a credit note as documents, `verify`'s answer, and the HTTP request whose
answer the idempotency table keeps). Only the standard library is used here, so the
script runs whatever the code under test looks like.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

END = "2026-11-15T00:00:00Z"  # the store's clock: every tick and command stays before it
OLD_COMMIT = "7773ff6"

CONFIG = """\
# The SPEC 2.0 store of tests/legacy_2_0 (see make_store.py). `profile` is switched
# while the store is made; each account keeps the profile it registered under.
[ledger]
database = "ledger.db"
master_key_file = "subledger.key"
profile = "{profile}"
currency = "EUR"

[catalog.basic]
monthly = "30.00"
annual = "300.00"

[catalog.team]
monthly = "60.00"
annual = "600.00"

[catalog.cloud]
monthly = "5.00"
annual = "50.00"

[catalog.b2b]
annual = "1200.00"

[catalog.b2b-plus]
annual = "2400.00"

[tax]
seller_country = "BE"
rates = {{ BE = "21", NL = "21", FR = "20", DE = "19" }}

[seller]
name = "Legacy Ledger BV"
address = "Rue de la Loi 16, 1000 Brussels"
vat_id = "BE0403170701"
iban = "BE71 0961 2345 6769"
invoice_prefix = "LG"
"""

# (instant, profile for a registration or None, command, account, fields), in time order;
# each account named after what it covers (SPEC 2.0: taxes, plan changes, vendor actions)
STORY: list[tuple[str, str | None, str, str | None, dict[str, str]]] = [
    # ACCOUNT-3 (1.1) device-cloud: credit held at the inactivity closure is waived
    ("2025-11-03T09:00:00Z", "device-cloud", "register-account", "nl-quiet", {"country": "NL"}),
    (
        "2025-11-03T09:00:00Z",
        None,
        "record-payment",
        "nl-quiet",
        {"amount": "12.34", "reference": "nl-quiet-1"},
    ),
    # TAX-1/2 reverse charge (AE) to a German business; CANCEL-3 prorated refund, a
    # credit note split by TAX-4
    (
        "2025-11-03T09:00:00Z",
        "device-cloud",
        "register-account",
        "de-cloud",
        {"country": "DE", "vat-id": "DE136695976"},
    ),
    (
        "2025-11-03T09:00:00Z",
        None,
        "subscribe",
        "de-cloud",
        {"plan": "cloud", "term": "annual", "payment-method": "card"},
    ),
    # TERM-6 prepaid packages, the queued one cancelled for a full refund
    ("2025-12-01T10:00:00Z", "device-cloud", "register-account", "be-prepaid", {"country": "BE"}),
    (
        "2025-12-01T10:00:00Z",
        None,
        "purchase-prepaid",
        "be-prepaid",
        {"plan": "cloud", "months": "1", "payment-method": "card"},
    ),
    (
        "2025-12-01T10:00:00Z",
        None,
        "purchase-prepaid",
        "be-prepaid",
        {"plan": "cloud", "months": "3", "payment-method": "card"},
    ),
    ("2025-12-10T10:00:00Z", None, "cancel-queued", "be-prepaid", {}),
    # TAX-1 domestic 21 %; PAY-2/3 dunning on the gross amount, PAY-5 collection costs, a
    # partial payment (PAY-4), CHANGE-2 upgrade invoice, VENDOR-3 cancellation for
    # non-payment with liquidated damages and the upgrade invoice accelerated
    ("2026-01-05T10:00:00Z", "annual-b2b", "register-account", "be-b2b", {"country": "BE"}),
    (
        "2026-01-05T10:00:00Z",
        None,
        "subscribe",
        "be-b2b",
        {"plan": "b2b", "term": "annual", "payment-method": "bank_transfer"},
    ),
    (
        "2026-01-05T10:00:00Z",
        "annual-b2b",
        "register-account",
        "fr-b2b",
        {"country": "FR", "vat-id": "FR40303265045"},
    ),
    (
        "2026-01-05T10:00:00Z",
        None,
        "subscribe",
        "fr-b2b",
        {"plan": "b2b", "term": "annual", "payment-method": "card"},
    ),
    ("2026-02-10T10:00:00Z", None, "record-collection-cost", "be-b2b", {"amount": "40.00"}),
    (
        "2026-03-01T10:00:00Z",
        None,
        "record-payment",
        "be-b2b",
        {"amount": "500.00", "reference": "be-b2b-1"},
    ),
    ("2026-03-02T10:00:00Z", "crm-retention", "register-account", "no-crm", {"country": "NO"}),
    (
        "2026-03-02T10:00:00Z",
        None,
        "subscribe",
        "no-crm",
        {"plan": "team", "term": "monthly", "payment-method": "card"},
    ),
    ("2026-03-25T10:00:00Z", None, "change-plan", "fr-b2b", {"plan": "b2b-plus"}),
    # monthly-autorenew: a trial, then a move to the Netherlands with a VAT id (TAX-2),
    # a subscription, a data export, a deletion request (GDPR-1, -4)
    ("2026-04-01T09:00:00Z", "monthly-autorenew", "register-account", "be-ma", {"country": "BE"}),
    ("2026-04-01T09:00:00Z", None, "start-trial", "be-ma", {"plan": "basic"}),
    ("2026-04-01T09:00:00Z", "monthly-autorenew", "register-account", "be-term", {"country": "BE"}),
    (
        "2026-04-01T09:00:00Z",
        None,
        "subscribe",
        "be-term",
        {"plan": "basic", "term": "monthly", "payment-method": "card"},
    ),
    ("2026-04-01T09:00:00Z", None, "cancel-for-nonpayment", "be-b2b", {}),
    # CHANGE-3 downgrade at the renewal (a cancellation removes the first one), CHANGE-4
    # revoked cancellation, ACCOUNT-3 activity, VENDOR-1 suspension
    ("2026-04-11T10:00:00Z", None, "change-plan", "no-crm", {"plan": "basic"}),
    ("2026-04-12T10:00:00Z", None, "record-activity", "no-crm", {}),
    ("2026-04-15T10:00:00Z", None, "request-cancellation", "no-crm", {}),
    ("2026-04-16T10:00:00Z", None, "revoke-cancellation", "no-crm", {}),
    ("2026-04-17T10:00:00Z", None, "change-plan", "no-crm", {"plan": "basic"}),
    (
        "2026-04-20T09:00:00Z",
        None,
        "update-personal-data",
        "be-ma",
        {"country": "NL", "vat-id": "NL004495445B01", "address": "Dam 1, Amsterdam"},
    ),
    (
        "2026-04-20T09:00:00Z",
        None,
        "subscribe",
        "be-ma",
        {"plan": "basic", "term": "monthly", "payment-method": "card"},
    ),
    # PRICE-1/2/5: a price change announced with notices to the subscribers
    (
        "2026-05-01T00:00:00Z",
        "monthly-autorenew",
        "announce-price-change",
        None,
        {
            "plan": "basic",
            "term": "monthly",
            "new-price": "35.00",
            "effective-at": "2026-07-01T00:00:00Z",
        },
    ),
    ("2026-05-05T09:00:00Z", None, "export-personal-data", "be-ma", {}),
    (
        "2026-05-10T10:00:00Z",
        None,
        "suspend-account",
        "no-crm",
        {"reason": "chargeback under review"},
    ),
    ("2026-05-20T10:00:00Z", None, "reinstate-account", "no-crm", {}),
    # PAY-6: a disputed invoice (monthly-autorenew, paid by transfer)
    ("2026-06-01T09:00:00Z", "monthly-autorenew", "register-account", "be-disp", {"country": "BE"}),
    (
        "2026-06-01T09:00:00Z",
        None,
        "subscribe",
        "be-disp",
        {"plan": "basic", "term": "monthly", "payment-method": "bank_transfer"},
    ),
    (
        "2026-06-03T09:00:00Z",
        None,
        "dispute-invoice",
        "be-disp",
        {"invoice": "1", "reason": "never ordered"},
    ),
    ("2026-06-11T10:00:00Z", None, "change-plan", "no-crm", {"plan": "team"}),
    # VENDOR-2: terminated by the vendor, the export window closes 10 days later
    (
        "2026-06-15T09:00:00Z",
        None,
        "terminate-by-vendor",
        "be-term",
        {"reason": "terms of service breach", "export-days": "10"},
    ),
    # CANCEL-3 (device-cloud annual): prorated refund by a credit note
    ("2026-07-10T09:00:00Z", None, "request-cancellation", "de-cloud", {}),
    ("2026-09-01T09:00:00Z", None, "request-data-deletion", "be-ma", {}),
    # ACCOUNT-4: closure at the customer's request
    (
        "2026-09-15T09:00:00Z",
        "monthly-autorenew",
        "register-account",
        "be-closed",
        {"country": "BE"},
    ),
    ("2026-10-01T09:00:00Z", None, "request-account-closure", "be-closed", {}),
]

# the one command sent over HTTP, with an Idempotency-Key: its answer is kept in the
# idempotency table, marked committed by the same transaction as its events
HTTP_AT = "2026-11-02T09:00:00Z"
HTTP_PATH = "/accounts/be-b2b/payments"
HTTP_KEY = "legacy-2-0-payment"
HTTP_BODY = {"amount": "100.00", "reference": "be-b2b-http-1", "at": HTTP_AT}
REPORT_MONTHS = ("2026-01", "2026-04", "2026-07")


def env_for(old_source: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(old_source), "SUBLEDGER_LOG_LEVEL": "error"}
    for name in (
        "SUBLEDGER_CONFIG",
        "SUBLEDGER_DB",
        "SUBLEDGER_DATABASE_URL",
        "SUBLEDGER_MASTER_KEY",
    ):
        env.pop(name, None)
    return env


def run(old_source: Path, config: Path, *args: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from infra.cli import main; sys.exit(main())",
            "--config",
            str(config),
            *args,
        ],
        cwd=old_source,
        env=env_for(old_source),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def http_command(old: Path, config: Path) -> dict[str, Any]:
    """One idempotent POST through the old server: the key's secret, the request and the
    answer it got (the idempotency table keeps that answer)."""
    created = json.loads(
        run(
            old,
            config,
            "--json",
            "apikey",
            "create",
            "--scope",
            "read,write",
            "--label",
            "legacy-2.0",
        )
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from infra.cli import main; sys.exit(main())",
            "--config",
            str(config),
            "serve",
            "--port",
            "0",
            "--tick-every",
            "0",
            "--max-backdate-days",
            "3650",
        ],
        cwd=old,
        env=env_for(old),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        address = line.strip().rsplit(" ", 1)[-1]
        assert address.startswith("http://"), line
        request = urllib.request.Request(
            address + HTTP_PATH,
            data=json.dumps(HTTP_BODY).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {created['key']}",
                "Idempotency-Key": HTTP_KEY,
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, body = answer.status, json.loads(answer.read())
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "api_key": created["key"],
        "key_id": created["id"],
        "path": HTTP_PATH,
        "idempotency_key": HTTP_KEY,
        "body": HTTP_BODY,
        "status": status,
        "answer": body,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--old-source",
        type=Path,
        required=True,
        help=f"a checkout of commit {OLD_COMMIT} (the code before issue 14)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    old: Path = args.old_source.resolve()
    assert (old / "infra" / "recorder_extras.py").exists() and "REQUEST_MARK" in (
        old / "infra" / "recorder_extras.py"
    ).read_text(), "--old-source is not the code before issue 14"
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm", "expected.json"):
        (out / name).unlink(missing_ok=True)
    key = out / "subledger.key"
    key.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    key.chmod(0o600)
    config = out / "subledger.toml"
    for at, profile, command, account, given in STORY:
        if profile is not None:
            config.write_text(CONFIG.format(profile=profile))
        argv = [command] + ([account] if account else [])
        fields = given
        if command == "register-account":
            assert account is not None
            fields = {
                "name": account.replace("-", " ").title(),
                "email": f"{account}@example.test",
                **given,
            }
        for field, value in fields.items():
            argv += [f"--{field}", value]
        run(old, config, *argv, "--at", at)
    run(old, config, "tick", "--to", HTTP_AT)
    http = http_command(old, config)
    run(old, config, "tick", "--to", END)
    refs = sorted({account for _, _, _, account, _ in STORY if account})
    expected: dict[str, Any] = {
        "as_of": END,
        "made_by": OLD_COMMIT,
        "accounts": {},
        "events_of": {},
        "deadlines": {},
        "reports": {},
        "http": http,
    }
    for ref in refs:
        expected["accounts"][ref] = json.loads(
            run(old, config, "--json", "status", ref, "--as-of", END)
        )
        expected["events_of"][ref] = [
            [e["event"], e["version"]]
            for e in json.loads(run(old, config, "--json", "events", ref))
        ]
    journal = json.loads(run(old, config, "--json", "journal"))
    expected["trial_balance"] = journal["trial_balance"]
    expected["journal_lines"] = len(journal["lines"])
    for name in ("mrr-movements", "vat", "revenue", "churn"):
        expected["reports"][name] = {
            month: json.loads(
                run(old, config, "--json", "report", name, "--month", month, "--at", END)
            )
            for month in REPORT_MONTHS
        }
    expected["reports"]["ageing"] = json.loads(
        run(old, config, "--json", "report", "ageing", "--at", END)
    )
    expected["documents"] = {
        "be-b2b 1": json.loads(run(old, config, "--json", "invoice", "be-b2b", "1")),
        "de-cloud 1 C1": json.loads(
            run(old, config, "--json", "invoice", "de-cloud", "1", "--credit-note", "1")
        ),
    }
    expected["verify"] = json.loads(run(old, config, "--json", "verify"))
    db = sqlite3.connect(out / "ledger.db")
    try:
        expected["deadlines"] = dict(
            db.execute("SELECT account_id, due_at FROM deadlines ORDER BY account_id").fetchall()
        )
        expected["events"] = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        expected["topics"] = dict(
            db.execute(
                "SELECT topic, COUNT(*) FROM stored_events GROUP BY topic ORDER BY topic"
            ).fetchall()
        )
        db.execute("VACUUM")
    finally:
        db.close()
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
