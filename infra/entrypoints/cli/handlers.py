"""What each `subledger` subcommand does, once `main.py` has parsed its arguments.

Each handler takes the parsed arguments and returns the exit status; refusals are raised
(`Rejected`, `ConfigError`) and reported by `main.main`. The wall clock is read here
(`now`), never in the domain.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from domain import bounds
from domain.calendar import format_instant
from domain.commands import ExportPersonalData
from domain.errors import Rejected, invalid
from domain.money import format_amount
from domain.profiles import BUILT_IN_PROFILES
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.application.scheduler import tick_until
from infra.application.service import run_command
from infra.config import DEFAULT_CONFIG, ConfigError, load_config, template
from infra.interface import answers
from infra.interface import presenter as out
from infra.interface.outlook import clock_ahead, clock_ahead_text, renewal_doc, renewal_text
from infra.interface.vocabulary import VOCABULARY
from infra.interface.work_report import work_json, work_text
from infra.persistence.database import (
    Database,
    DatabaseNotReadyError,
    DatabaseUrlError,
    may_not_write,
)
from infra.persistence.keystore import MasterKeyError, write_master_key_file
from infra.persistence.meta import schema_version
from projections.documents import ObservedState
from projections.journal import trial_balance
from projections.scheduled_work import WorkDone

_INTEGER = re.compile(r"^[+-]?[0-9]{1,20}$")  # ASCII digits; longer is refused by the bound
log = structlog.get_logger("subledger.cli")


def now() -> datetime:
    """The wall clock, to the second (the one place it is read)."""
    return datetime.now(UTC).replace(microsecond=0)


def instant(text: str | None, field: str) -> datetime:
    return now() if text is None else bounds.instant(text, field)


def clock_instant(args: argparse.Namespace, text: str | None, field: str) -> datetime | None:
    """An instant the ledger's clock moves to (a command's `--at`, `tick --to`, ...):
    at most `future_margin_seconds` ahead of the wall clock, as the API takes it, unless
    `--allow-future` (simulations). A typo of 2126 for 2026 would otherwise run a
    century of renewals, and every later command would be refused as before it. None
    when not given: the command is timed when it runs."""
    if text is None:
        return None
    at = bounds.instant(text, field)
    wall = now()
    if at > wall and not getattr(args, "allow_future", False):
        margin = load_config(config_path(args)).future_margin_seconds
        if (at - wall).total_seconds() > margin:
            raise invalid(
                f"{field} {format_instant(at)} is more than {margin} seconds ahead of the "
                "wall clock; it would move the ledger's clock there (every later command "
                "would be refused as before it). A simulation says --allow-future",
                field,
            )
    return at


def ledger_currency(args: argparse.Namespace) -> str:
    """The currency of every amount of the ledger (one per ledger, its configuration's)."""
    return load_config(config_path(args)).currency


def config_path(args: argparse.Namespace) -> Path:
    """--config, else $SUBLEDGER_CONFIG, else ./subledger.toml (as `load_config` reads)."""
    given: Path | None = args.config
    return given or Path(os.environ.get("SUBLEDGER_CONFIG", DEFAULT_CONFIG))


def read_only(args: argparse.Namespace, db: Database) -> bool:
    """`--read-only`, or a SQLite file this user may not write (or nobody may: `chmod
    444`, which root would otherwise write through), or one in a folder it may not
    write, where SQLite could not make its write-ahead log: then the ledger opens it
    for reading only, the queries answer and a write is refused (`read_only`)."""
    if getattr(args, "read_only", False):
        return True
    if not db.is_sqlite or db.path is None or not db.path.exists():
        return False
    wal = db.path.with_name(db.path.name + "-wal")
    return may_not_write(db.path) or (may_not_write(db.path.parent) and not wal.exists())


def open_ledger(args: argparse.Namespace, *, create: bool | None = None) -> Ledger:
    path = config_path(args)
    config = load_config(path)
    key = "ledger.database_url" if config.database_url else "ledger.database"
    try:
        if read_only(args, config.db):
            return build_ledger(config, create=create, read_only=True)
        return build_ledger(config, create=create)
    except Rejected:
        raise
    except DatabaseNotReadyError as e:
        raise ConfigError(str(path), str(e), key) from None
    except MasterKeyError as e:
        raise ConfigError(str(path), str(e), "ledger.master_key_file") from None
    except Exception as e:  # the database or the file system: reported with the config file
        raise ConfigError(
            str(path), f"cannot open the database {config.db.describe()}: {e}", key
        ) from None


def init(args: argparse.Namespace) -> int:
    path: Path = args.path or config_path(args)
    if path.exists() and not args.force:
        return out.error(
            "invalid_input", f"{path} exists; use --force to overwrite it", as_json=args.json
        )
    text = template(BUILT_IN_PROFILES[args.profile])
    if not path.parent.is_dir():
        return out.error(
            "invalid_input", f"{path}: the folder {path.parent} does not exist", as_json=args.json
        )
    try:
        path.write_text(text)
        key_file = path.parent / "subledger.key"
        made_key = write_master_key_file(key_file)
    except OSError as e:  # not writable, the disk full, ...
        return out.error(
            "invalid_input", f"{path}: cannot write: {e.strerror or e}", as_json=args.json
        )
    config = load_config(path)
    if args.json:
        out.write_json(
            {
                "kind": "init",
                "ok": True,
                "path": str(path),
                "profile": config.profile.name,
                "database": str(config.database),
                "master_key_file": str(key_file),
                "master_key_created": made_key,
            }
        )
    else:
        print(f"wrote {path} (profile {config.profile.name}, database {config.database})")
        print(
            f"{'wrote' if made_key else 'kept the existing'} master key {key_file}: keep it "
            "apart from the database and backed up; without it no personal data opens"
        )
    return 0


def command(args: argparse.Namespace) -> int:
    declaration = VOCABULARY[args.do]
    fields: dict[str, Any] = {}
    for f in declaration.fields:
        raw = args.account if f.name == "account" else getattr(args, f"field_{f.name}")
        if raw is None:
            continue
        if f.whole and _INTEGER.match(raw):
            raw = int(raw)
        fields[f.name] = raw
    at = clock_instant(args, args.at, "at")
    cmd = declaration.parse(fields, at or now())  # refused before any database is opened
    ledger = open_ledger(args)
    try:
        if isinstance(cmd, ExportPersonalData):  # GDPR-4: the export is the output
            return _export(args, ledger, cmd.account, at)
        result = run_command(ledger, cmd, timed_by=now if at is None else None)
        said = _subscribe_outlook(ledger, args.do, result.account)
        currency = ledger_currency(args)
    finally:
        ledger.close()
    if args.json:
        receipt = result.as_json()
        receipt.pop("ok", None)
        out.write_json(
            answers.answer(
                "receipt",
                ok=True,
                **receipt,
                currency=currency,
                outstanding=None
                if result.state is None
                else result.state["balance"]["outstanding"],
                **said.doc,
            )
        )
    else:
        print(
            out.confirmation(
                result.do,
                result.account,
                result.at,
                result.recorded,
                result.detail,
                result.state,
                currency=currency,
            ),
            *said.lines,
            sep="\n",
        )
    return 0


def _export(args: argparse.Namespace, ledger: Ledger, account: str, at: datetime | None) -> int:
    """GDPR-4: everything held about the customer; JSON with --json, text without."""
    doc = ledger.export(account, at, now)
    currency = ledger.account(account).currency
    as_of = doc.get("exported_at") or (None if at is None else format_instant(at))
    content = {k: v for k, v in doc.items() if k != "account"}
    if args.json:
        out.write_json(
            answers.answer(
                "personal_data_export", account=account, as_of=as_of, currency=currency, **content
            )
        )
    else:
        print(out.export_text(account, out.plain(doc), currency=currency))
    return 0


@dataclass
class Said:
    """What `subscribe` and `status` add to their answer (infra/interface/outlook.py)."""

    doc: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def stored_only(self, due: datetime | None, at: datetime) -> None:
        """A read-only store: nothing ran before the answer; say so, and what is due."""
        pending = due is not None and due < at
        self.doc["read_only"] = {
            "answered_from": "stored events",
            "due_work_not_run_from": format_instant(due) if pending else None,
        }
        self.lines.append(
            "read-only: answered from the stored events; "
            + (
                f"scheduled work due from {format_instant(due)} has not run"
                if pending
                else "no scheduled work was due"
            )
        )


def _outlook(ledger: Ledger, ref: str | None, *, renewal: bool) -> Said:
    said = Said()
    if renewal and ref is not None:
        account = ledger.account(ref)
        outlook = account.renewal_outlook()
        said.doc["renewal"] = renewal_doc(outlook)
        line = renewal_text(outlook, account.profile.name)
        if line is not None:
            said.lines.append(line)
    ahead = clock_ahead(ledger.scheduler.clock(), now())
    if ahead is not None:
        said.doc["scheduler_clock_ahead"] = ahead
        said.lines.append(clock_ahead_text(ahead))
    return said


def _subscribe_outlook(ledger: Ledger, do: str, ref: str | None) -> Said:
    """`subscribe` says whether the term will renew (RENEW-2) and whether the
    scheduler's clock is ahead of the wall clock."""
    return _outlook(ledger, ref, renewal=True) if do == "subscribe" else Said()


def verify(args: argparse.Namespace) -> int:
    """Auditors: is the stored history the one that was written? (the hash chain,
    infra/persistence/event_chain.py)"""
    ledger = open_ledger(args)
    try:
        checked, found = ledger.verify()
    finally:
        ledger.close()
    if found is None:
        if args.json:
            out.write_json(answers.answer("verify", ok=True, events=checked))
        else:
            print(f"verified: {checked} events, the hash chain is whole")
        return 0
    if args.json:
        out.write_json(
            answers.answer(
                "verify",
                ok=False,
                events=checked,
                tampered_position=found.position,
                problem=found.problem,
            )
        )
    else:
        print(f"TAMPERED at position {found.position}: {found.problem}", file=sys.stderr)
    return 1


def privacy(args: argparse.Namespace) -> int:
    given = clock_instant(args, args.at, "at")
    at = given or now()
    ledger = open_ledger(args)
    try:
        if args.privacy_cmd == "export":
            return _export(args, ledger, args.account, given)
        if ledger.read_only:
            say_stored_only(ledger)
        else:
            ledger.tick(at)
        records = ledger.privacy_report(as_of=at)
    finally:
        ledger.close()
    if args.csv:
        import csv

        from projections.privacy_audit import CSV_COLUMNS, csv_row

        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(csv_row(r) for r in records)
    elif args.json:
        out.write_json(answers.answer("privacy_report", as_of=format_instant(at), accounts=records))
    else:
        print(out.privacy_text(format_instant(at), out.plain(records)))
    return 0


def status(args: argparse.Namespace) -> int:
    at = clock_instant(args, args.at, "at") or now()
    if args.position is not None:
        bounds.field_whole(args.position, "position")
    as_of = None if args.as_of is None else bounds.instant(args.as_of, "as_of")
    passed = None  # the ledger had already run past --at: shown as it stood then
    ledger = open_ledger(args)
    try:
        if args.position is not None:  # history: nothing runs, the log up to N is folded
            state = ledger.state_at(args.account, args.position)
        elif as_of is not None:  # history: the events effective before the instant
            at = as_of
            state = ledger.state_as_of(args.account, at)
        else:
            state, passed = _state_now(ledger, args.account, at)
        account = ledger.account(args.account)
        # the renewal as the rules stand now: only for the answer about now
        current = args.position is None and as_of is None and passed is None
        said = _outlook(ledger, args.account, renewal=current)
        if ledger.read_only and args.position is None and as_of is None:
            said.stored_only(account.next_deadline(), at)
    finally:
        ledger.close()
    if args.json:
        out.write_json(
            answers.answer(
                "account_status",
                account=args.account,
                as_of=format_instant(at),
                position=args.position,
                profile=account.profile.name,
                currency=account.currency,
                **state,
                **said.doc,
            )
        )
    else:
        if args.position is not None:
            print(f"as the log stood at position {args.position}:")
        elif args.as_of is not None:
            print(f"as it stood at {answers.instant(at)} (history):")
        elif passed is not None:
            print(
                f"as it stood at {answers.instant(at)} "
                f"(history: the ledger has run to {answers.instant(passed)}):"
            )
        print(
            out.state_text(
                args.account, at, state, profile=account.profile.name, currency=account.currency
            )
        )
        for line in said.lines:
            print(line)
    return 0


def say_stored_only(ledger: Ledger) -> None:
    """Read-only: the answer is what is stored; nothing ran or caught up first (stderr,
    so that --json and --csv stay one document)."""
    if not ledger.read_only:
        return
    from infra.application.follower import lag

    behind = lag(ledger).behind.get("accounts", 0)
    print(
        "read-only: answered from what is stored; no scheduled work ran first"
        + (f", and the read models are {behind} event(s) behind the log" if behind else ""),
        file=sys.stderr,
    )


def _state_now(ledger: Ledger, ref: str, at: datetime) -> tuple[ObservedState, str | None]:
    """The state at `at` once the work due before it has run, and how far past `at` the
    ledger had already run (None: not past it). Read-only: nothing runs, and the stored
    events are folded (the read models may lag them)."""
    if not ledger.read_only:
        ledger.tick(at)
    passed = ledger.ran_past(ref, at)
    if passed is not None:
        return ledger.state_as_of(ref, at), passed
    if ledger.read_only:
        return ledger.state_at(ref, ledger.head(), as_of=at), None
    return ledger.state(ref, as_of=at), None


def events(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        history = ledger.events(args.account)
        currency = ledger.account(args.account).currency
    finally:
        ledger.close()
    history.sort(key=lambda e: e.originator_version)
    if args.json:
        listed = [out.event_doc(e) for e in history]
        for doc in listed:
            doc["fields"] = answers.event_money(doc["fields"])
        out.write_json(
            answers.answer("events", account=args.account, currency=currency, events=listed)
        )
        return 0
    print(
        f"{args.account}: {len(history)} event(s), oldest first; amounts in {currency}; "
        "personal fields are sealed"
    )
    for event in history:
        print(out.event_line(event, currency=currency))
    return 0


def journal(args: argparse.Namespace) -> int:
    """The journal's lines and the trial balance they make (debits = credits)."""
    as_of = None if args.as_of is None else bounds.instant(args.as_of, "as_of")
    if args.position is not None:
        bounds.field_whole(args.position, "position")
    ledger = open_ledger(args)
    try:
        if args.account is not None:
            ledger.account(args.account)  # unknown_account, as every command says it
        lines = ledger.journal(
            args.account, position=args.position, as_of=as_of, recognise=as_of is not None
        )
        say_stored_only(ledger)
    finally:
        ledger.close()
    currency = ledger_currency(args)
    doc = trial_balance(lines)
    if args.json:
        out.write_json(
            answers.answer(
                "journal",
                account=args.account,
                as_of=None if as_of is None else format_instant(as_of),
                position=args.position,
                currency=currency,
                **answers.journal_money(doc),
            )
        )
        return 0 if doc["balanced"] else 1

    def shown(minor: int) -> str:
        return answers.money(minor, currency)

    width = max(
        [len(shown(line["amount"])) for line in lines]
        + [
            len(shown(row[k]))
            for row in doc["trial_balance"].values()
            for k in ("debit", "credit", "net")
        ]
        + [len(shown(doc["debits"]))]
    )
    for line in lines:
        print(
            f"#{line['position'] or '-':<6} {line['at']:<20}  {line['account']:<16} "
            f"Dr {line['debit']:<26} Cr {line['credit']:<26} "
            f"{shown(line['amount']):>{width}}  {line['memo']}"
        )
    print(f"trial balance (amounts in {currency}):")
    for name, row in doc["trial_balance"].items():
        print(
            f"  {name:<28} Dr {shown(row['debit']):>{width}}  "
            f"Cr {shown(row['credit']):>{width}}  net {shown(row['net']):>{width}}"
        )
    print(
        f"  {'total':<28} Dr {shown(doc['debits']):>{width}}  "
        f"Cr {shown(doc['credits']):>{width}}"
        f"  {'balanced' if doc['balanced'] else 'NOT BALANCED'}"
    )
    return 0 if doc["balanced"] else 1


def report(args: argparse.Namespace) -> int:
    at = instant(args.at, "at")
    if args.plot is not None:
        return plot(args, at)
    ledger = open_ledger(args)
    try:
        found = ledger.report(args.name, as_of=at, month=args.month)
        say_stored_only(ledger)
    finally:
        ledger.close()
    currency = ledger_currency(args)
    rows = answers.decimal_rows(found, answers.REPORT_MONEY[args.name])
    if args.json:
        out.write_json(
            answers.answer(
                "report",
                report=args.name,
                as_of=format_instant(at),
                month=args.month,
                currency=currency,
                rows=rows,
            )
        )
    elif args.csv:
        import csv

        from projections.reports import COLUMNS

        columns = list(COLUMNS[args.name])
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()} for row in rows
        )
    else:
        money = answers.REPORT_MONEY[args.name]
        print(
            f"{args.name}, as of {format_instant(at)}"
            + (f" (amounts in {currency})" if money else "")
        )
        for row in rows:
            print(
                "  "
                + "  ".join(
                    f"{k}={answers.money(v, currency) if k in money else out.cell(v)}"
                    for k, v in row.items()
                )
            )
    return 0


