"""The account read model: entitlements, invoices, refunds, notices, privacy and balances.

A pure fold over stored events (`apply`), so the live projection, a rebuild from position
0 and an "as of position N" answer all run this one code path. Balances are never summed
here: they are read off the double-entry journal postings (`projections.journal`) that
each event produces, folded into per-ledger-account debit and credit totals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.account_state import PersonalState, PrepaidState, personal_data_gone
from domain.calendar import format_instant
from domain.money import format_amount
from projections import privacy_audit
from projections.documents import (
    AccountDoc,
    Balance,
    BalanceShown,
    InvoiceDoc,
    InvoiceRecord,
    InvoiceShown,
    InvoiceStatus,
    ObservedState,
    ScheduledChangeDoc,
    Status,
    SubscriptionDoc,
    Suspension,
    TrialDoc,
)
from projections.event_records import EventRecord, from_domain_event
from projections.journal import VAT_PAYABLE, Posting, postings_for

LIVE_ACCESS: frozenset[Status] = frozenset({"trial", "active", "pending_cancellation", "past_due"})
# FORMAT.md invoice `kind`: a subscription's first term and its renewals are both "term"
KIND_SHOWN = {"subscription": "term", "renewal": "term"}

Handler = Callable[[AccountDoc, EventRecord], None]


def new_doc(ref: str) -> AccountDoc:
    return {
        "ref": ref,
        "profile": None,
        "currency": None,
        "closed_at": None,
        "trial": None,
        "sub": None,
        "prepaid": [],
        "last_end": None,
        "past_due": False,
        "suspended": False,
        "vendor_suspended": False,
        "export_until": None,
        "invoices": [],
        "refunds": [],
        "notices": [],
        "privacy": {
            "personal_data": "present",
            "deletion_due_at": None,
            "erased_at": None,
            "records": [],
            "requests": [],
            "schedule": None,
            "financial_retention_years": 10,
            "last_financial_at": None,
        },
        "ledger": {},
    }


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(value: str | datetime) -> str:
    if isinstance(value, str):
        return value  # records carry instants as ISO-8601 Z text already
    return format_instant(value)


def apply(doc: AccountDoc, event: object) -> AccountDoc:
    """Fold one account event (a record, or a domain event) into `doc`."""
    fold(doc, from_domain_event(event))
    return doc


def fold(doc: AccountDoc, event: EventRecord) -> list[Posting]:
    """Fold one event record into `doc`; returns the journal postings it made."""
    name = event.event_type
    handler = _HANDLERS.get(name)
    if handler is not None:
        handler(doc, event)
    audit = PROCESSING.get(name)
    if audit is not None:
        what, basis, actor = audit
        doc["privacy"]["records"].append(
            {"what": what, "at": _iso(event.at), "basis": basis, "actor": actor}
        )
    postings = postings_for(event)
    for posting in postings:
        _post(doc, posting)
    privacy_audit.on_event(doc, event, bool(postings))
    return postings


def _post(doc: AccountDoc, posting: Posting) -> None:
    ledger = doc["ledger"]
    debit = ledger.setdefault(posting.debit, [0, 0])
    debit[0] += posting.amount
    credit = ledger.setdefault(posting.credit, [0, 0])
    credit[1] += posting.amount


def _invoice(doc: AccountDoc, n: int) -> InvoiceDoc:
    return _taxed(doc["invoices"][n - 1])


def _trial(doc: AccountDoc) -> TrialDoc:
    """The trial an event about a trial is about (folded from its `TrialStarted`)."""
    trial = doc["trial"]
    assert trial is not None, "a trial's event before the trial"
    return trial


def _sub(doc: AccountDoc) -> SubscriptionDoc:
    """The subscription an event about a subscription is about (from its `Subscribed`)."""
    sub = doc["sub"]
    assert sub is not None, "a subscription's event before the subscription"
    return sub


def _taxed(invoice: InvoiceDoc) -> InvoiceDoc:
    """An invoice row with its SPEC 2.0 fields: rows folded before them (a read model
    not rebuilt since) were issued without a tax table, so net = amount, tax 0."""
    if "net" not in invoice:
        invoice.update(
            {
                "net": invoice["amount"],
                "tax": 0,
                "tax_rate": "0",
                "tax_category": None,
                "country": None,
                "plan": None,
                "term": None,
                "credit_notes": [],
                "refunded": 0,
            }
        )
    return invoice


def _registered(doc: AccountDoc, e: EventRecord) -> None:
    doc["profile"] = e.profile["name"]
    doc["currency"] = e.currency
    doc["registered_at"] = _iso(e.at)


def _trial_started(doc: AccountDoc, e: EventRecord) -> None:
    doc["trial"] = {
        "plan": e.plan,
        "started_at": _iso(e.at),
        "ends_at": _iso(e.ends_at),
        "live": True,
    }


def _trial_ended(doc: AccountDoc, e: EventRecord) -> None:
    trial = _trial(doc)
    trial["live"] = False
    trial["outcome"] = e.outcome
    if e.outcome != "converted":
        doc["last_end"] = "trial_expired"


def _subscribed(doc: AccountDoc, e: EventRecord) -> None:
    doc["sub"] = {
        "plan": e.plan,
        "term": e.term,
        "method": e.method,
        "live": True,
        "term_end": _iso(e.term_end),
        "ends_at": None,
        "cancelled": False,
    }


def _renewed(doc: AccountDoc, e: EventRecord) -> None:
    _sub(doc)["term_end"] = _iso(e.term_end)


def _cancellation(doc: AccountDoc, e: EventRecord) -> None:
    sub = _sub(doc)
    sub["cancelled"] = True
    sub["ends_at"] = _iso(e.ends_at)


def _sub_ended(doc: AccountDoc, e: EventRecord) -> None:
    sub = _sub(doc)
    sub["live"] = False
    sub["scheduled"] = None
    doc["last_end"] = "ended"


def _prepaid_purchased(doc: AccountDoc, e: EventRecord) -> None:
    doc["prepaid"].append(
        {
            "plan": e.plan,
            "months": e.months,
            "starts_at": _iso(e.starts_at),
            "ends_at": _iso(e.ends_at),
            "state": "queued" if e.queued else "active",
        }
    )


def _prepaid_state(state: PrepaidState) -> Handler:
    def handler(doc: AccountDoc, e: EventRecord) -> None:
        doc["prepaid"][e.index]["state"] = state
        if state == "ended" and not any(p["state"] == "active" for p in doc["prepaid"]):
            doc["last_end"] = "ended"

    return handler


def _invoice_issued(doc: AccountDoc, e: EventRecord) -> None:
    """TAX-1, TAX-2: the document's net, tax, rate, category and the buyer's country, as
    recorded when it was issued (events stored before: no tax table)."""
    plan, term = e.get("plan"), e.get("term")
    if plan is None:  # recorded before invoices named their plan: what was live then
        sub = doc["sub"]
        if e.kind == "prepaid":
            plan = (
                doc["prepaid"][-1]["plan"]
                if doc["prepaid"]
                else None
                if sub is None
                else sub["plan"]
            )
            term = "prepaid"
        else:
            plan, term = (None, None) if sub is None else (sub["plan"], sub["term"])
    tax = e.get("tax", 0)
    doc["invoices"].append(
        {
            "n": e.n,
            "issued_at": _iso(e.at),
            "due_at": _iso(e.due_at),
            "amount": e.amount,
            "paid": 0,
            "overdue": False,
            "disputed": False,
            "void": False,
            "kind": e.kind,
            "period_start": _iso(e.period_start),
            "period_end": _iso(e.period_end),
            "net": e.amount - tax,
            "tax": tax,
            "tax_rate": e.get("tax_rate", "0"),
            "tax_category": e.get("tax_category"),
            "country": e.get("country"),
            "plan": plan,
            "term": term,
            "credit_notes": [],
            "refunded": 0,
        }
    )
    net = e.list_price - e.discount  # catalog prices are net
    live = doc["sub"]
    if e.kind in ("subscription", "renewal") and live is not None and live["live"]:
        live["price"] = net  # the term's price: MRR (projections/mrr_movements.py)
    elif e.kind == "prepaid" and doc["prepaid"]:
        doc["prepaid"][-1]["price"] = net


def _plan_changed(doc: AccountDoc, e: EventRecord) -> None:
    """CHANGE-2 (an upgrade, in force now) and CHANGE-3 (a scheduled change, at E)."""
    sub = _sub(doc)
    sub["plan"] = e.plan
    sub["term"] = e.term
    sub["scheduled"] = None
    if e.event_type == "PlanChanged":
        sub["price"] = e.price


def _change_scheduled(doc: AccountDoc, e: EventRecord) -> None:
    _sub(doc)["scheduled"] = {"plan": e.plan, "term": e.term, "at": _iso(e.effective_at)}


def _scheduled_change_removed(doc: AccountDoc, _e: EventRecord) -> None:
    _sub(doc)["scheduled"] = None


def _cancellation_revoked(doc: AccountDoc, _e: EventRecord) -> None:
    sub = _sub(doc)
    sub["cancelled"] = False
    sub["ends_at"] = None


def _vendor_suspension(on: bool) -> Handler:
    def handler(doc: AccountDoc, _e: EventRecord) -> None:
        doc["vendor_suspended"] = on  # VENDOR-1

    return handler


def _terminated(doc: AccountDoc, e: EventRecord) -> None:
    doc["export_until"] = _iso(e.export_until)  # VENDOR-2
    doc["last_end"] = "ended"


def _accelerated(doc: AccountDoc, e: EventRecord) -> None:
    _invoice(doc, e.n)["due_at"] = _iso(e.due_at)  # VENDOR-3


def _collection_failed(doc: AccountDoc, e: EventRecord) -> None:
    _invoice(doc, e.n)["due_at"] = _iso(e.due_at)


def _allocated(doc: AccountDoc, e: EventRecord) -> None:
    for cid, part in e.allocations:
        if cid.startswith("inv:"):
            _invoice(doc, int(cid[4:]))["paid"] += part


def _overdue(doc: AccountDoc, e: EventRecord) -> None:
    _invoice(doc, e.n)["overdue"] = True
    doc["past_due"] = True


def _suspended(doc: AccountDoc, _e: EventRecord) -> None:
    doc["suspended"] = True


def _arrears_cleared(doc: AccountDoc, _e: EventRecord) -> None:
    doc["past_due"] = False
    doc["suspended"] = False


def _disputed(doc: AccountDoc, e: EventRecord) -> None:
    _invoice(doc, e.n)["disputed"] = True


def _credit_note(doc: AccountDoc, e: EventRecord) -> None:
    """TAX-4: a credit note lowers amount, net and tax by its own split."""
    invoice = _invoice(doc, e.n)
    tax = e.get("tax", 0)
    invoice["amount"] -= e.amount
    invoice["net"] -= e.amount - tax
    invoice["tax"] -= tax
    invoice["credit_notes"].append(
        {
            "at": _iso(e.at),
            "amount": e.amount,
            "net": e.amount - tax,
            "tax": tax,
            "reason": e.reason,
        }
    )
    if invoice["amount"] == 0:
        invoice["void"] = True


def _refund(doc: AccountDoc, e: EventRecord) -> None:
    doc["refunds"].append({"amount": e.amount, "at": _iso(e.at), "n": e.n})
    if not 1 <= e.n <= len(doc["invoices"]):
        return  # money returned that no invoice received (credit)
    invoice = _invoice(doc, e.n)
    invoice["refunded"] += e.amount
    if e.returns == "overpayment":  # money received on it given back: paid + returned
        invoice["paid"] -= e.amount  # is what was received (its document shows both)
        invoice["returned"] = invoice.get("returned", 0) + e.amount


def _credit_waived(doc: AccountDoc, e: EventRecord) -> None:
    """ACCOUNT-3 (1.1): the balance's credit drops through the journal posting; the view
    keeps when and how much, for the account's history."""
    doc.setdefault("credit_waived", []).append({"amount": e.amount, "at": _iso(e.at)})


