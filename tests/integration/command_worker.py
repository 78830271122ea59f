"""A separate process issuing scenario commands against a shared ledger (test helper).

    python command_worker.py JOB.json

JOB: {"database_url", "profile", "catalog", "commands": [{"do", "at", "fields"}],
"start_file": optional path to wait for, so that workers start together, "results":
path}. Each command's outcome is appended to `results` as a JSON line, flushed and
fsynced, as soon as the ledger has answered: {"i", "ok", "recorded"} or {"i", "ok":
false, "code"}. A line is written only after the command's transaction committed (or was
refused), so a process killed mid-command leaves that command without a line.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import orjson

from consumers.payment_provider import SimulatedPaymentProvider
from domain.calendar import parse_instant
from domain.errors import Rejected
from domain.profiles import BUILT_IN_PROFILES
from infra.application.bootstrap import build_ledger
from infra.config import LedgerConfig
from infra.interface.vocabulary import parse_command

sys.path.insert(0, str(Path(__file__).parent))
from ledger_kit import TEST_MASTER_KEY


def main(job_path: str) -> int:
    job = orjson.loads(Path(job_path).read_bytes())
    config = LedgerConfig(
        database=Path("unused.db"),
        profile=BUILT_IN_PROFILES[job["profile"]],
        currency="EUR",
        catalog=job["catalog"],
        database_url=job["database_url"],
        master_key=TEST_MASTER_KEY,
    )
    ledger = build_ledger(config, SimulatedPaymentProvider())
    start = job.get("start_file")
    while start and not Path(start).exists():
        time.sleep(0.001)
    with open(job["results"], "ab") as results:
        for i, step in enumerate(job["commands"]):
            command = parse_command(step["do"], step["fields"], parse_instant(step["at"]))
            try:
                outcome = ledger.execute(command)
                line = {"i": i, "ok": True, "recorded": outcome.recorded}
            except Rejected as e:
                line = {"i": i, "ok": False, "code": e.code.value}
            results.write(orjson.dumps(line) + b"\n")
            results.flush()
            os.fsync(results.fileno())
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
