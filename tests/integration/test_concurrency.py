"""Several processes writing to one event store at once, on SQLite and on PostgreSQL.

Nothing accepted is lost, nothing is doubled, a refused command leaves nothing, and a
process killed in the middle of a command leaves all of it or none of it.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from backends import Backend
from ledger_kit import CATALOG, journal_net, open_ledger

from domain.account import account_id
from domain.calendar import parse_instant
from domain.money import format_amount
from domain.reference_claim import claim_id
from infra.application.ledger import Ledger

WORKER = Path(__file__).with_name("command_worker.py")
ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-01-05T09:00:00Z"
LATER = "2026-02-20T09:00:00Z"  # after the first invoices fell due: ticks have work to do
PROFILE = "annual-b2b"


def start_worker(
    tmp_path: Path,
    name: str,
    database_url: str,
    commands: list[dict[str, Any]],
    start_file: Path | None = None,
) -> tuple[subprocess.Popen[bytes], Path]:
    results = tmp_path / f"{name}.jsonl"
    job = tmp_path / f"{name}.json"
    job.write_bytes(
        orjson.dumps(
            {
                "database_url": database_url,
                "profile": PROFILE,
                "catalog": CATALOG,
                "commands": commands,
                "results": str(results),
                "start_file": None if start_file is None else str(start_file),
            }
        )
    )
    # the log goes to a file: a pipe nobody reads yet would stall a worker mid-transaction
    with open(tmp_path / f"{name}.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(job)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
        )
    process.log_path = tmp_path / f"{name}.log"  # type: ignore[attr-defined]
    return process, results


def outcomes(results: Path) -> list[dict[str, Any]]:
    if not results.exists():
        return []
    return [orjson.loads(line) for line in results.read_bytes().splitlines() if line]


def finish(process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    process.wait(timeout=timeout)
    log: Path = process.log_path  # type: ignore[attr-defined]
    assert process.returncode == 0, log.read_text()[-3000:]


def step(do: str, at: str = LATER, **fields: Any) -> dict[str, Any]:
    return {"do": do, "at": at, "fields": fields}


def prepared(backend: Backend, accounts: int) -> tuple[Ledger, str]:
    """A ledger with `accounts` b2b customers on annual bank-transfer terms."""
    db = backend.database("shared")
    ledger = open_ledger(db, PROFILE)
    for n in range(accounts):
        ref = f"acct{n:02d}"
        ledger.execute(
            _parse(
                step(
                    "register_account",
                    T0,
                    account=ref,
                    name=f"Customer {n}",
                    email=f"{ref}@example.test",
                )
            )
        )
        ledger.execute(
            _parse(
                step(
                    "subscribe",
                    T0,
                    account=ref,
                    plan="basic",
                    term="annual",
                    payment_method="bank_transfer",
                )
            )
        )
    return ledger, db.url()


def _parse(s: dict[str, Any]) -> Any:
    from infra.interface.vocabulary import parse_command

    return parse_command(s["do"], s["fields"], parse_instant(s["at"]))


def payments_booked(ledger: Ledger, ref: str) -> Counter[str]:
    """Reference -> how many PaymentReceived events book it on the account."""
    return Counter(e.reference for e in ledger.events(ref) if type(e).__name__ == "PaymentReceived")


def stored_once_checks(ledger: Ledger, refs: list[str]) -> None:
    """Every payment booked once, with its claim; the index rows agree with the events."""
    for ref in refs:
        account = ledger.account(ref)
        booked = payments_booked(ledger, ref)
        assert all(n == 1 for n in booked.values()), (ref, booked)
        for reference, _ in booked.items():
            if not reference.startswith("collect:"):
                claim = list(ledger.app.events.get(claim_id(ref, reference)))
                assert len(claim) == 1, (ref, reference, claim)
        due = account.next_deadline()
        assert ledger.store.due_accounts(parse_instant("2100-01-01T00:00:00Z"), 10_000).count(
            str(account.id)
        ) == (0 if due is None else 1)


def journal_checks(ledger: Ledger) -> None:
    """The live journal is the one a rebuild from position 0 gives: no event folded twice
    or skipped by processes catching up at once; and it balances."""
    ledger.settle()
    live = ledger.store.journal_rows()
    views = {ref: ledger.state(ref) for ref in ledger.store.refs()}
    ledger.rebuild()
    assert ledger.store.journal_rows() == live
    assert {ref: ledger.state(ref) for ref in ledger.store.refs()} == views
    net = journal_net(ledger.journal())
    assert net and sum(net.values()) == 0


# ================================================================ 4 processes x 200
def workload(worker: int, refs: list[str], count: int) -> list[dict[str, Any]]:
    """Accepted payments (own and shared references), activity, personal data updates,
    and refusals (bad amount, unknown invoice), on accounts picked at random."""
    rng = random.Random(worker)
    commands = []
    for i in range(count):
        ref = rng.choice(refs)
        kind = rng.choice(
            ["pay", "pay", "shared", "activity", "personal", "bad_amount", "bad_invoice"]
        )
        if kind == "pay":
            commands.append(
                step(
                    "record_payment",
                    account=ref,
                    amount=format_amount(rng.randint(100, 5000)),
                    reference=f"w{worker}-{i}",
                )
            )
        elif kind == "shared":  # the same reference from every worker: booked once
            commands.append(
                step(
                    "record_payment",
                    account=ref,
                    amount="7.00",
                    reference=f"shared-{rng.randint(0, 4)}",
                )
            )
        elif kind == "activity":
            commands.append(step("record_activity", account=ref))
        elif kind == "personal":
            commands.append(step("update_personal_data", account=ref, name=f"Renamed {worker}-{i}"))
        elif kind == "bad_amount":
            commands.append(
                step("record_payment", account=ref, amount="-1.00", reference=f"bad-{worker}-{i}")
            )
        else:
            commands.append(step("dispute_invoice", account=ref, invoice=99, reason="?"))
    return commands


def test_four_processes_200_commands_each_on_20_shared_accounts(
    backend: Backend, tmp_path: Path
) -> None:
    """Section 0 + issue 4: concurrent writers lose no update and double no event."""
    refs = [f"acct{n:02d}" for n in range(20)]
    ledger, url = prepared(backend, len(refs))
    head_before = ledger.app.recorder.max_notification_id() or 0
    go = tmp_path / "go"
    jobs = {w: workload(w, refs, 200) for w in range(4)}
    workers = {w: start_worker(tmp_path, f"w{w}", url, jobs[w], go) for w in jobs}
    time.sleep(1.0)  # every worker has opened the ledger and waits at the barrier
    go.touch()
    for process, _ in workers.values():
        finish(process)

    expected_paid: Counter[str] = Counter()
    shared_tried: dict[tuple[str, str], int] = {}
    activity: Counter[str] = Counter()
    renamed: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for w, (_, results) in workers.items():
        answers = outcomes(results)
        assert [a["i"] for a in answers] == list(range(200)), "every command was answered"
        for answer, command in zip(answers, jobs[w], strict=True):
            fields = command["fields"]
            ref = fields["account"]
            reference = str(fields.get("reference", ""))
            if not answer["ok"]:
                codes[answer["code"]] += 1
                assert reference.startswith("bad-") or command["do"] == "dispute_invoice", answer
                continue
            if reference.startswith("shared-"):
                shared_tried[(ref, reference)] = shared_tried.get((ref, reference), 0) + int(
                    answer["recorded"]
                )
            elif command["do"] == "record_payment":
                assert answer["recorded"]
                expected_paid[ref] += int(fields["amount"].replace(".", ""))
            elif command["do"] == "record_activity":
                activity[ref] += 1
            elif command["do"] == "update_personal_data":
                renamed[ref] += 1
    assert set(codes) <= {"invalid_amount", "unknown_invoice"}, codes  # no `conflict`
    assert all(n == 1 for n in shared_tried.values()), "a shared reference booked twice"

    ledger.settle()
    for ref in refs:
        booked = payments_booked(ledger, ref)
        own = {r for r in booked if r.startswith("w")}
        shared = {r for r in booked if r.startswith("shared-")}
        assert not any(r.startswith("bad-") for r in booked), "a refused payment was stored"
        assert shared == {r for (a, r) in shared_tried if a == ref}
        names = Counter(type(e).__name__ for e in ledger.events(ref))
        assert names["ActivityRecorded"] == activity[ref]
        assert names["PersonalDataUpdated"] == renamed[ref]
        assert names["InvoiceDisputed"] == 0  # every dispute named an unknown invoice
        expected = expected_paid[ref] + 700 * len(shared)
        paid = sum(
            e.amount
            for e in ledger.events(ref)
            if type(e).__name__ == "PaymentReceived" and e.reference in own | shared
        )
        assert paid == expected, ref
        assert ledger.state(ref)["balance"]["paid"] == format_amount(expected)
    stored_once_checks(ledger, refs)
    journal_checks(ledger)
    assert (ledger.app.recorder.max_notification_id() or 0) > head_before
    ledger.close()


# ================================================================ one reference, 8 workers
def test_same_payment_reference_from_eight_workers_is_booked_once(
    backend: Backend, tmp_path: Path
) -> None:
    """PAY-1 + issue 4: the same wire reference arriving at 8 workers at the same moment
    is one payment; the other seven are answered as no-ops, not as errors."""
    ledger, url = prepared(backend, 1)
    references = [f"wire-{n}" for n in range(5)]
    go = tmp_path / "go"
    commands = [
        step("record_payment", account="acct00", amount="10.00", reference=r) for r in references
    ]
    workers = [start_worker(tmp_path, f"w{w}", url, commands, go) for w in range(8)]
    time.sleep(1.0)
    go.touch()
    for process, _ in workers:
        finish(process)
    answers = [a for _, results in workers for a in outcomes(results)]
    assert all(a["ok"] for a in answers), answers
    recorded = Counter(references[a["i"]] for a in answers if a["recorded"])
    assert recorded == dict.fromkeys(references, 1)
    booked = payments_booked(ledger, "acct00")
    assert {r: booked[r] for r in references} == dict.fromkeys(references, 1)
    ledger.settle()
    assert ledger.state("acct00")["balance"]["paid"] == "50.00"
    stored_once_checks(ledger, ["acct00"])
    journal_checks(ledger)
    ledger.close()


# ================================================================ SIGKILL
def kill_workload(refs: list[str]) -> list[dict[str, Any]]:
    """Commands that each write several things at once: a registration (events, data key,
    deadline), a subscription (events, deadline) and payments (account events, claim)."""
    commands = []
    for n, ref in enumerate(refs):
        commands += [
            step(
                "register_account", LATER, account=ref, name=f"K {n}", email=f"{ref}@example.test"
            ),
            step(
                "subscribe",
                LATER,
                account=ref,
                plan="basic",
                term="annual",
                payment_method="bank_transfer",
            ),
            step("record_payment", LATER, account=ref, amount="3.00", reference=f"k-{ref}"),
        ]
    return commands


def atomicity_checks(ledger: Ledger, refs: list[str]) -> None:
    """All or nothing: no account without its key, no key without its account, no
    payment without its claim and no claim without its payment; index rows agree."""
    stored = []
    for ref in refs:
        events = list(ledger.app.events.get(account_id(ref)))
        key = ledger.app.keys.key(str(account_id(ref)))
        assert (key is not None) == bool(events), (ref, "key and registration differ")
        claim = list(ledger.app.events.get(claim_id(ref, f"k-{ref}")))
        paid = [e for e in events if type(e).__name__ == "PaymentReceived"]
        assert len(claim) == len(paid) <= 1, (ref, claim, paid)
        if events:
            names = [type(e).__name__ for e in events]
            if "Subscribed" in names:  # the subscription's invoice came with it
                assert "InvoiceIssued" in names, names
            stored.append(ref)
    stored_once_checks(ledger, stored)


def test_sigkill_mid_command_leaves_all_of_it_or_none(backend: Backend, tmp_path: Path) -> None:
    """Issue 4: a writer killed at random points, 12 times, then run to the end: every
    command is there whole or not at all, and a restart finishes the work."""
    ledger, url = prepared(backend, 1)
    refs = [f"kill{n:03d}" for n in range(40)]
    commands = kill_workload(refs)
    rng = random.Random(7)
    for round_ in range(12):
        process, results = start_worker(tmp_path, f"k{round_}", url, commands)
        time.sleep(rng.uniform(0.8, 2.0))  # start-up is about 0.5 s; then commands run
        process.send_signal(signal.SIGKILL)
        process.wait()
        atomicity_checks(ledger, refs)
    process, results = start_worker(tmp_path, "final", url, commands)
    finish(process)
    answers = outcomes(results)
    assert len(answers) == len(commands)
    # what a killed round had done is refused (account_exists, already_subscribed) or a
    # no-op (the payment reference) now, never done twice
    assert {a.get("code") for a in answers if not a["ok"]} <= {
        "account_exists",
        "already_subscribed",
    }
    atomicity_checks(ledger, refs)
    for ref in refs:
        assert payments_booked(ledger, ref)[f"k-{ref}"] == 1
    journal_checks(ledger)
    ledger.close()


def test_postgres_writer_killed_while_inside_its_transaction_leaves_nothing(
    postgres: Backend, tmp_path: Path
) -> None:
    """Issue 4, made deterministic: the test holds the events table's lock, so the
    writer's transaction has written its data key and deadline rows and waits to insert
    its events; killed there, none of it stays. Run again, all of it is stored."""
    import psycopg

    ledger, url = prepared(postgres, 1)
    ledger.tick(parse_instant(LATER))  # the worker's own tick finds nothing to do, so the
    db = postgres.schemas[-1]  # transaction it is killed in is the registration's
    events_table = ledger.store.events_table
    command = [step("register_account", LATER, account="victim", name="V", email="v@example.test")]
    with psycopg.connect(**db.conninfo()) as blocker:  # type: ignore[arg-type]
        blocker.execute(f"LOCK TABLE {events_table} IN EXCLUSIVE MODE")
        process, results = start_worker(tmp_path, "victim", url, command)
        with psycopg.connect(**db.conninfo(), autocommit=True) as watcher:  # type: ignore[arg-type]
            waiting = _wait_for_lock_waiter(watcher, blocker.info.backend_pid, timeout=30)
        assert waiting, "the writer never reached the events table's lock"
        process.send_signal(signal.SIGKILL)
        process.wait()
        blocker.rollback()
    assert outcomes(results) == []
    assert list(ledger.app.events.get(account_id("victim"))) == []
    assert ledger.app.keys.key(str(account_id("victim"))) is None
    assert str(account_id("victim")) not in ledger.store.due_accounts(
        parse_instant("2100-01-01T00:00:00Z"), 10_000
    )
    process, results = start_worker(tmp_path, "again", url, command)
    finish(process)
    assert outcomes(results) == [{"i": 0, "ok": True, "recorded": True}]
    assert ledger.app.keys.key(str(account_id("victim"))) is not None
    atomicity_checks(ledger, ["victim"])
    ledger.close()


def _wait_for_lock_waiter(conn: Any, blocker_pid: int, timeout: float) -> bool:
    """Polled from an autocommit connection: inside a transaction pg_stat_activity is a
    snapshot that never changes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
            "'Lock' AND %s = ANY(pg_blocking_pids(pid))",
            (blocker_pid,),
        ).fetchone()
        if row and row[0]:
            return True
        time.sleep(0.05)
    return False


