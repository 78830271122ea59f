"""The one way a command in the scenario vocabulary is run, for every entry point.

The CLI and the HTTP API both hand raw fields to `run_command`: `parse_command` validates
them (the rules of `domain/commands.py`), the ledger executes, and the caller gets what
was recorded and the state it left. Neither front end knows a rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from domain.commands import Command, parse_command
from domain.errors import invalid
from infra import cli_output as out
from infra.ledger import Ledger
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
        doc: dict[str, Any] = out.plain(out.confirmation_json(
            self.do, self.account, self.at, self.recorded, self.detail, self.state))
        return doc

    def as_text(self) -> str:
        return out.confirmation(self.do, self.account, self.at, self.recorded, self.detail,
                                self.state)


def run_command(ledger: Ledger, do: str, fields: dict[str, Any], at: datetime | None, *,
                mark: tuple[str, str] | None = None,
                clock: Callable[[], datetime] | None = None) -> CommandResult:
    """Validate, execute, and read the account's state as of the command's instant.
    `at` None: the command did not say when; it is timed by `clock` inside the ledger's
    lock (`Ledger.execute_now`). `mark`: the HTTP request it answers (`Ledger.execute`).

    Once the command has executed, its receipt is the answer: a state that cannot be
    read then (the read model stopped, the database gone a moment) is left out and
    logged, never turned into a failure that would invite a second run."""
    if do in QUERIES:
        raise invalid(f"{do} is a query: it answers with a document", "do")
    command: Command
    if at is None:
        assert clock is not None, "a command without `at` needs a clock"
        parse_command(do, fields, clock())  # refused before waiting for the lock
        command, outcome = ledger.execute_now(lambda when: parse_command(do, fields, when),
                                              clock, mark=mark)
    else:
        command = parse_command(do, fields, at)
        outcome = ledger.execute(command, mark=mark)
    account = getattr(command, "account", None)
    return CommandResult(do, account, command.at, outcome.recorded, outcome.detail,
                         _state_after(ledger, account, command.at))


def _state_after(ledger: Ledger, account: str | None, at: datetime) -> ObservedState | None:
    if account is None:
        return None
    try:
        return ledger.state(account, as_of=at)
    except Exception as e:  # committed already: the receipt without the state
        log.warning("command recorded; its state could not be read", account=account,
                    error=type(e).__name__)
        return None


def receipt_of_committed(ledger: Ledger, do: str, account: str | None,
                         at: datetime) -> CommandResult:
    """The answer to a command known to be recorded whose answer was lost (its process
    died between the two): what was recorded, and the account's state now."""
    state = None if account is None else ledger.state(account, as_of=at)
    return CommandResult(do, account, at, True, {}, state)
