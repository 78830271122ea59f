"""One declaration per command: everything the outside says about it, in one place.

From each `Declaration` below are derived:

- the scenario vocabulary (`do`, scenarios/FORMAT.md) and `parse_command`, which turns its
  fields into the typed command of `domain/commands.py` (each field bounded by
  `domain/bounds.py`, `fields.py`);
- the CLI subcommand (`record-payment ACCOUNT --amount ... --reference ...`), its help and
  its options' help (`infra/entrypoints/cli/main.py`);
- the HTTP route (`POST path`), its OpenAPI request body, summary and status, and the API
  key scope it needs (`infra/entrypoints/http/app.py`): `write` for the customer's
  commands, `privacy` for GDPR requests, `operator` for the vendor's own (SPEC section 11).

The command's handler is registered next to the others in
`infra/application/handlers.py` (`HANDLERS`). Adding a command: a dataclass in
`domain/commands.py`, a method on the aggregate, a declaration here, a handler, tests
(ARCHITECTURE.md shows the whole diff of one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import commands as c
from domain.errors import invalid
from infra.interface.fields import (
    ACCOUNT,
    ADDRESS,
    AMOUNT_FIELD,
    BIRTH_DATE,
    CHANNEL,
    COUNTRY,
    DISCOUNT_PERCENT,
    DISPUTE_REASON,
    EFFECTIVE_AT,
    EMAIL,
    EXPORT_DAYS,
    INVOICE,
    MONTHS,
    NAME,
    NEW_ACCOUNT,
    NEW_PRICE,
    OPERATOR_REASON,
    PAYMENT_METHOD,
    PHONE,
    PLAN,
    REFERENCE,
    TERM,
    VAT_ID,
    Field,
)


class Scope(StrEnum):
    """What an HTTP API key may do (`subledger apikey create --scope`)."""

    READ = "read"  # state, events, invoices, journal, reports
    WRITE = "write"  # the customer's commands
    PRIVACY = "privacy"  # GDPR: exports, erasure requests, the privacy report
    OPERATOR = "operator"  # the vendor's own commands: suspend, terminate (SPEC section 11)


@dataclass(frozen=True)
class Declaration:
    do: str  # the scenario name; the CLI's is `do` with dashes
    command: type[c.Command]
    summary: str  # the CLI's help line; the HTTP summary, capitalised
    fields: tuple[Field, ...]
    path: str | None  # POST path; None: no POST (the GDPR export is a GET of its own)
    scope: Scope = Scope.WRITE
    created: bool = False  # HTTP 201 and a Location
    at_least_one: tuple[str, ...] = ()  # of the optional fields, one must be given

    @property
    def cli_name(self) -> str:
        return self.do.replace("_", "-")

    @property
    def path_fields(self) -> frozenset[str]:
        """The fields the HTTP path carries (`{account}`), not the body."""
        return frozenset(p.strip("{}") for p in (self.path or "").split("/") if p.startswith("{"))

    @property
    def http_summary(self) -> str:
        needs = "" if self.scope is Scope.WRITE else f"; needs the {self.scope} scope"
        return self.summary[:1].upper() + self.summary[1:] + needs

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def parse(self, fields: Mapping[str, Any], at: datetime) -> c.Command:
        """The typed command; unknown, missing and malformed fields are `invalid_input`
        naming the field. `fields` excludes `do` and `at`; a null is not given."""
        names = [f.name for f in self.fields]
        unknown = sorted(set(fields) - set(names))
        if unknown:
            raise invalid(f"{self.do} has no field(s) {', '.join(unknown)}", unknown[0])
        values: dict[str, Any] = {}
        for f in self.fields:
            if fields.get(f.name) is None:
                if f.required:
                    raise invalid(f"{self.do} needs {f.name}", f.name)
                continue
            values[f.name] = f.parse(fields[f.name], f.name)
        if self.at_least_one and not set(values) & set(self.at_least_one):
            raise invalid(
                f"{self.do} needs at least one of {', '.join(self.at_least_one)}",
                self.at_least_one[0],
            )
        return self.command(at=at, **values)


def _declare(
    do: str,
    command: type[c.Command],
    summary: str,
    path: str | None,
    *fields: Field,
    **options: Any,
) -> Declaration:
    return Declaration(do, command, summary, fields, path, **options)


DECLARATIONS: tuple[Declaration, ...] = (
    _declare(
        "register_account",
        c.RegisterAccount,
        "register a customer account and its (sealed) personal data (ACCOUNT-1, ACCOUNT-2)",
        "/accounts",
        NEW_ACCOUNT,
        NAME,
        EMAIL,
        PHONE.optional(),
        ADDRESS.optional(),
        BIRTH_DATE.optional(),
        COUNTRY.optional(),
        VAT_ID.optional(),
        created=True,
    ),
    _declare(
        "start_trial",
        c.StartTrial,
        "start the account's one free trial on a plan (TRIAL-1..5)",
        "/accounts/{account}/trial",
        ACCOUNT,
        PLAN,
    ),
    _declare(
        "subscribe",
        c.Subscribe,
        "subscribe to a plan and term; the first term is invoiced at once (TERM-1..5)",
        "/accounts/{account}/subscription",
        ACCOUNT,
        PLAN,
        TERM,
        PAYMENT_METHOD,
        DISCOUNT_PERCENT.optional(),
    ),
    _declare(
        "purchase_prepaid",
        c.PurchasePrepaid,
        "buy a prepaid package of N months (device-cloud, TERM-6)",
        "/accounts/{account}/prepaid",
        ACCOUNT,
        PLAN,
        MONTHS,
        PAYMENT_METHOD,
    ),
    _declare(
        "cancel_queued",
        c.CancelQueued,
        "cancel queued prepaid packages for a full refund (TERM-6)",
        "/accounts/{account}/prepaid/cancellation",
        ACCOUNT,
    ),
    _declare(
        "record_payment",
        c.RecordPayment,
        "book money received; a reference already booked is a no-op (PAY-1..4)",
        "/accounts/{account}/payments",
        ACCOUNT,
        AMOUNT_FIELD,
        REFERENCE,
    ),
    _declare(
        "record_collection_cost",
        c.RecordCollectionCost,
        "add collection costs paid by the vendor (PAY-5)",
        "/accounts/{account}/collection-costs",
        ACCOUNT,
        AMOUNT_FIELD,
    ),
    _declare(
        "dispute_invoice",
        c.DisputeInvoice,
        "dispute invoice N within the dispute window (PAY-6)",
        "/accounts/{account}/invoices/{invoice}/dispute",
        ACCOUNT,
        INVOICE,
        DISPUTE_REASON,
    ),
    _declare(
        "request_cancellation",
        c.RequestCancellation,
        "stop auto-renewal; access runs to the term end (CANCEL-1..4)",
        "/accounts/{account}/cancellation",
        ACCOUNT,
    ),
    _declare(
        "announce_price_change",
        c.AnnouncePriceChange,
        "announce a new price; notifies every subscriber (PRICE-1..4, NOTICE-1)",
        "/price-changes",
        PLAN,
        TERM,
        NEW_PRICE,
        EFFECTIVE_AT,
        CHANNEL.optional(),
    ),
    _declare(
        "record_activity",
        c.RecordActivity,
        "record customer activity (the inactivity clock, ACCOUNT-3)",
        "/accounts/{account}/activity",
        ACCOUNT,
    ),
    _declare(
        "update_personal_data",
        c.UpdatePersonalData,
        "change name, email, phone, address, country or VAT id (ACCOUNT-1; TAX-2: "
        "later documents follow)",
        "/accounts/{account}/personal-data",
        ACCOUNT,
        NAME.optional(),
        EMAIL.optional(),
        PHONE.optional(),
        ADDRESS.optional(),
        COUNTRY.optional(),
        VAT_ID.optional(),
        at_least_one=("name", "email", "phone", "address", "country", "vat_id"),
    ),
    _declare(
        "request_account_closure",
        c.RequestAccountClosure,
        "close the account at the customer's request (ACCOUNT-4)",
        "/accounts/{account}/closure",
        ACCOUNT,
    ),
    _declare(
        "request_data_deletion",
        c.RequestDataDeletion,
        "request erasure of the personal data (GDPR-1)",
        "/accounts/{account}/deletion-request",
        ACCOUNT,
        scope=Scope.PRIVACY,
    ),
    # GDPR-4: answered with a document; over HTTP `GET /accounts/{account}/personal-data`
    _declare(
        "export_personal_data",
        c.ExportPersonalData,
        "print everything held about the customer as JSON (GDPR-4)",
        None,
        ACCOUNT,
        scope=Scope.PRIVACY,
    ),
    _declare(
        "change_plan",
        c.ChangePlan,
        "change plan or term: an upgrade now with a proration invoice (CHANGE-2), a "
        "downgrade or term change at the next renewal (CHANGE-3)",
        "/accounts/{account}/plan-change",
        ACCOUNT,
        PLAN,
        TERM.optional(),
    ),
    _declare(
        "revoke_cancellation",
        c.RevokeCancellation,
        "withdraw a pending cancellation; auto-renewal is restored (CHANGE-4)",
        "/accounts/{account}/cancellation/revocation",
        ACCOUNT,
    ),
    # the vendor's own commands (SPEC section 11): the operator scope, never `write`
    _declare(
        "suspend_account",
        c.SuspendAccount,
        "the vendor suspends access at once; billing goes on (VENDOR-1)",
        "/accounts/{account}/suspension",
        ACCOUNT,
        OPERATOR_REASON,
        scope=Scope.OPERATOR,
    ),
    _declare(
        "reinstate_account",
        c.ReinstateAccount,
        "the vendor ends its suspension (VENDOR-1)",
        "/accounts/{account}/reinstatement",
        ACCOUNT,
        scope=Scope.OPERATOR,
    ),
    _declare(
        "terminate_by_vendor",
        c.TerminateByVendor,
        "the vendor ends the contract now, no refund; data export stays open for "
        "export_days days, 30 unless given (VENDOR-2)",
        "/accounts/{account}/termination",
        ACCOUNT,
        OPERATOR_REASON,
        EXPORT_DAYS.optional(),
        scope=Scope.OPERATOR,
    ),
    _declare(
        "cancel_for_nonpayment",
        c.CancelForNonpayment,
        "cancel the contract for an overdue invoice (annual-b2b) with liquidated "
        "damages; other invoices fall due at once (VENDOR-3)",
        "/accounts/{account}/nonpayment-cancellation",
        ACCOUNT,
        scope=Scope.OPERATOR,
    ),
)

VOCABULARY: dict[str, Declaration] = {d.do: d for d in DECLARATIONS}
_BY_CLASS: dict[type[c.Command], Declaration] = {d.command: d for d in DECLARATIONS}


def parse_command(do: str, fields: Mapping[str, Any], at: datetime) -> c.Command:
    """Build a typed command from the vocabulary; `fields` excludes `do` and `at`."""
    declaration = VOCABULARY.get(do)
    if declaration is None:
        raise invalid(f"unknown command {do!r}; known: {', '.join(VOCABULARY)}", "do")
    return declaration.parse(fields, at)


def declaration_of(command: c.Command) -> Declaration:
    return _BY_CLASS[type(command)]
