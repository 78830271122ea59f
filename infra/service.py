"""The one way a command in the scenario vocabulary is run, for every entry point.

The CLI and the HTTP API both hand raw fields to `run_command`: `parse_command` validates
them (the rules of `domain/commands.py`), the ledger executes, and the caller gets what
was recorded and the state it left. Neither front end knows a rule of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.commands import parse_command
from domain.errors import invalid
from infra import cli_output as out
from infra.ledger import Ledger

QUERIES = frozenset({"export_personal_data"})  # answered with a document, not a receipt


@dataclass(frozen=True)
class CommandResult:
    do: str
    account: str | None
    at: datetime
    recorded: bool
    detail: dict[str, Any]
    state: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = out.plain(out.confirmation_json(
            self.do, self.account, self.at, self.recorded, self.detail, self.state))
        return doc

    def as_text(self) -> str:
        return out.confirmation(self.do, self.account, self.at, self.recorded, self.detail,
                                self.state)


def run_command(ledger: Ledger, do: str, fields: dict[str, Any], at: datetime, *,
                mark: tuple[str, str] | None = None) -> CommandResult:
    """Validate, execute, and read the account's state as of the command's instant.
    `mark`: the HTTP request it answers (see `Ledger.execute`)."""
    if do in QUERIES:
        raise invalid(f"{do} is a query: it answers with a document", "do")
    command = parse_command(do, fields, at)
    outcome = ledger.execute(command, mark=mark)
    account = getattr(command, "account", None)
    state = None if account is None else ledger.state(account, as_of=at)
    return CommandResult(do, account, at, outcome.recorded, outcome.detail, state)


def receipt_of_committed(ledger: Ledger, do: str, account: str | None,
                         at: datetime) -> CommandResult:
    """The answer to a command known to be recorded whose answer was lost (its process
    died between the two): what was recorded, and the account's state now."""
    state = None if account is None else ledger.state(account, as_of=at)
    return CommandResult(do, account, at, True, {}, state)