def test_sqlite_and_postgres_answer_the_same(tmp_path: Path, postgres: Backend) -> None:
    """One command sequence, both stores: the same views."""
    views = []
    for target in (tmp_path / "same.db", postgres.database("same")):
        ledger = open_ledger(target, PROFILE)
        for command in kill_workload(["same1", "same2"]):
            ledger.execute(_parse(command))
        ledger.tick(parse_instant("2027-03-01T00:00:00Z"))
        views.append({ref: ledger.state(ref) for ref in ("same1", "same2")})
        ledger.close()
    assert views[0] == views[1]
    # and not two empty answers: a year of b2b renewals, late interest and fees (PAY-3)
    assert views[0]["same1"]["status"] == "suspended"
    assert views[0]["same1"]["balance"]["invoiced"] == "580.00"
    assert views[0]["same1"]["balance"]["outstanding"] == "761.44"


def test_a_write_that_keeps_losing_is_refused_as_conflict_and_records_nothing(
    backend: Backend,
) -> None:
    """Issue 4: conflicts are retried a bounded number of times, then answered `conflict`.
    A second ledger on the same database (another process, as far as the store can
    tell) appends to the account between every load and save of the first."""
    from domain.errors import ErrorCode, Rejected
    from infra.application.handlers import CONFLICT_RETRIES

    db = backend.database("race")
    first = open_ledger(db, PROFILE)
    first.execute(
        _parse(step("register_account", T0, account="acme", name="A", email="a@example.test"))
    )
    second = open_ledger(db, PROFILE)
    at = parse_instant(T0)
    attempts = []

    def change(account: Any) -> None:
        attempts.append(account.version)
        second.app.handle(_parse(step("record_activity", T0, account="acme")))
        account.record_activity(at=at)

    with pytest.raises(Rejected) as refused:
        first.app.update("acme", change)
    assert refused.value.code is ErrorCode.CONFLICT
    assert len(attempts) == CONFLICT_RETRIES
    assert attempts == sorted(set(attempts)), "each attempt reloaded the newer account"
    names = Counter(type(e).__name__ for e in first.events("acme"))
    assert names["ActivityRecorded"] == CONFLICT_RETRIES  # the second ledger's, only
    first.close()
    second.close()
