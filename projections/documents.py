"""The shapes of the read models: the account view's document, the observed state it
answers with, the journal's lines and the finance reports' rows.

The documents are stored as JSON (`account_views.doc`) and rebuilt by folding events,
so these are `TypedDict`s of JSON values: instants are ISO-8601 text ending in Z, amounts
integer minor units (in the document) or two-place decimal strings (in the observed state,
SPEC section 0). States are `Literal` strings, the same values the documents store.

Documents folded by older code may lack keys added since (`vendor_suspended`,
`export_until`, an invoice's tax fields): the fold reads those with `.get` or fills them
(`account_view._taxed`), so they are `NotRequired` here only where a current fold may
leave them out, and required where a current fold always writes them.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypeAlias, TypedDict

from domain.account_state import InvoiceKind, PersonalState, PrepaidState

# SPEC section 8: one status at a time, by precedence.
Status: TypeAlias = Literal[
    "none",
    "trial",
    "trial_expired",
    "active",
    "pending_cancellation",
    "past_due",
    "suspended",
    "ended",
    "closed",
]
InvoiceStatus: TypeAlias = Literal["open", "paid", "overdue", "disputed", "void"]
LastEnd: TypeAlias = Literal["trial_expired", "ended"]  # how the last live thing ended
Suspension: TypeAlias = Literal["vendor", "payment"]  # VENDOR-1: which one the status shows
# What the privacy schedule does next: GDPR-2's erasure or anonymisation, or the path a
# vendor termination sets off at the end of its export window (VENDOR-2).
PrivacyAction: TypeAlias = Literal["erase", "anonymise", "soft_delete", "schedule_erasure"]
IdentityState: TypeAlias = Literal["present", "retained", "erased"]  # GDPR-3
# How an account's MRR moved in a month (projections/mrr_movements.py).
Movement: TypeAlias = Literal["new", "expansion", "contraction", "churn", "reactivation"]
# The keys of `ObservedState`, for code that picks some of them by name (a downstream
# cache's `ACCESS_KEYS`): indexing the state with one of these type-checks.
ObservedKey: TypeAlias = Literal[
    "status",
    "plan",
    "term",
    "access",
    "access_until",
    "balance",
    "invoices",
    "refunds",
    "notices",
    "privacy",
    "scheduled_change",
    "suspension",
    "export_until",
]
# Per ledger account of the journal: [debits, credits], integer minor units.
LedgerTotals: TypeAlias = dict[str, list[int]]


# ------------------------------------------------------------------ the account view
class TrialDoc(TypedDict):
    plan: str
    started_at: str
    ends_at: str
    live: bool
    outcome: NotRequired[str]  # once ended: "expired", "converted", "cancelled", ...


class ScheduledChangeDoc(TypedDict):  # CHANGE-3
    plan: str
    term: str
    at: str


class SubscriptionDoc(TypedDict):
    plan: str
    term: str
    method: str
    live: bool
    term_end: str
    ends_at: str | None  # a cancellation's end of access
    cancelled: bool
    scheduled: NotRequired[ScheduledChangeDoc | None]
    price: NotRequired[int]  # the term's net price, for MRR (after an upgrade, CHANGE-2)


class PrepaidDoc(TypedDict):  # TERM-6
    plan: str
    months: int
    starts_at: str
    ends_at: str
    state: PrepaidState
    price: NotRequired[int]


class CreditNoteDoc(TypedDict):  # TAX-4: gross `amount` = `net` + `tax`
    at: str
    amount: int
    net: int
    tax: int
    reason: str


class InvoiceDoc(TypedDict):
    """An invoice as the account view holds it: `amount`/`net`/`tax` after credit notes,
    `paid` net of the money returned after a credit note (`returned`)."""

    n: int
    issued_at: str
    due_at: str
    amount: int
    paid: int
    overdue: bool
    disputed: bool
    void: bool
    kind: InvoiceKind
    period_start: str
    period_end: str
    net: int
    tax: int
    tax_rate: str
    tax_category: str | None
    country: str | None
    plan: str | None
    term: str | None
    credit_notes: list[CreditNoteDoc]
    refunded: int
    returned: NotRequired[int]


class RefundDoc(TypedDict):
    amount: int
    at: str
    n: int  # 0: credit paid back, no invoice (ACCOUNT-3, ACCOUNT-6)


class NoticeDoc(TypedDict):
    kind: str
    sent_at: str
    effective_at: str
    channel: str


class CreditWaivedDoc(TypedDict):  # ACCOUNT-3 (1.1)
    amount: int
    at: str


class ProcessingRecord(TypedDict):  # GDPR-6
    what: str
    at: str
    basis: str
    actor: str


class DeletionRequestDoc(TypedDict):  # GDPR-1
    requested_at: str
    due_at: str
    completed_at: str | None


class RetentionScheduleDoc(TypedDict):  # GDPR-2, VENDOR-2
    action: PrivacyAction
    at: str
    reason: str


class InvoiceIdentityDoc(TypedDict):  # GDPR-3
    state: IdentityState
    retained_until: str | None
    reason: str | None
    erased_at: str | None


class ExportWindowDoc(TypedDict, total=False):  # VENDOR-2
    terminated_at: str
    export_until: str
    closed_at: str | None
    action: str | None  # ExportWindowClosed.action: a RetentionPath or "none"


class PrivacyDoc(TypedDict):
    personal_data: PersonalState
    deletion_due_at: str | None
    erased_at: str | None
    records: list[ProcessingRecord]
    requests: list[DeletionRequestDoc]
    schedule: RetentionScheduleDoc | None
    financial_retention_years: int
    last_financial_at: str | None
    invoice_identity: NotRequired[InvoiceIdentityDoc]
    export_window: NotRequired[ExportWindowDoc]


class AccountDoc(TypedDict):
    """One account's view (`account_views.doc`), folded by `account_view.fold`."""

    ref: str
    profile: str | None  # None until its `Registered` is folded
    currency: str | None
    registered_at: NotRequired[str]
    closed_at: str | None
    trial: TrialDoc | None
    sub: SubscriptionDoc | None
    prepaid: list[PrepaidDoc]
    last_end: LastEnd | None
    past_due: bool
    suspended: bool
    vendor_suspended: bool  # VENDOR-1
    export_until: str | None  # VENDOR-2
    invoices: list[InvoiceDoc]
    refunds: list[RefundDoc]
    notices: list[NoticeDoc]
    privacy: PrivacyDoc
    ledger: LedgerTotals
    credit_waived: NotRequired[list[CreditWaivedDoc]]


