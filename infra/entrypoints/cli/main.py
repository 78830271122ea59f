"""The `subledger` command line: a thin translator from arguments to ledger calls.

One subcommand per command, generated from its declaration
(`infra/interface/vocabulary.py`) so that the CLI, the HTTP API and the scenarios cannot
drift: ACCOUNT is positional for commands that have an `account` field, every other field
is `--field-name`, with the declared help. Raw strings go to the declaration's parser,
which validates. The wall clock is read here (`--at` defaults to now), never in the
domain.

Every refusal exits 2: `error: <code>: <message>` on stderr, or with `--json` the
document `{"error": code, "message": ...}` on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import structlog

from domain.errors import Rejected
from domain.profiles import BUILT_IN_PROFILES
from infra.config import DEFAULT_CONFIG, ConfigError
from infra.entrypoints.cli import handlers as h
from infra.entrypoints.cli.invoice import add_invoice_command
from infra.entrypoints.http.limits import ServerLimits
from infra.interface import presenter as out
from infra.interface.vocabulary import DECLARATIONS, VOCABULARY
from infra.logging import configure_logging
from projections.isolation import ReadModelHaltedError

log = structlog.get_logger("subledger.cli")


class UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """Usage errors are refusals like any other (exit 2, JSON with --json)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="subledger",
        description="An event-sourced subscription ledger.",
        epilog="Every command also answers to its scenario name with "
        "underscores (record_payment). Times are ISO-8601 UTC instants "
        "ending in Z; --at defaults to now. `subledger COMMAND --help` "
        "lists a command's options.",
    )
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_text, description=help_text[:1].upper() + help_text[1:] + "."
        )
        _global_options(p, top=False)
        p.set_defaults(handler=handler)
        return p

    p = command("init", "write a config file (subledger.toml) for a built-in profile", h.init)
    p.add_argument("--path", type=Path, help=f"where to write it (default {DEFAULT_CONFIG})")
    p.add_argument(
        "--profile",
        default="monthly-autorenew",
        choices=list(BUILT_IN_PROFILES),
        help="the contract profile (default monthly-autorenew)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    for declaration in DECLARATIONS:  # one subcommand per declared command
        p = command(declaration.cli_name, declaration.summary, h.command)
        p.set_defaults(do=declaration.do)
        for f in declaration.fields:
            if f.name == "account":
                p.add_argument("account", metavar="ACCOUNT", help=f.help)
            else:
                p.add_argument(
                    f.option,
                    dest=f"field_{f.name}",
                    metavar=f.name.upper(),
                    required=f.required,
                    help=f.help + ("" if f.required else " (optional)"),
                )
        p.add_argument(
            "--at",
            metavar="INSTANT",
            help="when it happens, ISO-8601 UTC (default now; at most "
            "`future_margin_seconds` ahead of the wall clock)",
        )
        _allow_future(p)

    p = command(
        "status", "show an account's state (runs scheduled work up to --at first)", h.status
    )
    p.add_argument("account", metavar="ACCOUNT")
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        metavar="INSTANT",
        help="now, or the instant the clock is moved to: runs the work due "
        "before it, then shows the state (default now)",
    )
    when.add_argument(
        "--as-of",
        metavar="INSTANT",
        help="history: the state as it stood at this instant, from the events "
        "effective before it (runs nothing)",
    )
    when.add_argument(
        "--position",
        type=int,
        metavar="N",
        help="history: as the log stood at position N (runs nothing)",
    )
    _allow_future(p)

    _auditor_commands(command)
    add_invoice_command(command)  # TAX-6 documents (infra/entrypoints/cli/invoice.py)

    p = command("tick", "run the scheduled work due up to an instant (default now)", h.tick)
    p.add_argument("--to", metavar="INSTANT", help="ISO-8601 UTC instant (default now)")
    _allow_future(p)

    p = command(
        "scheduler", "run scheduled work on the wall clock until SIGINT/SIGTERM", h.scheduler
    )
    p.add_argument(
        "--interval", type=float, default=60.0, help="seconds between ticks (default 60)"
    )
    p.add_argument("--once", action="store_true", help="tick once and exit")

    _operator_commands(command)

    p = command("scenario", "run scenario files (scenarios/FORMAT.md)", h.scenario)
    ssub = p.add_subparsers(dest="scenario_cmd", required=True, metavar="ACTION")
    run = ssub.add_parser(
        "run",
        help="run one scenario file against a fresh event store",
        description="Run a scenario file: exit 0 when every expectation "
        "holds, 1 on failures, 2 on a malformed file.",
    )
    _global_options(run, top=False)
    run.add_argument("file", type=Path, metavar="FILE")
    run.add_argument(
        "--emit-state",
        action="store_true",
        help="print the observed state of every expect step as JSON lines",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--database", type=Path, metavar="PATH", help="keep the event store in this new SQLite file"
    )
    where.add_argument(
        "--database-url",
        metavar="URL",
        help="run on PostgreSQL: postgresql://user@host/db (a temporary "
        "schema, dropped afterwards) or ...?schema=NAME (a new schema, "
        "kept)",
    )

    p = command("demo", "drive customers of all four profiles on a simulated clock", h.demo)
    p.add_argument(
        "--database",
        type=Path,
        metavar="PATH",
        help="directory (or file name prefix such as demo.db) for the event "
        "stores, one per profile; kept (default: a temporary directory)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument(
        "--kafka",
        action="store_true",
        help="also start a local broker, publish every store's events with the "
        "relay and feed an entitlement cache from the topic alone",
    )
    return parser