def _notice(doc: AccountDoc, e: EventRecord) -> None:
    doc["notices"].append(
        {
            "kind": e.kind,
            "sent_at": _iso(e.at),
            "effective_at": _iso(e.effective_at),
            "channel": e.channel,
        }
    )


def _closed(doc: AccountDoc, e: EventRecord) -> None:
    doc["closed_at"] = _iso(e.at)


def _deletion_requested(doc: AccountDoc, e: EventRecord) -> None:
    doc["privacy"]["deletion_due_at"] = _iso(e.due_at)


def _privacy_state(state: PersonalState) -> Handler:
    def handler(doc: AccountDoc, e: EventRecord) -> None:
        privacy = doc["privacy"]
        privacy["personal_data"] = state
        if personal_data_gone(state):
            privacy["erased_at"] = _iso(e.at)

    return handler


# GDPR-6: every processing of personal data, with its legal basis and who caused it.
# (event name -> what, legal basis, actor).
PROCESSING: dict[str, tuple[str, str, str]] = {
    "Registered": ("registration", "contract (GDPR art. 6(1)(b))", "customer"),
    "PersonalDataUpdated": ("update", "contract (GDPR art. 6(1)(b))", "customer"),
    "PersonalDataExported": ("export", "right of access (GDPR art. 15)", "customer"),
    "DataDeletionRequested": ("deletion_request", "right to erasure (GDPR art. 17)", "customer"),
    "NoticeSent": (
        "disclosure: notice to the customer's email",
        "contract (GDPR art. 6(1)(b))",
        "system",
    ),
    "NoticeDelivered": (
        "use of the email address: a notice sent",
        "contract (GDPR art. 6(1)(b))",
        "system",
    ),
    "PersonalDataSoftDeleted": ("soft_delete", "storage limitation (GDPR art. 5(1)(e))", "system"),
    "PersonalDataAnonymised": ("anonymisation", "storage limitation (GDPR art. 5(1)(e))", "system"),
    "PersonalDataErased": (
        "erasure",
        "right to erasure / storage limitation (GDPR art. 17)",
        "system",
    ),
    "InvoiceIdentityRetained": (
        "retention of the invoice identity (billing name, address)",
        "legal obligation: accounting law (GDPR art. 6(1)(c))",
        "system",
    ),
    "InvoiceIdentityErased": (
        "erasure of the invoice identity",
        "storage limitation (GDPR art. 5(1)(e))",
        "system",
    ),
}