MAX_PLOTTED_MONTHS = 120


def plot(args: argparse.Namespace, at: datetime) -> int:
    """`report NAME --plot FILE`: the report for each of the last `--months` months,
    drawn (infra/interface/charts.py); refused before the database opens when the
    report, the file's kind or its folder cannot be drawn."""
    from domain.calendar import add_months, parse_instant
    from infra.interface import charts

    path: Path = args.plot
    if args.name not in charts.PLOTTED:
        raise invalid(f"--plot draws {', '.join(charts.PLOTTED)}, not {args.name}", "plot")
    if path.suffix.lower() not in charts.FORMATS:
        raise invalid(f"--plot {path}: a .png or .svg file", "plot")
    if not path.parent.is_dir():
        raise invalid(f"--plot {path}: the folder {path.parent} does not exist", "plot")
    if not 1 <= args.months <= MAX_PLOTTED_MONTHS:
        raise invalid(f"--months is 1..{MAX_PLOTTED_MONTHS}", "months")
    last = bounds.month(args.month) if args.month is not None else format_instant(at)[:7]
    first = parse_instant(f"{last}-01T00:00:00Z", "month")
    months = [format_instant(add_months(first, -i))[:7] for i in reversed(range(args.months))]
    ledger = open_ledger(args)
    try:
        by_month = ledger.report_by_month(args.name, months, at)
        currency = ledger.app.currency
        say_stored_only(ledger)
    finally:
        ledger.close()
    drawn = charts.series(args.name, by_month)
    charts.write(charts.figure(args.name, months, drawn, currency), path)
    if args.json:
        out.write_json(
            {
                "kind": "report_plot",
                "report": args.name,
                "as_of": format_instant(at),
                "file": str(path),
                "months": months,
                "currency": currency,
                "series": {k: [format_amount(v) for v in vs] for k, vs in drawn.items()},
            }
        )
    else:
        print(
            f"wrote {path}: {args.name} over {len(months)} month(s), "
            f"{months[0]} to {months[-1]} ({currency})"
        )
    return 0