def _auditor_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Reading history: events, the timeline, the journal."""
    p = command("events", "list an account's stored events, oldest first", h.events)
    p.add_argument("account", metavar="ACCOUNT")

    p = command("journal", "the double-entry journal and its trial balance", h.journal)
    p.add_argument("--account", metavar="ACCOUNT", help="one customer's lines only")
    p.add_argument("--as-of", metavar="INSTANT", help="lines effective up to this instant")
    p.add_argument("--position", type=int, metavar="N", help="lines up to log position N")

    p = command(
        "report",
        "finance reports: subscriptions, mrr, mrr-movements, conversion, "
        "churn, revenue, ageing, vat",
        h.report,
    )
    p.add_argument(
        "name",
        choices=[
            "subscriptions",
            "mrr",
            "mrr-movements",
            "conversion",
            "churn",
            "revenue",
            "ageing",
            "vat",
        ],
        metavar="NAME",
        help="subscriptions | mrr | mrr-movements | conversion | churn | revenue | ageing | vat",
    )
    p.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="churn, revenue, mrr-movements, vat: the month (default: --at's)",
    )
    p.add_argument("--at", metavar="INSTANT", help="as of this instant (default now)")
    p.add_argument("--csv", action="store_true", help="CSV instead of a table")
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="mrr, revenue, mrr-movements: draw the figures over months into FILE.png or "
        "FILE.svg (the months up to --month, default --at's)",
    )
    p.add_argument(
        "--months",
        type=int,
        default=12,
        metavar="N",
        help="with --plot: how many months, ending with --month (default 12)",
    )

    p = command(
        "history",
        "an account's timeline: log position, effective and recorded "
        "times, and the status and balance each event left",
        h.history,
    )
    p.add_argument("account", metavar="ACCOUNT")


def _operator_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The commands an operator runs against the database and the broker."""
    p = command("db", "create or check the event store's database", h.db)
    dsub = p.add_subparsers(dest="db_cmd", required=True, metavar="ACTION")
    for action, text in (
        ("init", "create the schema (idempotent): needed once for PostgreSQL, harmless on SQLite"),
        (
            "check",
            "report connectivity, schema version, the last "
            "notification id and how far each projection lags",
        ),
    ):
        a = dsub.add_parser(action, help=text, description=text[:1].upper() + text[1:] + ".")
        _global_options(a, top=False)

    p = command("project", "catch the projections and consumers up with the event log", h.project)
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep following new events (PostgreSQL: LISTEN/NOTIFY; SQLite: "
        "polling) until SIGINT/SIGTERM, logging the lag",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="drop the read models and fold the whole log again first (after a "
        "fix: the read models and consumers stopped on an event try again)",
    )
    p.add_argument(
        "--skip",
        type=int,
        metavar="POSITION",
        help="skip the event at POSITION for every read model or consumer stopped "
        "on it (recorded, with --reason; `db check` lists skips)",
    )
    p.add_argument("--reason", metavar="TEXT", help="--skip: why, in words (required)")
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="SQLite only: seconds between polls with --follow (default 1)",
    )

    command(
        "verify",
        "recompute the hash chain of the event log; exit 1 naming the first tampered position",
        h.verify,
    )

    p = command("privacy", "the GDPR audit: report of every account, or one's export", h.privacy)
    psub = p.add_subparsers(dest="privacy_cmd", required=True, metavar="ACTION")
    a = psub.add_parser(
        "report",
        help="deletion requests with deadlines and overdue flags, "
        "retention schedule, financial retention, processing records",
        description="The GDPR audit of every account (GDPR-1..3, GDPR-6).",
    )
    _global_options(a, top=False)
    a.add_argument("--csv", action="store_true", help="one CSV line per account")
    a.add_argument(
        "--at",
        metavar="INSTANT",
        help="as of this instant (runs scheduled work up to it; default now)",
    )
    _allow_future(a)
    a = psub.add_parser(
        "export",
        help="everything held about one customer, as JSON (GDPR-4; recorded in the audit trail)",
        description="Everything held about one customer (GDPR-4).",
    )
    _global_options(a, top=False)
    a.add_argument("account", metavar="ACCOUNT")
    a.add_argument("--at", metavar="INSTANT", help="when (default now)")
    _allow_future(a)

    _serve_command(command)

    p = command("apikey", "create, list or revoke the HTTP API's keys", h.apikey)
    ksub = p.add_subparsers(dest="apikey_cmd", required=True, metavar="ACTION")
    a = ksub.add_parser(
        "create",
        help="make a key and print it once (only its hash is kept)",
        description="Make an API key; it is printed once and stored hashed.",
    )
    _global_options(a, top=False)
    a.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help="read | write | privacy | operator (the vendor's own commands, "
        "VENDOR-1..3); repeat or comma-separate for several",
    )
    a.add_argument("--label", default="", help="who or what uses the key")
    a = ksub.add_parser(
        "list",
        help="the keys: id, label, scopes, created, revoked (never the secret)",
        description="List the API keys.",
    )
    _global_options(a, top=False)
    a = ksub.add_parser(
        "revoke",
        help="revoke a key by its id",
        description="Revoke an API key: it is refused from then on.",
    )
    _global_options(a, top=False)
    a.add_argument("key_id", metavar="ID")

    p = command(
        "relay",
        "publish every stored event to Kafka, once and in order per account, until SIGINT/SIGTERM",
        h.relay,
    )
    p.add_argument(
        "--republish",
        action="store_true",
        help="delete the topic and publish the whole event store again",
    )
    p.add_argument("--once", action="store_true", help="publish what is pending and exit")

    p = command(
        "consume", "run one of the ledger's Kafka consumers until SIGINT/SIGTERM", h.consume
    )
    p.add_argument(
        "consumer",
        choices=["collector", "notices", "entitlements"],
        help="collector: card payments (with `[kafka] collection = true`); "
        "notices: emails through SMTP; entitlements: the example cache",
    )
    p.add_argument(
        "--smtp",
        default="127.0.0.1:25",
        metavar="HOST:PORT",
        help="notices: the SMTP relay (default 127.0.0.1:25)",
    )
    p.add_argument(
        "--sender", default="billing@subledger.invalid", help="notices: the From address"
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path("entitlements.db"),
        help="entitlements: the cache's SQLite file",
    )