_HANDLERS: dict[str, Handler] = {
    "Registered": _registered,
    "TrialStarted": _trial_started,
    "TrialEnded": _trial_ended,
    "Subscribed": _subscribed,
    "Renewed": _renewed,
    "CancellationRequested": _cancellation,
    "SubscriptionEnded": _sub_ended,
    "PrepaidPurchased": _prepaid_purchased,
    "PrepaidStarted": _prepaid_state("active"),
    "PrepaidEnded": _prepaid_state("ended"),
    "QueuedPrepaidCancelled": _prepaid_state("cancelled"),
    "InvoiceIssued": _invoice_issued,
    "CollectionFailed": _collection_failed,
    "PaymentReceived": _allocated,
    "CreditApplied": _allocated,
    "InvoiceOverdue": _overdue,
    "AccessSuspended": _suspended,
    "ArrearsCleared": _arrears_cleared,
    "InvoiceDisputed": _disputed,
    "CreditNoteIssued": _credit_note,
    "RefundIssued": _refund,
    "CreditWaived": _credit_waived,
    "NoticeSent": _notice,
    "AccountClosed": _closed,
    "DataDeletionRequested": _deletion_requested,
    "PersonalDataSoftDeleted": _privacy_state("soft_deleted"),
    "PersonalDataAnonymised": _privacy_state("anonymised"),
    "PersonalDataErased": _privacy_state("erased"),
    "ErasureCancelled": _privacy_state("present"),
    # 2.0, sections 10-11
    "PlanChanged": _plan_changed,
    "PlanChangeScheduled": _change_scheduled,
    "ScheduledChangeRemoved": _scheduled_change_removed,
    "ScheduledChangeApplied": _plan_changed,
    "CancellationRevoked": _cancellation_revoked,
    "SuspendedByVendor": _vendor_suspension(True),
    "ReinstatedByVendor": _vendor_suspension(False),
    "TerminatedByVendor": _terminated,
    "InvoiceAccelerated": _accelerated,
}