# ------------------------------------------------------------------ answers
class Balance(TypedDict):
    """Read off the journal (`account_view._balance`), integer minor units."""

    invoiced: int
    paid: int
    refunded: int
    credit: int
    outstanding: int
    principal: int
    interest: int
    fees: int


class BalanceShown(TypedDict):
    """The same balance as two-place decimal strings (SPEC section 0)."""

    invoiced: str
    paid: str
    refunded: str
    credit: str
    outstanding: str
    principal: str
    interest: str
    fees: str


class InvoiceShown(TypedDict):
    n: int
    issued_at: str
    due_at: str
    amount: str
    paid: str
    status: InvoiceStatus
    net: str
    tax: str
    tax_rate: str
    tax_category: str | None
    kind: str  # FORMAT.md: "term" for a first term or a renewal, else the invoice's kind


class RefundShown(TypedDict):
    amount: str
    at: str


class NoticeShown(TypedDict):
    kind: str
    sent_at: str
    effective_at: str


class PrivacyShown(TypedDict):
    personal_data: PersonalState
    deletion_due_at: str | None
    deletion_overdue: bool


class ObservedState(TypedDict):
    """The observed account state of scenarios/FORMAT.md (SPEC section 8)."""

    status: Status
    plan: str | None
    term: str | None
    access: bool
    access_until: str | None
    balance: BalanceShown
    invoices: list[InvoiceShown]
    refunds: list[RefundShown]
    notices: list[NoticeShown]
    privacy: PrivacyShown
    scheduled_change: ScheduledChangeDoc | None  # CHANGE-3
    suspension: Suspension | None  # VENDOR-1
    export_until: str | None  # VENDOR-2