def history(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        steps = ledger.history(args.account)
        currency = ledger.account(args.account).currency
    finally:
        ledger.close()
    if args.json:
        out.write_json(
            answers.answer("history", account=args.account, currency=currency, steps=steps)
        )
        return 0
    print(
        f"{args.account}: {len(steps)} event(s); the status, access and amount outstanding "
        "each left"
    )
    print(
        *out.table(
            ("position", "effective", "recorded", "event", "status", "access", "outstanding"),
            (
                [
                    f"#{s['position']}",
                    answers.instant(s["at"]),
                    answers.instant(s["recorded_at"]),
                    s["event"],
                    s["status"],
                    s["access"],
                    answers.money(s["outstanding"], currency),
                ]
                for s in steps
            ),
            align_right=("outstanding",),
        ),
        sep="\n",
    )
    return 0


def tick(args: argparse.Namespace) -> int:
    to = clock_instant(args, args.to, "to") or now()
    ledger = open_ledger(args)
    try:
        ran, done = ledger.tick_and_say(to)
    finally:
        ledger.close()
    report_tick(args, to, ran, done)
    return 0


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A progress bar on stderr for long folds, when a person is watching (a TTY)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    return show


def stop_on_signals() -> tuple[threading.Event, Callable[[], None]]:
    """An event set by SIGINT or SIGTERM, and how to put the previous handlers back."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return stop, restore


def scheduler(args: argparse.Namespace) -> int:
    if not args.interval > 0:
        return out.error(
            "invalid_input", "--interval must be a positive number of seconds", as_json=args.json
        )
    ledger = open_ledger(args)
    if args.once:
        try:
            at = now()
            report_tick(args, at, *ledger.tick_and_say(at))
        finally:
            ledger.close()
        return 0
    stop, restore = stop_on_signals()
    if not args.json:
        print(f"scheduler: a tick every {args.interval:g}s; SIGINT or SIGTERM stops it", flush=True)
    said: dict[datetime, list[WorkDone]] = {}

    def tick_once(at: datetime) -> int:
        ran, said[at] = ledger.tick_and_say(at)
        return ran

    def reported(at: datetime, ran: int) -> None:
        done = said.pop(at, [])
        if ran or done:
            report_tick(args, at, ran, done)

    try:
        total = tick_until(stop, tick_once, now, args.interval, reported)
    finally:
        ledger.close()
        restore()
    if not args.json:
        print(f"scheduler stopped; ran {total} piece(s) of scheduled work", flush=True)
    return 0


def report_tick(args: argparse.Namespace, at: datetime, ran: int, done: list[WorkDone]) -> None:
    """What a tick did, per account, from the events it recorded (issue 19)."""
    if args.json:
        out.write_json(work_json(at, ran, done))
    else:
        print(*work_text(at, ran, done), sep="\n")
    sys.stdout.flush()


def db(args: argparse.Namespace) -> int:
    """`db init` creates the schema; `db check` says whether this process could run."""
    path = config_path(args)
    config = load_config(path)
    where = config.db.describe()
    if args.db_cmd == "init":
        ledger = open_ledger(args, create=True)
        try:
            version = schema_version(ledger.store)
        finally:
            ledger.close()
        if args.json:
            out.write_json(
                answers.answer("db_init", ok=True, database=where, schema_version=version)
            )
        else:
            print(f"{where}: schema version {version} ready")
        return 0
    return _db_check(args, config)


def _db_check(args: argparse.Namespace, config: Any) -> int:
    """Reachable? The schema? How far behind is each read model, and is one stopped on an
    event (exit 1, naming it)?"""
    from infra.application.follower import lag

    where = config.db.describe()
    if config.db.path is not None and not config.db.path.exists():
        return _check_failed(args, where, "not_initialised", f"no file {config.db.path}")
    try:
        ledger = build_ledger(config, create=False)
    except DatabaseNotReadyError as e:
        return _check_failed(args, where, "not_initialised", str(e))
    except MasterKeyError as e:
        return _check_failed(args, where, "wrong_master_key", str(e))
    except Exception as e:  # unreachable, refused, wrong password, ...
        return _check_failed(args, where, "unreachable", f"{type(e).__name__}: {e}")
    try:
        current = lag(ledger)
        halted, skips = ledger.halted(), ledger.store.isolation.skips()
        report = {
            "kind": "db_check",
            "ok": not halted,
            "database": where,
            "backend": config.db.kind,
            "schema_version": schema_version(ledger.store),
            "last_notification_id": current.head,
            **current.as_dict(),
            "halted": [f.as_dict() for f in halted],
            "skipped": [k.as_dict() for k in skips],
        }
        if halted:
            report["status"] = "halted"
    finally:
        ledger.close()
    if args.json:
        out.write_json(report)
    else:
        print(
            f"{where}: reachable, schema version {report['schema_version']}, "
            f"last notification id {current.head}"
        )
        for name, behind in current.behind.items():
            print(f"  {name:<16} at {current.positions[name]:>8}  lag {behind}")
        for k in skips:
            print(
                f"  skipped: {k.name} the event at position {k.position} ({k.event_id}) "
                f"on {answers.instant(k.skipped_at)}: {k.reason}"
            )
        report_halted(halted)
    return 1 if halted else 0


def report_halted(halted: list[Any]) -> None:
    """Each read model or consumer stopped on an event, and the ways out (stderr)."""
    for f in halted:
        print(
            f"HALTED: {f.name} stopped on the event at position {f.position} "
            f"({f.event_id}, {f.topic}) since {answers.instant(f.failed_at)}: {f.error}",
            file=sys.stderr,
        )
    if halted:
        print(
            "  after a fix: subledger project --rebuild; or, recorded: subledger project "
            "--skip POSITION --reason TEXT",
            file=sys.stderr,
        )


def _check_failed(args: argparse.Namespace, where: str, status: str, message: str) -> int:
    if args.json:
        out.write_json(
            answers.answer("db_check", ok=False, database=where, status=status, message=message)
        )
    else:
        print(f"{where}: {status}: {message}", file=sys.stderr)
    return 1


def project(args: argparse.Namespace) -> int:
    from infra.application.follower import Lag, follow, lag

    if not args.interval > 0:
        return out.error(
            "invalid_input", "--interval must be a positive number of seconds", as_json=args.json
        )
    ledger = open_ledger(args)

    def report(current: Lag) -> None:
        halted = ledger.halted()
        if args.json:
            out.write_json(
                {
                    "kind": "project",
                    "ok": not halted and not ledger.settle_failure,
                    **current.as_dict(),
                    "halted": [f.as_dict() for f in halted],
                    "catch_up": ledger.settle_failure,
                }
            )
        else:
            behind = ", ".join(f"{n} {b}" for n, b in current.behind.items())
            print(f"head {current.head}; lag: {behind}")
        sys.stdout.flush()
        log.info("lag", **current.as_dict())

    try:
        if args.skip is not None:
            skipped = _skip(args, ledger)
            if skipped:
                return skipped
        if args.rebuild:
            ledger.rebuild(progress_bar("rebuilding the read models"))
        if not args.follow:
            ledger.settle()
            report(lag(ledger))
            return _halted_or_failed(args, ledger)
        stop, restore = stop_on_signals()
        try:
            follow(ledger, stop, poll_seconds=args.interval, report=report)
        finally:
            restore()
    finally:
        ledger.close()
    return 0


def _skip(args: argparse.Namespace, ledger: Ledger) -> int:
    """`project --skip POSITION --reason TEXT`; an exit status on refusal, else 0."""
    if args.reason is None:
        return out.error(
            "invalid_input",
            "--skip needs --reason: why the event is skipped is recorded with it",
            as_json=args.json,
        )
    reason = bounds.field_text(args.reason, "reason")
    position = bounds.field_whole(args.skip, "position")
    done = ledger.store.isolation.skip(position, reason)
    if not done:
        return out.error(
            "invalid_input",
            f"no read model or consumer is stopped at "
            f"position {position} (`subledger db check` lists them)",
            as_json=args.json,
        )
    for k in done:
        if not args.json:
            print(f"skipped the event at position {position} ({k.event_id}) for {k.name}: {reason}")
    return 0


def _halted_or_failed(args: argparse.Namespace, ledger: Ledger) -> int:
    """1 when a read model or consumer is stopped on an event, or the catch-up failed
    (with --json, the report above said so)."""
    halted = ledger.halted()
    if not args.json:
        report_halted(halted)
        if ledger.settle_failure:
            print(f"catch-up failed: {ledger.settle_failure['error']}", file=sys.stderr)
    return 1 if halted or ledger.settle_failure else 0


def relay(args: argparse.Namespace) -> int:
    """The Kafka gateway (infra/messaging/relay.py): one per ledger."""
    from infra.messaging.relay import KafkaRelay, KafkaSettings, TopicLostError

    path = config_path(args)
    config = load_config(path)
    if config.kafka is None:
        raise ConfigError(
            str(path),
            "no [kafka] table and no SUBLEDGER_KAFKA_BOOTSTRAP: where should events go?",
            "kafka.bootstrap_servers",
        )
    settings = KafkaSettings(**{k: v for k, v in config.kafka.items() if k != "collection"})
    from infra.messaging.relay_lock import single_relay

    ledger = open_ledger(args)
    gateway = KafkaRelay(ledger.app.recorder, ledger.store, settings)
    stop, restore = stop_on_signals()
    try:
        with single_relay(config.db, stop) as active:
            if not active:
                return 0
            if args.republish:
                count = gateway.republish()
                _relay_report(
                    args, f"republished {count} event(s) to {settings.topic}", republished=count
                )
            if args.once:
                if gateway.producer is None:
                    gateway.connect()
                count = gateway.publish_pending()
                _relay_report(
                    args, f"published {count} event(s) to {settings.topic}", published=count
                )
            elif not args.republish:
                if not args.json:
                    print(
                        f"relay: publishing to {settings.topic} at "
                        f"{settings.bootstrap_servers}; SIGINT or SIGTERM stops it",
                        flush=True,
                    )
                gateway.run(stop)
                _relay_report(
                    args,
                    f"relay stopped; published {gateway.sent} event(s)",
                    published=gateway.sent,
                )
    except TopicLostError as e:  # not a refused command: the operator must act (exit 3)
        if args.json:
            out.write_json(answers.answer("relay", ok=False, status="topic_lost", message=str(e)))
        else:
            print(f"relay stopped: {e}", file=sys.stderr)
        return 3
    finally:
        gateway.close()
        ledger.close()
        restore()
    return 0


def consume(args: argparse.Namespace) -> int:
    """One of the ledger's own Kafka consumers (consumers/), until SIGINT/SIGTERM."""
    from consumers.event_consumer import ConsumerSettings, EventConsumer, Handler

    path = config_path(args)
    config = load_config(path)
    if config.kafka is None:
        raise ConfigError(
            str(path),
            "no [kafka] table and no SUBLEDGER_KAFKA_BOOTSTRAP",
            "kafka.bootstrap_servers",
        )
    ledger = open_ledger(args)
    handler: Handler
    if args.consumer == "collector":
        from consumers.collector import KafkaCollector
        from consumers.payment_provider import SimulatedPaymentProvider

        handler = KafkaCollector(ledger.app, SimulatedPaymentProvider())
    elif args.consumer == "notices":
        from consumers.notifier import NoticeDelivery
        from infra.application.bootstrap import invoice_pdf_port
        from infra.messaging.smtp import SmtpEmail

        host, _, port = args.smtp.rpartition(":")
        handler = NoticeDelivery(
            ledger.app,
            SmtpEmail(host or "127.0.0.1", int(port or 25), args.sender),
            clock=now,
            invoice_pdf=invoice_pdf_port(ledger),
        )  # TAX-6 attachment
    else:
        from consumers.entitlement_cache import EntitlementCache

        handler = EntitlementCache(args.cache)
    consumer = EventConsumer(
        ConsumerSettings(
            config.kafka["bootstrap_servers"], config.kafka.get("topic", "subledger.events")
        ),
        handler,
    )
    stop, restore = stop_on_signals()
    if not args.json:
        print(f"consume {args.consumer}: SIGINT or SIGTERM stops it", flush=True)
    try:
        consumer.run(stop)
    finally:
        consumer.close()
        ledger.close()
        restore()
    _relay_report(
        args,
        f"{args.consumer} stopped; {consumer.dead_lettered} dead-lettered",
        dead_lettered=consumer.dead_lettered,
    )
    return 0


def _relay_report(args: argparse.Namespace, text: str, **figures: int) -> None:
    if args.json:
        out.write_json(answers.answer(args.cmd, ok=True, **figures))
    else:
        print(text, flush=True)


def scenario(args: argparse.Namespace) -> int:
    from infra.tools.scenario import ScenarioFormatError, load_scenario, run_scenario

    if not args.file.is_file():
        return out.error("invalid_input", f"{args.file}: no such file", as_json=args.json)
    if args.database is not None and args.database.exists():
        return out.error(
            "invalid_input",
            f"{args.database} exists; a scenario needs a new event store",
            as_json=args.json,
        )
    try:
        loaded = load_scenario(args.file)
    except ScenarioFormatError as e:
        return out.error("invalid_input", str(e), as_json=args.json)
    try:
        result = run_scenario(
            loaded,
            database=args.database,
            out=sys.stdout,
            emit_state=args.emit_state,
            database_url=args.database_url,
        )
    except (DatabaseNotReadyError, DatabaseUrlError) as e:
        return out.error("invalid_input", str(e), as_json=args.json)
    if args.json:
        out.write_json(
            {
                "kind": "scenario_run",
                "ok": not result.failures,
                "name": loaded.name,
                "steps": result.steps,
                "failures": result.failures,
            }
        )
    else:
        for failure in result.failures:
            print(failure)
        if result.failures:
            print(f"FAIL {loaded.name}: {len(result.failures)} failure(s) in {result.steps} steps")
        else:
            print(f"PASS {loaded.name}: {result.steps} steps")
    return 1 if result.failures else 0


def demo(args: argparse.Namespace) -> int:
    from infra.tools.demo import DemoError, run_demo

    try:
        return run_demo(database=args.database, keep=args.keep, out=sys.stdout, kafka=args.kafka)
    except DemoError as e:
        return out.error("invalid_input", str(e), as_json=args.json)


def serve(args: argparse.Namespace) -> int:
    from infra.entrypoints.http.server import serve as run_server

    if not 0 <= args.port <= 65535:
        return out.error("invalid_input", "--port is 0..65535", as_json=args.json)
    if args.max_backdate_days < 0:
        return out.error("invalid_input", "--max-backdate-days is 0 or more", as_json=args.json)
    from datetime import timedelta

    from infra.entrypoints.http.limits import ServerLimits

    if (
        args.max_connections < 1
        or min(args.header_timeout, args.body_timeout) <= 0
        or args.keep_alive_timeout < 1
    ):
        return out.error(
            "invalid_input",
            "--max-connections, --header-timeout, "
            "--body-timeout and --keep-alive-timeout must be positive",
            as_json=args.json,
        )
    limits = ServerLimits(
        max_connections=args.max_connections,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
    )
    margin = timedelta(seconds=load_config(config_path(args)).future_margin_seconds)
    ledger = open_ledger(args)
    try:
        run_server(
            ledger,
            now,
            host=args.host,
            port=args.port,
            tick_every=args.tick_every,
            max_backdate_days=args.max_backdate_days,
            future_margin=margin,
            limits=limits,
        )
    except OSError as e:  # the address is taken, or not ours
        return out.error(
            "invalid_input",
            f"cannot listen on {args.host}:{args.port}: {e.strerror or e}",
            as_json=args.json,
        )
    finally:
        ledger.close()
    return 0


def apikey(args: argparse.Namespace) -> int:
    from infra.persistence.api_keys import ApiKeyStore, UnknownKeyError, parse_scopes

    scopes = None
    if args.apikey_cmd == "create":
        try:
            scopes = parse_scopes(args.scope)
        except ValueError as e:
            return out.error("invalid_input", str(e), as_json=args.json)
    ledger = open_ledger(args)
    try:
        keys = ApiKeyStore(ledger.app.datastore, ledger.store.dialect)
        if scopes is not None:
            secret, key = keys.create(scopes, args.label, now())
            doc = {"kind": "api_key", **key.as_json(), "key": secret}
        elif args.apikey_cmd == "revoke":
            try:
                doc = {"kind": "api_key", **keys.revoke(args.key_id, now()).as_json()}
            except UnknownKeyError:
                return out.error("invalid_input", f"no API key {args.key_id!r}", as_json=args.json)
        else:
            return _key_list(args, [k.as_json() for k in keys.list()])
    finally:
        ledger.close()
    if args.json:
        out.write_json(doc)
    elif scopes is not None:
        print(doc["key"])
        print(
            f"key {doc['id']} ({', '.join(doc['scopes'])}): shown once, only its hash is "
            "kept; send it as `Authorization: Bearer <key>`",
            file=sys.stderr,
        )
    else:
        print(f"revoked {doc['id']} at {answers.instant(doc['revoked_at'])}")
    return 0


def _key_list(args: argparse.Namespace, listed: list[dict[str, Any]]) -> int:
    if args.json:
        out.write_json(answers.answer("api_keys", keys=listed))
    else:
        print(
            *out.table(
                ("id", "label", "scopes", "created", "revoked"),
                (
                    [
                        k["id"],
                        k["label"],
                        ",".join(k["scopes"]),
                        answers.instant(k["created_at"]),
                        None if k["revoked_at"] is None else answers.instant(k["revoked_at"]),
                    ]
                    for k in listed
                ),
            ),
            sep="\n",
        )
    return 0
