"""Build the SPEC 1.0 store of this folder with the code as it was before SPEC 1.1.

The store is recorded by the ledger of commit c6f7601 (the last commit before 1.1), driven
through its own command line, one process per command like a user at a terminal, so that
tests/integration/test_store_recorded_by_1_0.py can open it with today's code and check
that it replays to what was recorded. Usage (from the repository root):

    git archive c6f7601 | tar -x -C /tmp/subledger-1.0
    .venv/bin/python tests/legacy_1_0/make_store.py --old-source /tmp/subledger-1.0 \
        --out tests/legacy_1_0

It writes `subledger.toml`, `subledger.key` (a test master key: the store's personal data
is made up), `ledger.db`, and `expected.json`: what the 1.0 code showed at the end, i.e.
each account's observed state as of the store's clock, the journal's trial balance and
each account's next deadline as the 1.0 recorder indexed it. Only the standard library
is used here, so the script runs whatever the code under test looks like.
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
from pathlib import Path
from typing import Any

END = "2027-02-15T00:00:00Z"  # the store's clock: every tick and command stays before it

CONFIG = """\
# The SPEC 1.0 store of tests/legacy_1_0 (see make_store.py). `profile` is switched
# while the store is made; each account keeps the profile it registered under.
[ledger]
database = "ledger.db"
master_key_file = "subledger.key"
profile = "{profile}"
currency = "EUR"

[catalog.basic]
monthly = "29.00"
quarterly = "75.00"
annual = "290.00"

[catalog.cloud]
monthly = "5.00"
annual = "50.00"

[catalog.team]
monthly = "49.00"
annual = "490.00"

[catalog.b2b]
annual = "1200.00"