# ---------------------------------------------------------------- observed state
def _balance(doc: AccountDoc) -> Balance:
    ledger = doc["ledger"]

    def debit_balance(name: str) -> int:
        d, c = ledger.get(name, [0, 0])
        return int(d - c)

    def totals(name: str) -> tuple[int, int]:
        d, c = ledger.get(name, [0, 0])
        return int(d), int(c)

    principal = debit_balance("receivable:principal")
    interest = debit_balance("receivable:interest")
    fees = debit_balance("receivable:fees")
    cash_in, cash_out = totals("cash")
    _, invoiced_net = totals("revenue:deferred")
    credit_notes, _ = totals("revenue:credit_notes")
    vat_credited, vat_invoiced = totals(VAT_PAYABLE)
    return {  # invoiced: what the invoices ask, gross, after credit notes (TAX-1)
        "invoiced": invoiced_net - credit_notes + vat_invoiced - vat_credited,
        "paid": cash_in,
        "refunded": cash_out,
        "credit": -debit_balance("liability:customer_credit"),
        "outstanding": principal + interest + fees,
        "principal": principal,
        "interest": interest,
        "fees": fees,
    }


def _shown_balance(b: Balance) -> BalanceShown:
    return {
        "invoiced": format_amount(b["invoiced"]),
        "paid": format_amount(b["paid"]),
        "refunded": format_amount(b["refunded"]),
        "credit": format_amount(b["credit"]),
        "outstanding": format_amount(b["outstanding"]),
        "principal": format_amount(b["principal"]),
        "interest": format_amount(b["interest"]),
        "fees": format_amount(b["fees"]),
    }


