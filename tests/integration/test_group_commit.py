"""Group commit gives the answers of one at a time (issue 16, lever 2).

The same seeded random command streams (several accounts, refused commands, duplicate
registrations and payment references, scheduled work between them) are run one by one
(`Ledger.execute`) and in batches (`GroupCommit.run_together`): every command gets the
same outcome or the same error code, every account the same log (event types and
payloads; instants of recording and sealed personal data differ by nature) and the same
state.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ledger_kit import LedgerFactory

from domain import commands as c
from domain.errors import Rejected
from infra.application.handlers import Outcome
from infra.application.ledger import Ledger

ACCOUNTS = [f"acct-{i}" for i in range(7)]  # acct-6 is never registered: refusals
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
# random per event; everything else must match
VARYING = {"timestamp", "personal", "billing"}


def stream(seed: int, n: int = 90) -> list[c.Command]:
    rnd = random.Random(seed)
    at = START
    refs = [f"ref-{i}" for i in range(6)]
    commands: list[c.Command] = []
    for _ in range(n):
        at += timedelta(minutes=rnd.choice([0, 1, 30, 600, 60 * 24 * 9]))
        ref = rnd.choice(ACCOUNTS)
        kind = rnd.randrange(12)
        command: c.Command
        if kind <= 2:
            command = c.RegisterAccount(at=at, account=ref, name="N", email=f"{ref}@x.test")
        elif kind == 3:
            command = c.Subscribe(
                at=at, account=ref, plan=rnd.choice(["basic", "pro"]), term="monthly",
                payment_method=rnd.choice(["card", "invoice"]),
            )  # fmt: skip
        elif kind == 4:
            command = c.StartTrial(at=at, account=ref, plan="basic")
        elif kind <= 6:
            command = c.RecordPayment(
                at=at, account=ref, amount=rnd.choice([500, 2900]), reference=rnd.choice(refs)
            )
        elif kind == 7:
            command = c.RecordActivity(at=at, account=ref)
        elif kind == 8:
            command = c.RequestCancellation(at=at, account=ref)
        elif kind == 9:
            command = c.ChangePlan(at=at, account=ref, plan=rnd.choice(["basic", "pro"]))
        elif kind == 10:
            command = c.UpdatePersonalData(at=at, account=ref, phone=f"+3312345{rnd.randrange(99)}")
        else:
            command = rnd.choice(
                [
                    c.SuspendAccount(at=at, account=ref, reason="fraud check"),
                    c.ReinstateAccount(at=at, account=ref),
                    c.RequestAccountClosure(at=at, account=ref),
                ]
            )
        commands.append(command)
    return commands


def answer(result: Outcome | Exception) -> Any:
    if isinstance(result, Rejected):
        return ("refused", result.code.value)
    if isinstance(result, Exception):
        return ("raised", type(result).__name__, str(result))
    return ("ok", result.recorded, result.detail)


def one_by_one(ledger: Ledger, commands: list[c.Command]) -> list[Any]:
    answers = []
    for command in commands:
        try:
            answers.append(answer(ledger.execute(command)))
        except Exception as e:
            answers.append(answer(e))
    return answers


def grouped(ledger: Ledger, commands: list[c.Command], seed: int) -> list[Any]:
    rnd = random.Random(seed * 7 + 1)
    answers: list[Any] = []
    i = 0
    while i < len(commands):
        size = rnd.randint(1, 14)
        batch = commands[i : i + size]
        answers += [answer(a) for a in ledger.group.run_together([(b, None) for b in batch])]
        i += size
    return answers


def account_log(ledger: Ledger, ref: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        events = ledger.events(ref)
    except Rejected:
        return []
    return [
        (type(e).__qualname__, {k: v for k, v in vars(e).items() if k not in VARYING})
        for e in events
    ]


def views(ledger: Ledger, ref: str, at: datetime) -> Any:
    try:
        return ledger.state(ref, as_of=at)
    except Rejected as e:
        return e.code.value


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_grouped_streams_give_the_logs_and_views_of_one_at_a_time(
    make_ledger: LedgerFactory, seed: int
) -> None:
    commands = stream(seed)
    serial = make_ledger("monthly-autorenew", name="serial")
    batched = make_ledger("monthly-autorenew", name="batched")
    expected = one_by_one(serial, commands)
    got = grouped(batched, commands, seed)
    assert got == expected
    assert any(a[0] == "refused" for a in expected)  # the stream does exercise refusals
    end = commands[-1].at
    for ledger in (serial, batched):
        ledger.tick(end + timedelta(days=1))
    for ref in ACCOUNTS:
        assert account_log(batched, ref) == account_log(serial, ref), ref
        assert views(batched, ref, end) == views(serial, ref, end), ref


def test_a_refused_command_spoils_nothing_and_a_duplicate_reference_is_booked_once(
    make_ledger: LedgerFactory,
) -> None:
    ledger = make_ledger("monthly-autorenew")
    t = START
    ledger.group.run_together(
        [(c.RegisterAccount(at=t, account=f"a{i}", name="N", email=f"a{i}@x.test"), None)
         for i in range(4)]
    )  # fmt: skip
    answers = ledger.group.run_together(
        [
            (c.RecordPayment(at=t, account="a0", amount=500, reference="r1"), None),
            (c.RecordPayment(at=t, account="a1", amount=-5, reference="r2"), None),
            (c.RecordPayment(at=t, account="nobody", amount=500, reference="r3"), None),
            (c.RecordPayment(at=t, account="a0", amount=500, reference="r1"), None),
            (c.RecordPayment(at=t, account="a2", amount=700, reference="r1"), None),
        ]
    )
    assert answer(answers[0]) == ("ok", True, {})
    assert answer(answers[1])[0] == "refused"
    assert answer(answers[2]) == ("refused", "unknown_account")
    assert answer(answers[3]) == ("ok", False, {})  # the same reference: booked once
    assert answer(answers[4]) == ("ok", True, {})  # another account's own reference
    assert ledger.state("a0")["balance"]["paid"] == "5.00"
    assert ledger.state("a1")["balance"]["paid"] == "0.00"
    assert ledger.state("a2")["balance"]["paid"] == "7.00"


def test_concurrent_callers_each_get_their_own_answer(make_ledger: LedgerFactory) -> None:
    ledger = make_ledger("monthly-autorenew", catalog={"basic": {"monthly": 2900}})
    clock = iter([START + timedelta(seconds=s) for s in range(10_000)])

    def now() -> datetime:
        return next(clock)

    def customer(i: int) -> list[Any]:
        ref = f"c{i}"
        results = []
        for command in (
            c.RegisterAccount(at=START, account=ref, name="N", email=f"{ref}@x.test"),
            c.RegisterAccount(at=START, account=ref, name="N", email=f"{ref}@x.test"),
            c.Subscribe(at=START, account=ref, plan="basic", term="monthly", payment_method="card"),
            c.RecordPayment(at=START, account=ref, amount=100, reference="p"),
            c.RecordPayment(at=START, account=ref, amount=100, reference="p"),
        ):
            try:
                results.append(answer(ledger.execute_grouped(command, timed_by=now)[1]))
            except Exception as e:
                results.append(answer(e))
        return results

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(customer, range(24)))
    for got in results:
        assert got == [
            ("ok", True, {}),
            ("refused", "account_exists"),
            ("ok", True, {}),
            ("ok", True, {}),
            ("ok", False, {}),
        ]
    for i in range(24):
        state = ledger.state(f"c{i}")
        assert state["status"] == "active"
        assert state["balance"]["paid"] == "30.00"


def test_a_conflicting_transaction_runs_each_command_alone(make_ledger: LedgerFactory) -> None:
    """Another writer commits on one of the accounts between the batch's loads and its
    save: nothing of the batch is recorded twice or lost; each command runs again alone."""
    ledger = make_ledger("monthly-autorenew")
    t = START
    for i in range(3):
        ledger.execute(c.RegisterAccount(at=t, account=f"a{i}", name="N", email=f"a{i}@x.test"))
    app = ledger.app
    together = app.save_together
    intruded = []

    def intruding(saves: Any) -> None:
        if not intruded:  # the other writer: a plain one-command save on a1
            intruded.append(
                app.handle(c.RecordPayment(at=t, account="a1", amount=1, reference="x"))
            )
        together(saves)

    app.save_together = intruding  # type: ignore[method-assign]
    answers = ledger.group.run_together(
        [
            (c.RecordPayment(at=t, account=f"a{i}", amount=100, reference="p"), None)
            for i in range(3)
        ]
    )
    assert intruded
    assert [answer(a) for a in answers] == [("ok", True, {})] * 3
    assert [ledger.state(f"a{i}")["balance"]["paid"] for i in range(3)] == ["1.00", "1.01", "1.00"]