class IssuedTotals(TypedDict):
    amount: int
    net: int
    tax: int


class InvoiceRecord(TypedDict):
    """Everything the ledger knows about one invoice, for its document (TAX-6)."""

    n: int
    kind: str
    issued_kind: InvoiceKind
    issued_at: str
    due_at: str
    period_start: str
    period_end: str
    plan: str | None
    term: str | None
    currency: str | None
    country: str | None
    tax_rate: str
    tax_category: str | None
    reverse_charge: bool
    issued: IssuedTotals
    amount: int
    net: int
    tax: int
    credit_notes: list[CreditNoteDoc]
    paid: int
    refunded: int
    returned: int
    status: InvoiceStatus
    disputed: bool
    void: bool


# ------------------------------------------------------------------ the GDPR audit
class AuditRecord(TypedDict):
    """One account's GDPR audit (`privacy_audit.audit`)."""

    account: str
    profile: str | None
    personal_data: PersonalState
    erased_at: str | None
    deletion_requests: list[AuditDeletionRequest]
    retention: RetentionScheduleDoc | None
    invoice_identity: InvoiceIdentityDoc
    financial_records_kept_until: str | None
    processing_records: list[ProcessingRecord]
    export_window: ExportWindowDoc | None


class AuditDeletionRequest(DeletionRequestDoc):
    overdue: bool


# ------------------------------------------------------------------ the journal
class JournalLine(TypedDict):
    """A journal line as the ledger answers it: `position` None for a line derived on
    the fly (revenue recognised day by day), not stored."""

    position: int | None
    line: int
    account: str
    at: str
    debit: str
    credit: str
    amount: int
    memo: str


class AccountTotals(TypedDict):
    debit: int
    credit: int
    net: int


class TrialBalance(TypedDict):
    lines: list[JournalLine]
    trial_balance: dict[str, AccountTotals]
    debits: int
    credits: int
    balanced: bool


# ------------------------------------------------------------------ finance reports
class SubscriptionsRow(TypedDict):
    plan: str
    term: str
    subscriptions: int


class MrrRow(TypedDict):
    plan: str
    mrr: int
    arr: int
    subscriptions: int


class ConversionRow(TypedDict):
    trials: int
    converted: int
    expired: int
    running: int
    conversion_percent: float | None  # a rate for people, rounded to 0.1; never money


class ChurnRow(TypedDict):
    month: str
    live_at_start: int
    churned: int
    churn_percent: float | None


class RevenueRow(TypedDict):
    month: str
    invoiced: int
    collected: int
    recognised: int


AgeingRow = TypedDict(
    "AgeingRow",
    {  # keys that are not identifiers: the functional form
        "as_of": str,
        "current": int,
        "1-30": int,
        "31-60": int,
        "61-90": int,
        "90+": int,
    },
)


class VatRow(TypedDict):
    """TAX-5. `documents`: the (account, n) of reverse-charge invoices, which the ledger
    replaces with `vat_ids` from the sealed invoice identities."""

    month: str
    country: str | None
    category: str | None
    rate: str
    invoices: int
    credit_notes: int
    net: int
    tax: int
    documents: NotRequired[list[tuple[str, int]]]
    vat_ids: NotRequired[list[str]]


class MrrMovementsRow(TypedDict):
    month: str
    opening: int
    new: int
    expansion: int
    contraction: int
    churn: int
    reactivation: int
    closing: int
    until: str


ReportRow: TypeAlias = (
    SubscriptionsRow
    | MrrRow
    | ConversionRow
    | ChurnRow
    | RevenueRow
    | AgeingRow
    | VatRow
    | MrrMovementsRow
)