def status_of(doc: AccountDoc) -> Status:  # noqa: PLR0911 - a return per rung of the precedence
    """SPEC section 8: one status at a time, by precedence."""
    if doc["closed_at"] is not None:
        return "closed"
    if doc.get("vendor_suspended"):  # (2.0) VENDOR-1, on any open account
        return "suspended"
    trial = doc["trial"]
    sub = doc["sub"]
    live_trial = trial is not None and trial["live"]
    live_sub = sub if sub is not None and sub["live"] else None
    live_prepaid = any(p["state"] == "active" for p in doc["prepaid"])
    if not (live_trial or live_sub is not None or live_prepaid):
        return doc["last_end"] or "none"
    if doc["suspended"]:
        return "suspended"
    if doc["past_due"]:
        return "past_due"
    if live_sub is not None and live_sub["cancelled"]:
        return "pending_cancellation"
    return "trial" if live_trial else "active"


def _current(doc: AccountDoc) -> tuple[str | None, str | None, str | None]:
    """(plan, term, access_until) of what is live now, else the last known plan."""
    trial, sub = doc["trial"], doc["sub"]
    active = next((p for p in doc["prepaid"] if p["state"] == "active"), None)
    if sub is not None and sub["live"]:
        return sub["plan"], sub["term"], sub["ends_at"] or sub["term_end"]
    if active is not None:
        return active["plan"], "prepaid", active["ends_at"]
    if trial is not None and trial["live"]:
        return trial["plan"], None, trial["ends_at"]
    plan, term = _last_known(doc)
    return plan, term, None


def _last_known(doc: AccountDoc) -> tuple[str | None, str | None]:
    """(plan, term) of what was live last: a subscription, else a package, else a trial."""
    sub, prepaid, trial = doc["sub"], doc["prepaid"], doc["trial"]
    if sub is not None:
        return sub["plan"], sub["term"]
    if prepaid:
        return prepaid[-1]["plan"], "prepaid"
    if trial is not None:
        return trial["plan"], None
    return None, None


def _invoice_status(invoice: InvoiceDoc) -> InvoiceStatus:
    if invoice["void"]:
        return "void"
    if invoice["paid"] >= invoice["amount"]:
        return "paid"
    if invoice["disputed"]:
        return "disputed"
    if invoice["overdue"]:
        return "overdue"
    return "open"


def _suspension(doc: AccountDoc, status: Status) -> Suspension | None:
    """VENDOR-1: which suspension the status shows, "vendor" when both."""
    if status != "suspended":
        return None
    return "vendor" if doc.get("vendor_suspended") else "payment"