def _serve_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command(
        "serve",
        "serve the HTTP API (commands as POST, queries as GET, OpenAPI at "
        "/openapi.json) until SIGINT/SIGTERM",
        h.serve,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port (default 8080; 0 picks a free one, printed at start)",
    )
    p.add_argument(
        "--tick-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="run due scheduled work on the wall clock this often (default 60; "
        "0: leave it to `subledger scheduler`)",
    )
    p.add_argument(
        "--max-backdate-days",
        type=int,
        default=400,
        metavar="DAYS",
        help="how far back a command's `at` may lie (default 400)",
    )
    limits = ServerLimits()
    p.add_argument(
        "--max-connections",
        type=int,
        default=limits.max_connections,
        metavar="N",
        help="open connections at most; at the cap a new one "
        f"closes the longest idle (default {limits.max_connections})",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=limits.header_timeout,
        metavar="SECONDS",
        help=f"a request's head must arrive within this (default {limits.header_timeout:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=limits.body_timeout,
        metavar="SECONDS",
        help="a request's body must arrive within this after "
        f"its head (default {limits.body_timeout:g})",
    )
    p.add_argument(
        "--keep-alive-timeout",
        type=int,
        default=int(limits.keep_alive_timeout),
        metavar="SECONDS",
        help=f"an idle connection is closed after this (default {limits.keep_alive_timeout:g})",
    )


def _allow_future(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-future",
        action="store_true",
        help="simulations: let the instant lie beyond `future_margin_seconds` "
        "ahead of the wall clock (it moves the ledger's clock there)",
    )


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # on subcommands the defaults are suppressed so they never undo the top-level value
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=None if top else argparse.SUPPRESS,
        help="config file (default $SUBLEDGER_CONFIG or ./subledger.toml)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="machine-readable output: one JSON document on stdout",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="open the database for reading only: queries answer from what is stored, "
        "writes are refused (read_only); implied for a file this user may not write",
    )


