"""`subledger demo`: customers of the four built-in profiles on a simulated clock.

Each profile gets its own ledger (one SQLite event store per profile, built with
`build_ledger` like every other caller), driven by commands at explicit instants with
`ledger.tick` advancing the clock: trials, subscriptions, renewals, a declined card, a
late bank transfer with interest and compensation, a prorated refund, closures and
deletion requests; plan changes, a revoked cancellation and the vendor's own actions
(SPEC 2.0). Then one summary per customer, and the MRR movements of the whole demo,
every month reconciled (opening + movements = closing). Refusals the rules require are part of
the story and are checked; anything unexpected makes the demo exit 1.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from consumers.payment_provider import SimulatedPaymentProvider
from domain.calendar import add_months, format_instant, parse_instant
from domain.errors import Rejected
from domain.money import format_amount, parse_amount
from domain.profiles import BUILT_IN_PROFILES
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig, parse_catalog
from infra.interface.presenter import table
from infra.interface.vocabulary import parse_command
from infra.persistence.keystore import parse_master_key, write_master_key_file
from projections.documents import ObservedState
from projections.journal import trial_balance
from projections.mrr_movements import MOVEMENTS

START = "2026-01-02T10:00:00Z"
END = "2027-01-31T00:00:00Z"
OWED = "<everything owed>"  # an amount resolved from the account's balance at that instant


class DemoError(Exception):
    """The demo cannot start (its event store files already exist)."""


@dataclass(frozen=True)
class Act:
    at: str
    do: str  # a scenario command, or "psp" (the simulated provider's answer from now on)
    fields: dict[str, Any]
    expect_error: str | None = None


@dataclass
class Story:
    profile: str
    seed: str
    currency: str
    catalog: dict[str, dict[str, str]]
    customers: dict[str, str]  # account -> what happens to it
    acts: list[Act] = field(default_factory=list)


def _register(
    at: str, account: str, name: str, expect_error: str | None = None, **extra: str
) -> Act:
    email = extra.pop("email", f"{account}@example.test")
    return Act(
        at,
        "register_account",
        {"account": account, "name": name, "email": email, **extra},
        expect_error,
    )


def _do(
    at: str, do: str, account: str | None = None, expect_error: str | None = None, **fields: Any
) -> Act:
    if account is not None:
        fields = {"account": account, **fields}
    return Act(at, do, fields, expect_error)


def stories() -> list[Story]:
    monthly = Story(
        "monthly-autorenew",
        "000/001",
        "EUR",
        {
            "basic": {"monthly": "29.00", "quarterly": "75.00", "annual": "290.00"},
            "pro": {"monthly": "99.00", "annual": "990.00"},
        },
        {
            "mia": "7-day trial, subscribed monthly by card on day 4 (TRIAL-4); renews every "
            "month (RENEW-1); a second trial is refused (TRIAL-1)",
            "noah": "trial ran out (TRIAL-3); asked for deletion: erased within 30 days (GDPR-1)",
            "olga": "quarterly by card, 20% off the first term only (TERM-5), reminded 30 days "
            "before each renewal (RENEW-3); cancelled in September: ends at term end, "
            "no refund (CANCEL-1/2)",
            "pat": "card declined at the June renewal: past due, suspended after 7 days "
            "(PAY-2); paid by hand, access back at once",
            "quinn": "basic monthly by card; upgraded to pro half-way through March: 35.00 "
            "for the half term left, prorated by the second (CHANGE-2); back to "
            "basic from the July renewal (CHANGE-3); cancelled in September and "
            "revoked two days later (CHANGE-4)",
            "ria": "basic monthly by card; cancelled, ended in March (churn); back in May "
            "(reactivation), moving to an annual term at the June renewal (CHANGE-3)",
            "sam": "suspended by the vendor during a chargeback, billing went on, reinstated "
            "(VENDOR-1); terminated by the vendor in August with 14 days to export, "
            "then erased; a new subscription is refused (VENDOR-2)",
        },
        [
            _register("2026-01-05T09:00:00Z", "mia", "Mia Park"),
            _do("2026-01-05T09:00:00Z", "start_trial", "mia", plan="basic"),
            _register("2026-01-06T09:00:00Z", "noah", "Noah Berg"),
            _do("2026-01-06T09:00:00Z", "start_trial", "noah", plan="basic"),
            _do(
                "2026-01-09T12:00:00Z",
                "subscribe",
                "mia",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-01-10T12:00:00Z", "start_trial", "mia", "trial_already_used", plan="basic"),
            _register(
                "2026-01-12T09:00:00Z",
                "kid",
                "Kim Young",
                "underage",  # ACCOUNT-2
                birth_date="2012-05-01",
            ),
            _register("2026-01-31T15:00:00Z", "olga", "Olga Ruiz", phone="+34 600 000 000"),
            _do(
                "2026-01-31T15:00:00Z",
                "subscribe",
                "olga",
                plan="basic",
                term="quarterly",
                payment_method="card",
                discount_percent="20",
            ),
            _register("2026-02-01T08:00:00Z", "pat", "Pat Quinn"),
            _do(
                "2026-02-01T08:00:00Z",
                "subscribe",
                "pat",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-02-02T10:00:00Z", "request_data_deletion", "noah"),
            _do("2026-05-20T00:00:00Z", "psp", "pat", outcome="decline"),
            _do(
                "2026-06-12T10:00:00Z",
                "record_payment",
                "pat",
                amount=OWED,
                reference="pat-bank-0001",
            ),
            _do("2026-06-12T10:00:00Z", "psp", "pat", outcome="approve"),
            _do("2026-09-15T10:00:00Z", "request_cancellation", "olga"),
            _register("2026-02-10T09:00:00Z", "ria", "Ria Sen"),
            _do(
                "2026-02-10T09:00:00Z",
                "subscribe",
                "ria",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _register("2026-02-15T09:00:00Z", "sam", "Sam Ode"),
            _do(
                "2026-02-15T09:00:00Z",
                "subscribe",
                "sam",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _register("2026-03-01T00:00:00Z", "quinn", "Quinn Fox"),
            _do(
                "2026-03-01T00:00:00Z",
                "subscribe",
                "quinn",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-03-01T12:00:00Z", "request_cancellation", "ria"),
            _do("2026-03-16T12:00:00Z", "change_plan", "quinn", plan="pro"),
            _do("2026-04-02T09:00:00Z", "suspend_account", "sam", reason="chargeback #1182"),
            _do("2026-04-20T09:00:00Z", "reinstate_account", "sam"),
            _do("2026-04-21T09:00:00Z", "reinstate_account", "sam", "not_suspended"),
            _do(
                "2026-05-10T09:00:00Z",
                "subscribe",
                "ria",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-05-20T09:00:00Z", "change_plan", "ria", plan="basic", term="annual"),
            _do("2026-06-10T09:00:00Z", "change_plan", "quinn", plan="basic"),
            _do(
                "2026-08-01T09:00:00Z",
                "terminate_by_vendor",
                "sam",
                reason="repeated chargebacks",
                export_days=14,
            ),
            _do(
                "2026-08-02T09:00:00Z",
                "subscribe",
                "sam",
                "vendor_terminated",
                plan="basic",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-09-01T09:00:00Z", "request_cancellation", "quinn"),
            _do("2026-09-03T09:00:00Z", "revoke_cancellation", "quinn"),
        ],
    )

    b2b = Story(
        "annual-b2b",
        "003",
        "EUR",
        {"basic": {"annual": "1200.00"}, "plus": {"annual": "1800.00"}},
        {
            "acme": "annual by bank transfer, paid late: overdue after 14 days, 20% "
            "compensation and 1% interest per started month (PAY-3), suspended "
            "(PAY-2); paid in two parts, fees first (PAY-4); the renewal paid on time",
            "globex": "15-day demo, then annual by card; renewed automatically (RENEW-2)",
            "initech": "annual by direct debit; disputed its invoice within 7 days (PAY-6); "
            "cancelled before the 15-day cutoff (RENEW-4): access to term end "
            "(CANCEL-4), then personal data soft-deleted (GDPR-2)",
            "hooli": "annual by bank transfer, upgraded to plus (CHANGE-2), never paid: "
            "cancelled for non-payment with 20 % liquidated damages, the upgrade's "
            "invoice due at once (VENDOR-3); soft-deleted at once (GDPR-2)",
        },
        [
            _register("2026-01-05T09:00:00Z", "acme", "Acme BV", email="ap@acme.test"),
            _do(
                "2026-01-05T09:00:00Z",
                "subscribe",
                "acme",
                plan="basic",
                term="annual",
                payment_method="bank_transfer",
            ),
            _register("2026-01-05T11:00:00Z", "globex", "Globex GmbH"),
            _do("2026-01-05T11:00:00Z", "start_trial", "globex", plan="basic"),
            _register("2026-01-12T09:00:00Z", "initech", "Initech SA"),
            _do(
                "2026-01-12T09:00:00Z",
                "subscribe",
                "initech",
                plan="basic",
                term="annual",
                payment_method="direct_debit",
            ),
            _do(
                "2026-01-14T09:00:00Z",
                "dispute_invoice",
                "initech",
                invoice=1,
                reason="purchase order number missing",
            ),
            _do(
                "2026-01-15T11:00:00Z",
                "subscribe",
                "globex",
                plan="basic",
                term="annual",
                payment_method="card",
            ),
            _do(
                "2026-01-30T09:00:00Z",
                "dispute_invoice",
                "initech",
                "dispute_window_closed",
                invoice=1,
                reason="too late",
            ),
            _do(
                "2026-02-10T00:00:00Z",
                "record_payment",
                "acme",
                amount="500.00",
                reference="acme-0001",
            ),
            _do(
                "2026-02-10T00:00:00Z",
                "record_payment",
                "acme",
                amount="500.00",
                reference="acme-0001",
            ),  # the same reference again: a no-op
            _do(
                "2026-02-20T00:00:00Z", "record_payment", "acme", amount=OWED, reference="acme-0002"
            ),
            _do("2026-06-01T09:00:00Z", "request_cancellation", "initech"),
            _register("2026-03-02T09:00:00Z", "hooli", "Hooli Inc"),
            _do(
                "2026-03-02T09:00:00Z",
                "subscribe",
                "hooli",
                plan="basic",
                term="annual",
                payment_method="bank_transfer",
            ),
            _do("2026-03-10T09:00:00Z", "cancel_for_nonpayment", "hooli", "nothing_overdue"),
            _do("2026-03-20T09:00:00Z", "change_plan", "hooli", plan="plus"),
            _do("2026-04-01T09:00:00Z", "cancel_for_nonpayment", "hooli"),
            _do(
                "2027-01-15T09:00:00Z", "record_payment", "acme", amount=OWED, reference="acme-0003"
            ),
        ],
    )

    crm = Story(
        "crm-retention",
        "002",
        "EUR",
        {"team": {"monthly": "49.00", "annual": "490.00"}},
        {
            "dora": "no trial on this contract (TRIAL-2); monthly by card, active user",
            "eli": "annual by direct debit; deletion request answered within 15 working days "
            "(GDPR-1); the money records stay (GDPR-3)",
            "ivan": "monthly by card, never seen again: closed after 6 months of inactivity, "
            "before the renewal due at that instant, and erased at once (ACCOUNT-3)",
        },
        [
            _register(START, "dora", "Dora Ng", phone="+32 470 00 00 00"),
            _do(START, "start_trial", "dora", "trial_not_offered", plan="team"),
            _do(START, "subscribe", "dora", plan="team", term="monthly", payment_method="card"),
            _register("2026-01-12T09:00:00Z", "eli", "Eli Stone"),
            _do(
                "2026-01-12T09:00:00Z",
                "subscribe",
                "eli",
                plan="team",
                term="annual",
                payment_method="direct_debit",
            ),
            _register("2026-01-20T09:00:00Z", "ivan", "Ivan Petrov"),
            _do(
                "2026-01-20T09:00:00Z",
                "subscribe",
                "ivan",
                plan="team",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-03-02T09:00:00Z", "request_data_deletion", "eli"),
            _do("2026-03-15T09:00:00Z", "record_activity", "dora"),
            _do("2026-06-01T09:00:00Z", "record_activity", "eli"),
            _do("2026-06-10T09:00:00Z", "record_activity", "dora"),
            _do("2026-09-01T09:00:00Z", "record_activity", "dora"),
            _do("2026-10-01T09:00:00Z", "record_activity", "eli"),
            _do("2026-10-05T09:00:00Z", "record_activity", "ivan", "account_closed"),
            _do("2026-11-20T09:00:00Z", "record_activity", "dora"),
        ],
    )

    device = Story(
        "device-cloud",
        "004",
        "EUR",
        {"cloud": {"monthly": "5.00", "annual": "50.00"}},
        {
            "cam": "14-day trial that cannot be cancelled (TRIAL-5); annual by card, cancelled "
            "in month 4: pays 4 started months, 30.00 refunded (CANCEL-3); then closed "
            "the account: erased at closure (GDPR-2)",
            "dev": "6 months prepaid, a 3-month package queued behind it then cancelled for a "
            "full refund; prepaid is not cancellable (TERM-6)",
            "fay": "trial ran out; closed the account (ACCOUNT-4), so her email is blocked for "
            "10 days (ACCOUNT-5)",
            "fay-again": "fay's email, registered again after the 10-day cooldown; monthly by card",
            "gus": "monthly by card all year",
            "hal": "a 3-month package and a 12-month one queued behind it; terminated by the "
            "vendor: the running package ends unrefunded, the queued one is refunded "
            "in full (VENDOR-2, TERM-6); erased when the 30-day export window closes",
        },
        [
            _register("2026-01-10T08:00:00Z", "dev", "Dev Patel"),
            _do(
                "2026-01-10T08:00:00Z",
                "purchase_prepaid",
                "dev",
                plan="cloud",
                months=6,
                payment_method="card",
            ),
            _register("2026-01-15T08:00:00Z", "cam", "Cam Lee"),
            _do("2026-01-15T08:00:00Z", "start_trial", "cam", plan="cloud"),
            _do("2026-01-17T08:00:00Z", "request_cancellation", "cam", "trial_not_cancellable"),
            _do(
                "2026-01-20T08:00:00Z",
                "subscribe",
                "cam",
                plan="cloud",
                term="annual",
                payment_method="card",
            ),
            _register("2026-01-25T08:00:00Z", "gus", "Gus Holm"),
            _do(
                "2026-01-25T08:00:00Z",
                "subscribe",
                "gus",
                plan="cloud",
                term="monthly",
                payment_method="card",
            ),
            _register("2026-02-01T08:00:00Z", "fay", "Fay Wong", email="fay@example.test"),
            _do("2026-02-01T08:00:00Z", "start_trial", "fay", plan="cloud"),
            _do("2026-02-20T08:00:00Z", "request_account_closure", "fay"),
            _register(
                "2026-02-25T08:00:00Z",
                "fay-again",
                "Fay Wong",
                "email_cooldown",
                email="fay@example.test",
            ),
            _register("2026-03-05T08:00:00Z", "fay-again", "Fay Wong", email="fay@example.test"),
            _do(
                "2026-03-05T08:00:00Z",
                "subscribe",
                "fay-again",
                plan="cloud",
                term="monthly",
                payment_method="card",
            ),
            _do("2026-04-25T00:00:00Z", "request_cancellation", "cam"),
            _do(
                "2026-05-01T08:00:00Z",
                "purchase_prepaid",
                "dev",
                plan="cloud",
                months=3,
                payment_method="card",
            ),
            _do("2026-05-02T08:00:00Z", "request_cancellation", "dev", "prepaid_not_cancellable"),
            _do("2026-05-03T08:00:00Z", "cancel_queued", "dev"),
            _do("2026-06-01T08:00:00Z", "request_account_closure", "cam"),
            _do("2026-08-01T08:00:00Z", "record_activity", "gus"),
            _do("2026-08-01T08:00:00Z", "record_activity", "fay-again"),
            _register("2026-02-05T08:00:00Z", "hal", "Hal Berg"),
            _do(
                "2026-02-05T08:00:00Z",
                "purchase_prepaid",
                "hal",
                plan="cloud",
                months=3,
                payment_method="card",
            ),
            _do(
                "2026-02-06T08:00:00Z",
                "purchase_prepaid",
                "hal",
                plan="cloud",
                months=12,
                payment_method="card",
            ),
            _do("2026-03-01T08:00:00Z", "terminate_by_vendor", "hal", reason="device misuse"),
        ],
    )
    return [monthly, b2b, crm, device]


# ------------------------------------------------------------------ running
def run_demo(database: Path | None, keep: bool, out: TextIO, kafka: bool = False) -> int:
    started = time.monotonic()
    temporary = database is None
    directory, db_for = _locations(database)
    if not temporary:
        existing = [str(db_for(s.profile)) for s in stories() if db_for(s.profile).exists()]
        if existing:
            raise DemoError(
                f"{', '.join(existing)} already exist(s); the demo needs new "
                "event stores (remove them or choose another --database)"
            )
    directory.mkdir(parents=True, exist_ok=True)
    end = parse_instant(END)
    problems: list[str] = []
    events = 0
    print(f"subledger demo: 4 contract profiles on a simulated clock, {START} .. {END}", file=out)
    try:
        for story in stories():
            db = db_for(story.profile)
            _write_config(db, story)
            result = _run_story(story, db, end)
            events += result.events
            problems += result.problems
            _print_story(story, result, out)
        if kafka:
            problems += _through_kafka(directory, db_for, end, out)
    finally:
        if temporary and not keep:
            shutil.rmtree(directory, ignore_errors=True)
    where = f"kept in {directory}" if keep or not temporary else "in a temporary directory, removed"
    print(
        f"\n{events} events recorded in 4 event stores ({where}) in "
        f"{time.monotonic() - started:.1f}s",
        file=out,
    )
    if keep or not temporary:
        sample = db_for("annual-b2b").with_suffix(".toml")
        print(
            f"look around: subledger --config {sample} events acme\n"
            f"             subledger --config {sample} status acme --at {END} "
            "--allow-future",
            file=out,
        )
    for problem in problems:
        print(f"unexpected: {problem}", file=out)
    return 1 if problems else 0


def _locations(database: Path | None) -> tuple[Path, Callable[[str], Path]]:
    if database is None:
        directory = Path(tempfile.mkdtemp(prefix="subledger-demo-"))
        return directory, lambda profile: directory / f"{profile}.db"
    if database.suffix:  # a file name: demo.db -> demo-<profile>.db beside it
        return database.parent, lambda profile: database.with_name(
            f"{database.stem}-{profile}{database.suffix}"
        )
    return database, lambda profile: database / f"{profile}.db"


def _write_config(db: Path, story: Story) -> Path:
    """A config next to the store (and one master key for the demo's stores), so the
    demo and the CLI open the stores the way an operator would."""
    write_master_key_file(db.parent / "subledger.key")
    lines = [
        "[ledger]",
        f'database = "{db.name}"',
        f'profile = "{story.profile}"',
        f'currency = "{story.currency}"',
        'master_key_file = "subledger.key"',
    ]
    for plan, terms in story.catalog.items():
        lines += ["", f"[catalog.{plan}]"] + [f'{t} = "{p}"' for t, p in terms.items()]
    path = db.with_suffix(".toml")
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class StoryResult:
    states: dict[str, ObservedState]
    charges: dict[str, Charges]
    refused: list[str]
    problems: list[str]
    events: int
    mrr: dict[str, int] = field(default_factory=dict)  # the year's MRR movements


def _config(story: Story, db: Path) -> LedgerConfig:
    """The demo's own stores, whatever SUBLEDGER_* says in the environment."""
    key_file = db.parent / "subledger.key"
    return LedgerConfig(
        database=db,
        profile=BUILT_IN_PROFILES[story.profile],
        currency=story.currency,
        catalog=parse_catalog(story.catalog),
        master_key=parse_master_key(key_file.read_text(), str(key_file)),
    )


def _run_story(story: Story, db: Path, end: datetime) -> StoryResult:
    provider = SimulatedPaymentProvider()
    ledger = build_ledger(_config(story, db), provider)
    refused: list[str] = []
    problems: list[str] = []
    try:
        for act in sorted(story.acts, key=lambda a: a.at):
            at = parse_instant(act.at)
            label = f"{story.profile} {act.at} {act.do} {act.fields.get('account', '')}"
            if act.do == "psp":
                ledger.tick(at)
                provider.set_outcome(act.fields["account"], act.fields["outcome"])
                continue
            try:
                ledger.execute(parse_command(act.do, _resolve(ledger, act, at), at))
            except Rejected as e:
                if e.code.value == act.expect_error:
                    refused.append(
                        f"{act.at[:10]} {act.fields.get('account', '')} {act.do}: {e.code.value}"
                    )
                else:
                    problems.append(f"{label}: refused {e.code.value}: {e.message}")
                continue
            if act.expect_error:
                problems.append(f"{label}: expected {act.expect_error}, but it succeeded")
        ledger.tick(end)
        states = {ref: ledger.state(ref, as_of=end) for ref in story.customers}
        charges = {ref: _charges(ledger, ref) for ref in story.customers}
        for ref, state in states.items():  # the table's columns must add up
            money = summary_row(state, charges[ref])
            if not adds_up(money):
                problems.append(f"{ref}: the summary's columns do not add up: {money}")
        events = ledger.app.recorder.max_notification_id() or 0
        mrr = _mrr_over_the_demo(ledger, end, problems)
    finally:
        ledger.close()
    return StoryResult(
        states=states, charges=charges, refused=refused, problems=problems, events=events, mrr=mrr
    )


@dataclass(frozen=True)
class Charges:
    """What an account was charged beyond its invoices, and given back on them, over
    its whole life (its journal's ledger accounts), in minor units: the status shows
    only the interest and fees still outstanding."""

    interest: int
    fees: int
    refunds_on_invoices: int  # CANCEL-3 and the like: cash back against revenue


def _charges(ledger: Ledger, ref: str) -> Charges:
    totals = trial_balance(ledger.journal(ref))["trial_balance"]

    def debits(name: str) -> int:
        row = totals.get(name)
        return 0 if row is None else row["debit"]

    return Charges(
        interest=debits("receivable:interest"),
        fees=debits("receivable:fees"),
        refunds_on_invoices=debits("revenue:refunds"),
    )


SUMMARY_MONEY = ("invoiced", "interest", "fees", "paid", "refunded", "outstanding", "credit")


def adds_up(money: dict[str, int]) -> bool:
    charged = money["invoiced"] + money["interest"] + money["fees"]
    return charged == money["paid"] - money["refunded"] + money["outstanding"] - money["credit"]


def summary_row(state: ObservedState, charges: Charges) -> dict[str, int]:
    """A customer's money in the demo's table, in minor units, such that
    invoiced + interest + fees = paid - refunded + outstanding - credit: `invoiced` is
    what the invoices ask after credit notes and after refunds given back on them
    (a refund on an invoice lowers what the customer is charged, as a credit note does);
    interest and fees are all that was charged, paid or not."""
    balance = {k: parse_amount(v) for k, v in state["balance"].items()}
    return {
        "invoiced": balance["invoiced"] - charges.refunds_on_invoices,
        "interest": charges.interest,
        "fees": charges.fees,
        "paid": balance["paid"],
        "refunded": balance["refunded"],
        "outstanding": balance["outstanding"],
        "credit": balance["credit"],
    }


def _mrr_over_the_demo(ledger: Ledger, end: datetime, problems: list[str]) -> dict[str, int]:
    """The MRR movements of every month of the demo, summed; each month must reconcile
    (opening + movements = closing) and open where the one before closed."""
    month = parse_instant(START[:8] + "01T00:00:00Z")
    totals: dict[str, int] = dict.fromkeys(MOVEMENTS, 0)
    opening = closing = None
    while month < end:
        row = ledger.mrr_movements(end, format_instant(month)[:7])
        if row["opening"] + sum(row[m] for m in MOVEMENTS) != row["closing"] or (
            closing is not None and row["opening"] != closing
        ):
            problems.append(f"mrr-movements {row['month']} does not reconcile: {row}")
        opening = row["opening"] if opening is None else opening
        closing = row["closing"]
        totals = {m: totals[m] + row[m] for m in MOVEMENTS}
        month = add_months(month, 1)
    return {"opening": opening or 0, **totals, "closing": closing or 0}


def _resolve(ledger: Ledger, act: Act, at: datetime) -> dict[str, Any]:
    if act.fields.get("amount") != OWED:
        return act.fields
    ledger.tick(at)
    owed = ledger.state(act.fields["account"], as_of=at)["balance"]["outstanding"]
    return {**act.fields, "amount": owed}


def _print_story(story: Story, result: StoryResult, out: TextIO) -> None:
    prices = "; ".join(
        f"{plan} " + ", ".join(f"{t} {p}" for t, p in terms.items())
        for plan, terms in story.catalog.items()
    )
    print(f"\n== {story.profile} (seeds {story.seed}; {story.currency}; {prices}) ==", file=out)
    rows = []
    for ref, state in result.states.items():
        money = summary_row(state, result.charges[ref])
        rows.append(
            [
                ref,
                story.profile,
                state["status"],
                state["access"],
                f"{state.get('plan') or '-'}/{state.get('term') or '-'}",
                *(format_amount(money[k]) for k in SUMMARY_MONEY),
                state["privacy"]["personal_data"],
            ]
        )
    print(
        f"  amounts in {story.currency}: invoiced (after credit notes and refunds on "
        "invoices) + interest + fees = paid - refunded + outstanding - credit",
        file=out,
    )
    for line in table(
        ("customer", "profile", "status", "access", "plan/term", *SUMMARY_MONEY, "personal data"),
        rows,
        indent="  ",
        align_right=SUMMARY_MONEY,
    ):
        print(line, file=out)
    for ref, text in story.customers.items():
        print(f"  - {ref}: {text}", file=out)
    if result.refused:
        print("  refused, as the rules require: " + "; ".join(result.refused), file=out)
    if result.mrr:
        print(
            "  MRR movements over the demo (`report mrr-movements`, per month): "
            + ", ".join(f"{k} {format_amount(v)} {story.currency}" for k, v in result.mrr.items()),
            file=out,
        )


def _through_kafka(
    directory: Path, db_for: Callable[[str], Path], end: datetime, out: TextIO
) -> list[str]:
    """`--kafka`: a local broker; each store's events published by the relay, and an
    entitlement cache fed from the topic alone, checked against the ledger's own view."""
    from consumers.entitlement_cache import ACCESS_KEYS, EntitlementCache
    from consumers.event_consumer import ConsumerSettings, EventConsumer
    from infra.messaging.relay import KafkaRelay, KafkaSettings
    from infra.tools.local_broker import Broker

    problems: list[str] = []
    broker = Broker(directory)
    broker.start()
    print(f"\nkafka: a local broker at {broker.bootstrap}", file=out)
    try:
        for story in stories():
            ledger = build_ledger(_config(story, db_for(story.profile)))
            topic = f"subledger.{story.profile}.events"
            relay = KafkaRelay(
                ledger.app.recorder,
                ledger.store,
                KafkaSettings(broker.bootstrap, topic=topic, partitions=4),
            )
            relay.connect()
            published = relay.publish_pending()
            relay.close()
            cache = EntitlementCache(directory / f"{story.profile}-entitlements.db")
            consumer = EventConsumer(ConsumerSettings(broker.bootstrap, topic), cache)
            handled, deadline = 0, time.monotonic() + 60
            while handled < published and time.monotonic() < deadline:
                handled += consumer.poll_once()
            consumer.close()
            differ = [
                ref
                for ref in story.customers
                if cache.access(ref, end)
                != {k: ledger.state(ref, as_of=end)[k] for k in ACCESS_KEYS}
            ]
            cache.close()
            ledger.close()
            problems += [
                f"kafka {story.profile}: the entitlement cache disagrees on {ref}" for ref in differ
            ]
            print(
                f"  {topic}: {published} events published once each; the entitlement "
                f"cache built from the topic agrees with the ledger on "
                f"{len(story.customers) - len(differ)} of {len(story.customers)} "
                "customers",
                file=out,
            )
    finally:
        broker.stop()
    return problems