def _scheduled_change(doc: AccountDoc) -> ScheduledChangeDoc | None:
    sub = doc["sub"]
    if sub is None or not sub["live"]:
        return None
    scheduled = sub.get("scheduled")
    return None if scheduled is None else scheduled.copy()


def observe(doc: AccountDoc, as_of: datetime | None) -> ObservedState:
    """The observed account state of scenarios/FORMAT.md."""
    status = status_of(doc)
    plan, term, access_until = _current(doc)
    if status in ("closed", "ended", "trial_expired", "none"):
        access_until = None
    privacy = doc["privacy"]
    due = privacy["deletion_due_at"]
    erased_at = privacy["erased_at"]
    overdue = due is not None and (
        (erased_at is None and as_of is not None and as_of > _parse(due))
        or (erased_at is not None and _parse(erased_at) > _parse(due))
    )
    return {
        "status": status,
        "plan": plan,
        "term": term,
        "access": status in LIVE_ACCESS,
        "access_until": access_until,
        "balance": _shown_balance(_balance(doc)),
        "invoices": [_shown_invoice(_taxed(i)) for i in doc["invoices"]],
        "refunds": [{"amount": format_amount(r["amount"]), "at": r["at"]} for r in doc["refunds"]],
        "notices": [
            {"kind": n["kind"], "sent_at": n["sent_at"], "effective_at": n["effective_at"]}
            for n in doc["notices"]
        ],
        "privacy": {
            "personal_data": privacy["personal_data"],
            "deletion_due_at": due,
            "deletion_overdue": bool(overdue),
        },
        "scheduled_change": _scheduled_change(doc),  # 2.0: CHANGE-3
        "suspension": _suspension(doc, status),  # VENDOR-1
        "export_until": doc.get("export_until"),  # VENDOR-2
    }


def _shown_invoice(i: InvoiceDoc) -> InvoiceShown:
    """An invoice of the observed state (FORMAT.md, with SPEC 2.0's tax fields)."""
    return {
        "n": i["n"],
        "issued_at": i["issued_at"],
        "due_at": i["due_at"],
        "amount": format_amount(i["amount"]),
        "paid": format_amount(i["paid"]),
        "status": _invoice_status(i),
        "net": format_amount(i["net"]),
        "tax": format_amount(i["tax"]),
        "tax_rate": i["tax_rate"],
        "tax_category": i["tax_category"],
        "kind": KIND_SHOWN.get(i["kind"], i["kind"]),
    }


def invoice_record(doc: AccountDoc, n: int) -> InvoiceRecord | None:
    """Everything the ledger knows about invoice n, in clear, for its document (TAX-6):
    amounts in minor units (as issued, and now after credit notes), the tax terms fixed
    at issue, the buyer's country, the period, plan and term, its credit notes and what
    was paid and refunded (`returned`: the refunds of money received on it, after a credit
    note; `paid` is net of them). None when the account has no invoice n. The buyer's
    identity is not here: it is sealed (GDPR-3; `Ledger.invoice_identities`)."""
    if not 1 <= n <= len(doc["invoices"]):
        return None
    i = _taxed(doc["invoices"][n - 1])
    notes = i["credit_notes"]
    return {
        "n": i["n"],
        "kind": KIND_SHOWN.get(i["kind"], i["kind"]),
        "issued_kind": i["kind"],
        "issued_at": i["issued_at"],
        "due_at": i["due_at"],
        "period_start": i["period_start"],
        "period_end": i["period_end"],
        "plan": i["plan"],
        "term": i["term"],
        "currency": doc["currency"],
        "country": i["country"],
        "tax_rate": i["tax_rate"],
        "tax_category": i["tax_category"],
        "reverse_charge": i["tax_category"] == "AE",
        "issued": {
            "amount": i["amount"] + sum(c["amount"] for c in notes),
            "net": i["net"] + sum(c["net"] for c in notes),
            "tax": i["tax"] + sum(c["tax"] for c in notes),
        },
        "amount": i["amount"],
        "net": i["net"],
        "tax": i["tax"],
        "credit_notes": [c.copy() for c in notes],
        "paid": i["paid"],
        "refunded": i["refunded"],
        "returned": i.get("returned", 0),
        "status": _invoice_status(i),
        "disputed": i["disputed"],
        "void": i["void"],
    }
