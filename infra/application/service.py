"""The one way a command is run, for every entry point.

The CLI and the HTTP API parse a command's fields once (`parse_command`, the bounds of
`domain/bounds.py`) and hand the typed command to `run_command`: the ledger executes it,
and the caller gets what was recorded and the state it left. Neither front end knows a
rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from domain.commands import Command
from domain.errors import invalid
from infra.application.ledger import Ledger
from infra.interface import presenter as out
from infra.interface.vocabulary import declaration_of
from infra.persistence.extras import RequestMark
from projections.documents import ObservedState

QUERIES = frozenset({"export_personal_data"})  # answered with a document, not a receipt
log = structlog.get_logger("subledger")


@dataclass(frozen=True)
class CommandResult:
    do: str
    account: str | None
    at: datetime
    recorded: bool
    detail: dict[str, Any]
    state: ObservedState | None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = out.plain(
            out.confirmation_json(
                self.do, self.account, self.at, self.recorded, self.detail, self.state
            )
        )
        return doc

    def as_text(self) -> str:
        return out.confirmation(
            self.do, self.account, self.at, self.recorded, self.detail, self.state
        )


def run_command(
    ledger: Ledger,
    command: Command,
    *,
    mark: RequestMark | None = None,
    timed_by: Callable[[], datetime] | None = None,
    grouped: bool = False,
) -> CommandResult:
    """Execute a parsed command and read the account's state as of its instant.
    `timed_by`: the command did not say when (its `at` is provisional); it is timed by
    this clock inside the ledger's lock (`Ledger.execute_now`). `mark`: the HTTP request
    it answers, saved with its events (`Ledger.execute`). `grouped`: saved in one
    transaction with the commands other threads are running (`Ledger.execute_grouped`),
    for a server's concurrent requests; the CLI runs one at a time.

    Once the command has executed, its receipt is the answer: a state that cannot be
    read then (the read model stopped, the database gone a moment) is left out and
    logged, never turned into a failure that would invite a second run."""
    do = declaration_of(command).do
    if do in QUERIES:
        raise invalid(f"{do} is a query: it answers with a document", "do")
    if grouped:
        command, outcome = ledger.execute_grouped(command, mark=mark, timed_by=timed_by)
    elif timed_by is not None:
        command, outcome = ledger.execute_now(command, timed_by, mark=mark)
    else:
        outcome = ledger.execute(command, mark=mark)
    account = getattr(command, "account", None)
    return CommandResult(
        do,
        account,
        command.at,
        outcome.recorded,
        outcome.detail,
        _state_after(ledger, account, command.at),
    )


def _state_after(ledger: Ledger, account: str | None, at: datetime) -> ObservedState | None:
    if account is None:
        return None
    try:
        return ledger.state(account, as_of=at)
    except Exception as e:  # committed already: the receipt without the state
        log.warning(
            "command recorded; its state could not be read", account=account, error=type(e).__name__
        )
        return None


def receipt_of_committed(
    ledger: Ledger, do: str, account: str | None, at: datetime
) -> CommandResult:
    """The answer to a command known to be recorded whose answer was lost (its process
    died between the two): what was recorded, and the account's state now."""
    state = None if account is None else ledger.state(account, as_of=at)
    return CommandResult(do, account, at, True, {}, state)