def _dashed(argv: list[str]) -> list[str]:
    """Accept `record_payment` for `record-payment`: rewrite the command word only."""
    skip = False
    for i, token in enumerate(argv):
        if skip:
            skip = False
        elif token == "--config":  # noqa: S105 - an option, not a password
            skip = True
        elif not token.startswith("-"):
            if token in VOCABULARY:
                return [*argv[:i], token.replace("_", "-"), *argv[i + 1 :]]
            break
    return argv


# ------------------------------------------------------------------ entry point
def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per kind
    """The `subledger` entry point; returns the exit status. No traceback reaches the
    user: a refusal exits 2, trouble of the machine (a full disk, a folder where a file
    should be, an event no fold can read) 1 with one line, Ctrl-C 130."""
    configure_logging()
    as_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except BrokenPipeError:  # `subledger events X | head`: the reader left, not an error
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        _trouble(
            "interrupted", "stopped by Ctrl-C; what was committed stays committed", as_json=as_json
        )
        return 130
    except ReadModelHaltedError as e:
        _trouble("read_model_halted", str(e), as_json=as_json)
        return 1
    except OSError as e:  # the disk, the file system, the network
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        _trouble("os_error", f"{e.strerror or e}{where}", as_json=as_json)
        return 1
    except Exception as e:  # a bug, or data no code expected: one line, details in the log
        if "attempt to write a readonly database" in str(e):
            # a write no check foresaw, on a file SQLite opened for reading only: refused
            _trouble("read_only", f"the database may not be written: {e}", as_json=as_json)
            return 2
        log.debug("failed", exc_info=e)
        _trouble(
            "internal_error",
            f"{type(e).__name__}: {str(e)[:300]} (the traceback: SUBLEDGER_LOG_LEVEL=debug)",
            as_json=as_json,
        )
        return 1


def _trouble(code: str, message: str, *, as_json: bool) -> None:
    with contextlib.suppress(OSError, ValueError):
        if as_json:
            out.write_json({"kind": "error", "error": code, "message": message})
        else:
            print(f"error: {code}: {message}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    args_list = _dashed(list(sys.argv[1:] if argv is None else argv))
    as_json = "--json" in args_list
    try:
        args = build_parser().parse_args(args_list)
    except UsageError as e:
        if not as_json:
            e.parser.print_usage(sys.stderr)
        return out.error("invalid_input", str(e), as_json=as_json)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    try:
        result: int = args.handler(args)
    except Rejected as e:
        if args.json:
            out.write_json({"kind": "error", **e.as_dict()})
            return 2
        return out.error(e.code.value, e.message, as_json=False)
    except ConfigError as e:
        return out.error(
            "invalid_input", str(e), as_json=args.json, extra={"file": e.path, "key": e.key}
        )
    return result


if __name__ == "__main__":
    sys.exit(main())