# annual-b2b's dunning with an inactivity rule: dunning after an inactivity closure
[profiles.b2b-quiet]
extends = "annual-b2b"
inactivity = {{months = 6}}
"""

# (instant, profile for a registration or None, command, account, fields); the cases whose
# same-instant order or rule SPEC 1.1 changes, each named after what it covers
STORY: list[tuple[str, str | None, str, str | None, dict[str, Any]]] = [
    # ACCOUNT-3 order: 1.0 renews at Jan 5 2027 09:00, then closes in the same instant
    ("2026-01-05T09:00:00Z", "device-cloud", "register-account", "dc-quiet", {}),
    (
        "2026-01-05T09:00:00Z",
        None,
        "subscribe",
        "dc-quiet",
        {"plan": "cloud", "term": "annual", "payment-method": "card"},
    ),
    # ACCOUNT-3 credit: 1.0 keeps 12.34 of credit on the account it closed (no waiver)
    ("2026-01-05T09:00:00Z", "device-cloud", "register-account", "dc-credit", {}),
    (
        "2026-01-05T09:00:00Z",
        None,
        "record-payment",
        "dc-credit",
        {"amount": "12.34", "reference": "dc-credit-1"},
    ),
    # ACCOUNT-3 dunning: 1.0 charges interest month 6 at the closing instant, then stops
    ("2026-01-05T09:00:00Z", "b2b-quiet", "register-account", "b2b-quiet", {}),
    (
        "2026-01-05T09:00:00Z",
        None,
        "subscribe",
        "b2b-quiet",
        {"plan": "b2b", "term": "annual", "payment-method": "bank_transfer"},
    ),
    ("2026-01-19T09:00:00Z", None, "record-activity", "b2b-quiet", {}),
    # ACCOUNT-3 order: 1.0 renews a 7th month at Jul 31 10:00, then closes
    ("2026-01-31T10:00:00Z", "crm-retention", "register-account", "crm-quiet", {}),
    (
        "2026-01-31T10:00:00Z",
        None,
        "subscribe",
        "crm-quiet",
        {"plan": "team", "term": "monthly", "payment-method": "card"},
    ),
    # ACCOUNT-3 credit: 1.0 keeps 100.00 of credit on the account it closed (no refund)
    ("2026-01-31T10:00:00Z", "crm-retention", "register-account", "crm-credit", {}),
    (
        "2026-01-31T10:00:00Z",
        None,
        "record-payment",
        "crm-credit",
        {"amount": "100.00", "reference": "crm-credit-1"},
    ),
    # PRICE-5: 1.0 tells nobody who subscribes between announcement and effective date
    (
        "2026-03-01T00:00:00Z",
        "monthly-autorenew",
        "announce-price-change",
        None,
        {
            "plan": "basic",
            "term": "monthly",
            "new-price": "35.00",
            "effective-at": "2026-05-01T00:00:00Z",
        },
    ),
    ("2026-03-10T09:00:00Z", "monthly-autorenew", "register-account", "ma-late", {}),
    (
        "2026-03-10T09:00:00Z",
        None,
        "subscribe",
        "ma-late",
        {"plan": "basic", "term": "monthly", "payment-method": "card"},
    ),
    # ACCOUNT-3 order, still to come when the store is opened: Jun 1 2027 09:00
    ("2026-06-01T09:00:00Z", "device-cloud", "register-account", "dc-quiet-late", {}),
    (
        "2026-06-01T09:00:00Z",
        None,
        "subscribe",
        "dc-quiet-late",
        {"plan": "cloud", "term": "annual", "payment-method": "card"},
    ),
    # ACCOUNT-3 activity: 1.0 counts a deletion request (closure Jun 1 2027, not Mar 1)
    ("2026-09-01T10:00:00Z", "crm-retention", "register-account", "crm-deleted", {}),
    ("2026-12-01T10:00:00Z", None, "request-data-deletion", "crm-deleted", {}),
    # TERM-6: 1.0 chains the queued package's end from the previous end (Feb 28 -> Mar 28)
    ("2027-01-31T10:00:00Z", "device-cloud", "register-account", "prepaid", {}),
    (
        "2027-01-31T10:00:00Z",
        None,
        "purchase-prepaid",
        "prepaid",
        {"plan": "cloud", "months": "1", "payment-method": "card"},
    ),
    (
        "2027-01-31T10:00:00Z",
        None,
        "purchase-prepaid",
        "prepaid",
        {"plan": "cloud", "months": "1", "payment-method": "card"},
    ),
]


def run(old_source: Path, config: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(old_source), "SUBLEDGER_LOG_LEVEL": "error"}
    for name in (
        "SUBLEDGER_CONFIG",
        "SUBLEDGER_DB",
        "SUBLEDGER_DATABASE_URL",
        "SUBLEDGER_MASTER_KEY",
    ):
        env.pop(name, None)
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
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--old-source",
        type=Path,
        required=True,
        help="a checkout of commit c6f7601 (the code before SPEC 1.1)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    old: Path = args.old_source.resolve()
    head = (old / "domain" / "account.py").read_text()
    assert "_INACTIVE, \\\n    _DELETION" in head, "--old-source is not the SPEC 1.0 code"
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm", "expected.json"):
        (out / name).unlink(missing_ok=True)
    key = out / "subledger.key"
    key.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    key.chmod(0o600)
    config = out / "subledger.toml"
    for at, profile, command, account, fields in STORY:
        if profile is not None:
            config.write_text(CONFIG.format(profile=profile))
        argv = [command] + ([account] if account else [])
        if command == "register-account":
            assert account is not None
            given = {"name": account.replace("-", " ").title(), "email": f"{account}@example.test"}
        else:
            given = fields
        for field, value in given.items():
            argv += [f"--{field}", value]
        run(old, config, *argv, "--at", at)
    run(old, config, "tick", "--to", END)
    refs = sorted({account for _, _, _, account, _ in STORY if account})
    expected: dict[str, Any] = {"as_of": END, "accounts": {}, "deadlines": {}}
    for ref in refs:
        expected["accounts"][ref] = json.loads(
            run(old, config, "--json", "status", ref, "--as-of", END)
        )
    journal = json.loads(run(old, config, "--json", "journal"))
    expected["trial_balance"] = journal["trial_balance"]
    expected["journal_lines"] = len(journal["lines"])
    db = sqlite3.connect(out / "ledger.db")
    try:
        expected["deadlines"] = dict(
            db.execute("SELECT account_id, due_at FROM deadlines ORDER BY account_id").fetchall()
        )
        expected["events"] = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        db.execute("VACUUM")
    finally:
        db.close()
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
