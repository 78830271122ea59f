"""SPEC 1.1: every sentence marked "(1.1)", checked against the pure `Account` aggregate.

Section 0's half-open restriction window, TERM-6 prepaid series, RENEW-3, PRICE-5,
ACCOUNT-3 (activity, closure before same-instant work, what a closure does to money),
ACCOUNT-5 (email comparison), ACCOUNT-6 (the exceptions on a closed account) and GDPR-2
(annual-b2b soft delete at a closure request). Test names carry the rule ID; the
store-level halves (the cooldown's keyed hash, the export's fields) are in
tests/integration/test_spec_1_1_ledger.py, and a store recorded by SPEC 1.0 code replays
in tests/integration/test_store_recorded_by_1_0.py.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any

import pytest
from account_kit import (
    ANNUAL_B2B,
    CRM_RETENTION,
    DEVICE_CLOUD,
    MONTHLY_AUTORENEW,
    Harness,
    t,
)

from domain.account import Account
from domain.activity import ACTIVITY_COMMANDS
from domain.email_cooldown import cooldown_ends, normalise_email, restricted
from domain.errors import ErrorCode, Rejected
from domain.pricing import PriceChange
from domain.profiles import Period, profile_from_record
from infra.config import profile_from_mapping
from projections.account_view import apply, new_doc, observe
from projections.journal import postings_for

T0 = "2026-01-05T09:00:00Z"  # a Monday


def view(h: Harness, as_of: str | None = None) -> dict[str, Any]:
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    return observe(doc, None if as_of is None else t(as_of))


def of(h: Harness, name: str) -> list[Any]:
    return h.named(name)


def one(h: Harness, name: str) -> Any:
    found = h.named(name)
    assert len(found) == 1, f"{name}: {len(found)} recorded, events {h.event_names()}"
    return found[0]


def journal(h: Harness) -> dict[str, int]:
    """Net (debit - credit) per ledger account over everything recorded."""
    net: dict[str, int] = {}
    for event in h.events:
        for p in postings_for(event):
            net[p.debit] = net.get(p.debit, 0) + p.amount
            net[p.credit] = net.get(p.credit, 0) - p.amount
    assert sum(net.values()) == 0
    return net


def replay(events: list[Any]) -> Account:
    account = None
    for event in events:
        account = event.mutate(account)
    assert isinstance(account, Account)
    return account


def rejects(h: Harness, code: ErrorCode, command: str, **kwargs: Any) -> None:
    with pytest.raises(Rejected) as caught:
        h.do(command, **kwargs)
    assert caught.value.code is code, caught.value.message
    assert h.account.collect_events() == []


# ================================================================ section 0
@pytest.mark.parametrize(
    ("at", "inside"),
    [
        ("2026-01-12T09:00:00Z", True),  # X itself
        ("2026-01-22T08:59:59Z", True),
        ("2026-01-22T09:00:00Z", False),  # exactly X + 10 days: no longer restricted
        ("2026-01-22T09:00:01Z", False),
    ],
)
def test_section0_restriction_is_the_half_open_window(at: str, inside: bool) -> None:
    """Section 0 (1.1): a restriction for N days after X is [X, X + N days)."""
    ends = cooldown_ends(t("2026-01-12T09:00:00Z"), 10)
    assert ends == t("2026-01-22T09:00:00Z")
    assert restricted(ends, t(at)) is inside


# ================================================================ TERM-6 series
def prepaid(months: list[int], at: str = "2026-01-31T10:00:00Z") -> Harness:
    h = Harness(DEVICE_CLOUD, at)
    for m in months:
        h.do("purchase_prepaid", plan="cloud", months=m, method="card", at=at)
    return h


def test_term_6_two_one_month_packages_from_jan_31_end_mar_31_like_one_two_month() -> None:
    """TERM-6 (1.1): two 1-month packages from Jan 31 end Feb 28 and Mar 31, exactly like
    one 2-month package (section 0: a series is never chained)."""
    two = prepaid([1, 1])
    ends = [(e.starts_at, e.ends_at, e.queued) for e in of(two, "PrepaidPurchased")]
    assert ends == [
        (t("2026-01-31T10:00:00Z"), t("2026-02-28T10:00:00Z"), False),
        (t("2026-02-28T10:00:00Z"), t("2026-03-31T10:00:00Z"), True),
    ]
    single = prepaid([2])
    assert one(single, "PrepaidPurchased").ends_at == t("2026-03-31T10:00:00Z")
    two.advance("2026-03-01T00:00:00Z")
    state = view(two)
    assert (state["status"], state["term"], state["access_until"]) == (
        "active",
        "prepaid",
        "2026-03-31T10:00:00Z",
    )
    assert [i["amount"] for i in state["invoices"]] == ["5.00", "5.00"]
    two.advance("2026-03-31T10:00:01Z")
    assert view(two)["status"] == "ended"


def test_term_6_k_th_package_ends_at_anchor_plus_months_of_packages_1_to_k() -> None:
    """TERM-6 (1.1): 1 + 2 + 1 months from Jan 31 end Feb 28, Apr 30 and May 31, each
    starting where the one before ends; bought one by one while the series runs."""
    h = prepaid([1])
    h.do("purchase_prepaid", plan="cloud", months=2, method="card", at="2026-02-10T00:00:00Z")
    h.advance("2026-03-15T00:00:00Z")  # package 1 has ended, package 2 runs
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-03-15T00:00:00Z")
    spans = [(e.starts_at, e.ends_at) for e in of(h, "PrepaidPurchased")]
    assert spans == [
        (t("2026-01-31T10:00:00Z"), t("2026-02-28T10:00:00Z")),
        (t("2026-02-28T10:00:00Z"), t("2026-04-30T10:00:00Z")),
        (t("2026-04-30T10:00:00Z"), t("2026-05-31T10:00:00Z")),
    ]
    h.advance("2026-05-01T00:00:00Z")
    assert view(h)["access_until"] == "2026-05-31T10:00:00Z"


def test_term_6_a_queue_that_empties_ends_the_series() -> None:
    """TERM-6 (1.1): once every package has ended, the next purchase starts a new series,
    anchored at its own instant."""
    h = prepaid([1])
    h.advance("2026-03-10T12:00:00Z")  # ended Feb 28
    assert view(h)["status"] == "ended"
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-03-10T12:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-03-11T12:00:00Z")
    spans = [(e.starts_at, e.ends_at, e.queued) for e in of(h, "PrepaidPurchased")][1:]
    assert spans == [
        (t("2026-03-10T12:00:00Z"), t("2026-04-10T12:00:00Z"), False),
        (t("2026-04-10T12:00:00Z"), t("2026-05-10T12:00:00Z"), True),
    ]


def test_term_6_a_cancelled_queued_package_is_no_part_of_the_series() -> None:
    """TERM-6 (1.1): cancel_queued takes the queued package out; the next one joins the
    running package's series."""
    h = prepaid([1, 2])
    h.do("cancel_queued", at="2026-02-01T00:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-02-02T00:00:00Z")
    last = of(h, "PrepaidPurchased")[-1]
    assert (last.starts_at, last.ends_at) == (t("2026-02-28T10:00:00Z"), t("2026-03-31T10:00:00Z"))


# ================================================================ RENEW-3
REMINDER = "2026-03-06T09:00:00Z"  # 30 days before the quarterly term's end (Apr 5)


@pytest.mark.parametrize(
    ("method", "cancel_at", "reminders"),
    [
        ("card", None, [REMINDER]),
        ("card", "2026-03-01T00:00:00Z", []),  # a pending cancellation: no renewal to warn of
        ("card", REMINDER, []),  # at exactly the reminder's instant: before that work runs
        ("card", "2026-03-07T00:00:00Z", [REMINDER]),  # sent before the cancellation: stays
        ("paypal", None, []),  # RENEW-2: a manual method ends at term end
    ],
)
def test_renew_3_reminder_only_for_a_term_that_will_renew(
    method: str, cancel_at: str | None, reminders: list[str]
) -> None:
    """RENEW-3 (1.1): a term that ends without renewal, by RENEW-2 or a pending
    cancellation, gets no reminder."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("subscribe", plan="basic", term="quarterly", method=method, at=T0)
    if cancel_at is not None:
        h.at_then(cancel_at, "request_cancellation")
    h.advance("2026-04-06T00:00:00Z")
    sent = [e.at for e in of(h, "NoticeSent") if e.kind == "renewal_reminder"]
    assert sent == [t(r) for r in reminders]
    renewed = bool(of(h, "Renewed"))
    assert renewed is (method == "card" and cancel_at is None)


# ================================================================ PRICE-5
ANNOUNCED = "2026-01-10T00:00:00Z"
EFFECTIVE = "2026-03-01T00:00:00Z"


def with_change(
    profile: Any = MONTHLY_AUTORENEW,
    *,
    plan: str = "basic",
    term: str = "monthly",
    new_price: int = 3500,
) -> Harness:
    change = PriceChange(plan, term, new_price, t(EFFECTIVE), 0, t(ANNOUNCED))
    return Harness(profile, T0, changes=[change])


def test_price_5_subscriber_after_the_announcement_is_told_at_once_by_email() -> None:
    """PRICE-5 (1.1): subscribing after the announcement and before effective_at records a
    price_change notice at the subscription instant, by email; PRICE-3 prices the terms:
    the first two monthly terms start before Mar 1 (29.00), the third after (35.00)."""
    h = with_change()
    got = h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-01-20T09:00:00Z")
    assert got[:2] == ["Subscribed", "InvoiceIssued"] and "NoticeSent" in got
    notice = one(h, "NoticeSent")
    assert (notice.kind, notice.at, notice.effective_at, notice.channel) == (
        "price_change",
        t("2026-01-20T09:00:00Z"),
        t("2026-01-20T09:00:00Z"),
        "email",
    )
    assert notice.details == {
        "plan": "basic",
        "term": "monthly",
        "new_price": 3500,
        "price_effective_at": "2026-03-01T00:00:00+00:00",
        "rule": "PRICE-5",
    }
    h.advance("2026-03-21T00:00:00Z")
    state = view(h)
    assert [(i["issued_at"], i["amount"]) for i in state["invoices"]] == [
        ("2026-01-20T09:00:00Z", "29.00"),
        ("2026-02-20T09:00:00Z", "29.00"),
        ("2026-03-20T09:00:00Z", "35.00"),
    ]
    assert state["notices"] == [
        {
            "kind": "price_change",
            "sent_at": "2026-01-20T09:00:00Z",
            "effective_at": "2026-01-20T09:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("at", "term", "told"),
    [
        (ANNOUNCED, "monthly", True),  # at the announcement's own instant, after it
        ("2026-02-28T23:59:59Z", "monthly", True),  # a second before: PRICE-2's minimum is moot
        (EFFECTIVE, "monthly", False),  # in force: the first term is at the new price
        ("2026-01-20T09:00:00Z", "quarterly", False),  # another term
        ("2026-01-09T23:59:59Z", "monthly", False),  # before the announcement
    ],
)
def test_price_5_who_is_told(at: str, term: str, told: bool) -> None:
    """PRICE-5 (1.1): only a subscription to that plan and term, between the announcement
    and effective_at; at effective_at the price is in force (PRICE-3)."""
    h = with_change()
    h.do("subscribe", plan="basic", term=term, method="card", at=at)
    assert bool(of(h, "NoticeSent")) is told
    first = one(h, "InvoiceIssued").amount
    assert first == {"monthly": 3500 if at == EFFECTIVE else 2900, "quarterly": 7500}[term]


@pytest.mark.parametrize(
    ("cancel_at", "rule", "stops"),
    [
        ("2026-02-19T09:00:00Z", "PRICE-4", True),  # 30 days after the subscription notice
        ("2026-02-19T09:00:01Z", "RENEW-4", False),
    ],
)
def test_price_5_b2b_opt_out_window_counts_from_this_notice(
    cancel_at: str, rule: str, stops: bool
) -> None:
    """PRICE-5 (1.1) with PRICE-4: the annual-b2b opt-out window counts from the notice of
    the subscription instant. (A contract whose cancellation cutoff covers the whole term,
    defined as data, so that the opt-out is what decides.)"""
    profile = dataclasses.replace(ANNUAL_B2B, name="b2b-long-cutoff", cancellation_cutoff_days=400)
    h = with_change(profile, plan="b2b", term="annual", new_price=130000)
    h.do("subscribe", plan="b2b", term="annual", method="card", at="2026-01-20T09:00:00Z")
    h.do("request_cancellation", at=cancel_at)
    cancel = one(h, "CancellationRequested")
    assert (cancel.rule, cancel.stops_renewal) == (rule, stops)


# ================================================================ ACCOUNT-3
def test_account_3_activity_is_the_spec_list_of_customer_commands() -> None:
    """ACCOUNT-3 (1.1): the list, in one place (domain/activity.py)."""
    spec = {
        "register_account",
        "record_activity",
        "start_trial",
        "subscribe",
        "purchase_prepaid",
        "cancel_queued",
        "request_cancellation",
        "revoke_cancellation",
        "change_plan",
        "update_personal_data",
        "export_personal_data",
        "dispute_invoice",
        "record_payment",
    }
    assert spec == ACTIVITY_COMMANDS


# a crm-retention contract that also sells trials and prepaid packages (a fifth profile,
# data only), so that every command of the list can run on one inactivity rule
CRM_ALL = dataclasses.replace(
    CRM_RETENTION, name="crm-all", trial_days=14, prepaid=True, collection_costs=True
)
START = "2026-01-31T10:00:00Z"  # inactivity deadline: 2026-07-31T10:00:00Z
NOON = "2026-04-30T12:00:00Z"  # the command under test; then the deadline is Oct 30, noon


def _setup(h: Harness, command: str) -> dict[str, Any]:
    """What must exist before `command` can run at NOON; its keyword arguments."""
    if command in ("request_cancellation", "revoke_cancellation", "change_plan", "dispute_invoice"):
        h.do("subscribe", plan="basic", term="monthly", method="card", at=START)
    if command == "revoke_cancellation":  # pending at NOON: asked in the term running then
        h.advance("2026-04-30T11:00:00Z")
        h.do("request_cancellation", at="2026-04-30T11:00:00Z")
    if command == "cancel_queued":
        h.do("purchase_prepaid", plan="basic", months=6, method="card", at=START)
        h.do("purchase_prepaid", plan="basic", months=1, method="card", at=START)
    h.advance(NOON)
    return {
        "start_trial": {"plan": "basic"},
        "subscribe": {"plan": "basic", "term": "monthly", "method": "paypal"},
        "purchase_prepaid": {"plan": "basic", "months": 1, "method": "card"},
        "change_plan": {"plan": "pro", "term": None},
        "update_personal_data": {"personal": "sealed-v2"},
        "dispute_invoice": {"n": 4, "reason": "wrong seats"},  # renewed Apr 30 10:00
        "record_payment": {"amount": 1000, "reference": "bank-1"},
    }.get(command, {})


@pytest.mark.parametrize("command", sorted(ACTIVITY_COMMANDS))
def test_account_3_each_activity_command_restarts_the_inactivity_clock(command: str) -> None:
    """ACCOUNT-3 (1.1): each listed command restarts the 6 calendar months. A command the
    aggregate does not have yet (SPEC 2.0) runs once it exists."""
    if command == "register_account":
        h = Harness(CRM_ALL, NOON)
    else:
        if not hasattr(Account, command):
            pytest.skip(f"Account.{command} does not exist on this branch yet")
        h = Harness(CRM_ALL, START)
        kwargs = _setup(h, command)
        if "book" in inspect.signature(getattr(Account, command)).parameters:
            kwargs["book"] = h.book
        h.do(command, at=NOON, **kwargs)
    h.advance("2026-10-30T12:00:00Z")
    assert of(h, "AccountClosed") == []
    h.advance("2026-10-30T12:00:01Z")
    assert one(h, "AccountClosed").at == t("2026-10-30T12:00:00Z")


def _not_activity(h: Harness, what: str) -> None:
    if what == "renewal_and_collection":
        h.do("subscribe", plan="basic", term="monthly", method="card", at=START)
        h.advance(NOON)  # three renewals, each collected
    elif what == "declined_collection":
        h.psp = "decline"
        h.do("subscribe", plan="basic", term="monthly", method="card", at=START)
        h.advance(NOON)
    elif what == "notice_delivery":
        h.account.record_notice_delivery(
            notice_id="n-1", kind="price_change", at=t(NOON), channel="email", outcome="sent"
        )
        h.drain()
    elif what == "collection_cost":  # the vendor's command
        h.do("record_collection_cost", amount=4500, at=NOON)
    elif what == "price_change_notice":  # the vendor's announcement (PRICE-1)
        h.do("subscribe", plan="basic", term="annual", method="card", at=START)
        h.account.notify_price_change(
            plan="basic",
            term="annual",
            new_price=31000,
            effective_at=t("2026-07-01T00:00:00Z"),
            at=t(NOON),
            notice_effective_at=t(NOON),
            channel="email",
        )
        h.drain()
    else:  # a deletion request: the customer leaving, not using the service
        h.do("request_data_deletion", at=NOON)


@pytest.mark.parametrize(
    "what",
    [
        "renewal_and_collection",
        "declined_collection",
        "notice_delivery",
        "collection_cost",
        "price_change_notice",
        "request_data_deletion",
    ],
)
def test_account_3_automatic_work_vendor_commands_and_deletion_are_not_activity(what: str) -> None:
    """ACCOUNT-3 (1.1): renewals, collections, the provider's answers, notices, the
    vendor's commands, and (not in the list) a deletion request leave the clock alone."""
    h = Harness(CRM_ALL, START)
    _not_activity(h, what)
    h.advance("2026-07-31T10:00:01Z")
    assert one(h, "AccountClosed").at == t("2026-07-31T10:00:00Z")


def test_account_3_a_deletion_request_recorded_under_1_0_still_counts_on_replay() -> None:
    """ACCOUNT-3: 1.0 counted a deletion request as activity. Its stored event has no
    `activity` field and replays as it did (the inactivity deadline unchanged); one
    recorded now says False."""
    h = Harness(CRM_RETENTION, START)
    h.do("request_data_deletion", at=NOON)
    assert one(h, "DataDeletionRequested").activity is False
    assert h.account.next_deadline() == t("2026-07-31T10:00:00Z")
    old = copy.copy(one(h, "DataDeletionRequested"))
    del old.__dict__["activity"]  # as SPEC 1.0 code stored it
    events = [old if type(e).__name__ == "DataDeletionRequested" else e for e in h.events]
    assert replay(events).next_deadline() == t("2026-10-30T12:00:00Z")
    assert replay(h.events).next_deadline() == t("2026-07-31T10:00:00Z")


def test_account_3_quiet_device_cloud_annual_subscriber_closed_before_the_renewal() -> None:
    """ACCOUNT-3 (1.1): 365 days after the subscription is also its term's end. The
    closure runs first: no renewal, no new invoice, the subscription ends with no refund."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("subscribe", plan="cloud", term="annual", method="card", at=T0)
    assert h.advance("2027-01-05T09:00:01Z") == [
        "SubscriptionEnded",
        "AccountClosed",
        "PersonalDataErased",
        "InvoiceIdentityRetained",
    ]
    assert one(h, "SubscriptionEnded").reason == "account_closed"
    closed = one(h, "AccountClosed")
    assert (closed.at, closed.reason, closed.dunning) == (
        t("2027-01-05T09:00:00Z"),
        "inactivity",
        True,
    )
    assert of(h, "Renewed") == [] and of(h, "RefundIssued") == []
    balance = view(h)["balance"]
    assert (balance["invoiced"], balance["paid"], balance["refunded"], balance["outstanding"]) == (
        "50.00",
        "50.00",
        "0.00",
        "0.00",
    )
    h.advance("2028-01-01T00:00:00Z")
    assert len(of(h, "InvoiceIssued")) == 1


def test_account_3_quiet_crm_monthly_subscriber_closed_before_the_7th_term() -> None:
    """ACCOUNT-3 (1.1): crm-retention, 6 calendar months from Jan 31 is Jul 31, the 6th
    term's end: six invoices, none on Jul 31."""
    h = Harness(CRM_RETENTION, START)
    h.do("subscribe", plan="basic", term="monthly", method="card", at=START)
    h.advance("2026-08-01T00:00:00Z")
    issued = [e.at for e in of(h, "InvoiceIssued")]
    assert issued == [
        t(x)
        for x in (
            "2026-01-31T10:00:00Z",
            "2026-02-28T10:00:00Z",
            "2026-03-31T10:00:00Z",
            "2026-04-30T10:00:00Z",
            "2026-05-31T10:00:00Z",
            "2026-06-30T10:00:00Z",
        )
    ]
    assert one(h, "AccountClosed").at == t("2026-07-31T10:00:00Z")
    assert view(h)["balance"]["invoiced"] == "174.00"


def test_account_3_device_cloud_annual_ends_mid_term_with_no_refund() -> None:
    """ACCOUNT-3 (1.1): a live subscription ends at the closure with no refund (device-cloud
    ACCOUNT-5 waiver: no CANCEL-3 proration of the months not started)."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("subscribe", plan="cloud", term="annual", method="card", at=T0)
    h.do("record_activity", at="2026-03-01T00:00:00Z")  # closes Mar 1 2027, mid-term 2
    h.advance("2027-03-01T00:00:01Z")
    assert len(of(h, "InvoiceIssued")) == 2  # the Jan 5 2027 renewal ran, paid by card
    assert of(h, "RefundIssued") == [] and of(h, "CreditNoteIssued") == []
    assert one(h, "SubscriptionEnded").at == t("2027-03-01T00:00:00Z")
    assert view(h)["balance"]["refunded"] == "0.00"


# a contract with annual-b2b's dunning and an inactivity rule (data only): dunning after a
# closure is visible only where interest and fees exist
B2B_QUIET = dataclasses.replace(ANNUAL_B2B, name="b2b-quiet", inactivity=Period(months=6))


def test_account_3_money_owed_stays_owed_and_dunning_goes_on_after_closure() -> None:
    """ACCOUNT-3 (1.1): 1200.00 due Jan 19, never paid. Interest 12.00 at Jan 19 and each
    19th; the inactivity closure on Jul 19 09:00 coincides with month 6, which is not
    charged at the closing instant; month 7 (Aug 19) is."""
    h = Harness(B2B_QUIET, T0)
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    h.do("record_activity", at="2026-01-19T09:00:00Z")  # inactivity: Jul 19 09:00
    h.advance("2026-08-19T09:00:01Z")
    assert one(h, "AccountClosed").at == t("2026-07-19T09:00:00Z")
    charged = [(e.month, e.at, e.amount) for e in of(h, "InterestCharged")]
    assert charged == [
        (k, t(f"2026-{m:02d}-19T09:00:00Z"), 1200)
        for k, m in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (7, 8)]
    ]
    balance = view(h)["balance"]
    assert (balance["principal"], balance["interest"], balance["fees"]) == (
        "1200.00",
        "84.00",
        "240.00",
    )
    assert view(h)["status"] == "closed"


def test_account_3_invoice_due_at_the_closing_instant_is_dunned_without_interest_then() -> None:
    """ACCOUNT-3 (1.1): closure first; the invoice falling due at that instant still turns
    overdue with its fixed compensation (fees accrue by their rules), but its interest
    month 0 falls on the closing instant and is not charged; month 1 is."""
    quiet = dataclasses.replace(B2B_QUIET, inactivity=Period(days=14))
    h = Harness(quiet, T0)
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    got = h.advance("2026-01-19T09:00:01Z")
    assert got == [
        "SubscriptionEnded",
        "AccountClosed",
        "PersonalDataErased",
        "InvoiceIdentityRetained",
        "InvoiceOverdue",
        "CompensationCharged",
    ]
    assert of(h, "InterestCharged") == []
    h.advance("2026-02-19T09:00:01Z")
    assert [(e.month, e.at) for e in of(h, "InterestCharged")] == [(1, t("2026-02-19T09:00:00Z"))]


def test_account_3_credit_is_refunded_at_an_inactivity_closure() -> None:
    """ACCOUNT-3 (1.1): crm-retention: credit held at the closure goes back at that
    instant (RefundIssued, from the credit: no invoice)."""
    h = Harness(CRM_RETENTION, START)
    h.do("record_payment", amount=10000, reference="gift", at=START)
    assert h.advance("2026-07-31T10:00:01Z") == [
        "AccountClosed",
        "RefundIssued",
        "PersonalDataErased",
        "InvoiceIdentityErased",
    ]
    refund = one(h, "RefundIssued")
    assert (refund.at, refund.amount, refund.n, refund.returns) == (
        t("2026-07-31T10:00:00Z"),
        10000,
        0,
        "credit",
    )
    state = view(h)
    assert (state["balance"]["credit"], state["balance"]["paid"], state["balance"]["refunded"]) == (
        "0.00",
        "100.00",
        "100.00",
    )
    assert state["refunds"] == [{"amount": "100.00", "at": "2026-07-31T10:00:00Z"}]
    assert h.account.credit == 0
    assert journal(h)["liability:customer_credit"] == 0


def test_account_3_device_cloud_credit_is_waived_as_other_income() -> None:
    """ACCOUNT-3 (1.1): device-cloud waives it (004 s6.5.5): CreditWaived takes it out of
    the customer's credit; the journal books it as other income; nothing is paid back."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("record_payment", amount=1234, reference="gift", at=T0)
    assert h.advance("2027-01-05T09:00:01Z") == [
        "AccountClosed",
        "CreditWaived",
        "PersonalDataErased",
        "InvoiceIdentityErased",
    ]
    waived = one(h, "CreditWaived")
    assert (waived.at, waived.amount) == (t("2027-01-05T09:00:00Z"), 1234)
    state = view(h)
    assert (state["balance"]["credit"], state["balance"]["refunded"]) == ("0.00", "0.00")
    net = journal(h)
    assert (net["cash"], net["liability:customer_credit"], net["income:other"]) == (1234, 0, -1234)
    assert h.account.credit == 0


def test_account_3_credit_at_closure_comes_from_the_profile() -> None:
    """ACCOUNT-3 (1.1): refund or waive is contract data; an account registered before the
    key existed takes its built-in profile's value (an old device-cloud record waives)."""
    assert (CRM_RETENTION.credit_at_closure, DEVICE_CLOUD.credit_at_closure) == ("refund", "waive")
    recorded = DEVICE_CLOUD.as_dict()
    del recorded["credit_at_closure"]
    assert profile_from_record(recorded).credit_at_closure == "waive"
    recorded["name"] = "family-plan"  # not a built-in: the default
    assert profile_from_record(recorded).credit_at_closure == "refund"


@pytest.mark.parametrize(
    ("value", "ok"), [("refund", True), ("waive", True), ("keep", False), (True, False)]
)
def test_account_3_credit_at_closure_is_checked_in_a_config_profile(value: Any, ok: bool) -> None:
    """ACCOUNT-3 (1.1): a fifth profile may say refund or waive; anything else is refused,
    naming the key."""
    table = {"extends": "crm-retention", "credit_at_closure": value}
    if ok:
        made = profile_from_mapping(table, base=CRM_RETENTION, where="profiles.x")
        assert made.credit_at_closure == value
    else:
        with pytest.raises(Rejected) as caught:
            profile_from_mapping(table, base=CRM_RETENTION, where="profiles.x")
        assert caught.value.field == "profiles.x.credit_at_closure"


# ================================================================ ACCOUNT-5
@pytest.mark.parametrize(
    ("given", "compared"),
    [
        ("fay@example.test", "fay@example.test"),
        ("  Fay@Example.TEST ", "fay@example.test"),
        ("FAY@EXAMPLE.TEST\t", "fay@example.test"),
    ],
)
def test_account_5_emails_are_compared_trimmed_and_lower_cased(given: str, compared: str) -> None:
    """ACCOUNT-5 (1.1): the cooldown compares emails trimmed and lower-cased."""
    assert normalise_email(given) == compared


# ================================================================ ACCOUNT-6
def closed_b2b() -> Harness:
    """annual-b2b: a demo that ran out, then closed at the customer's request."""
    h = Harness(ANNUAL_B2B, T0)
    h.do("start_trial", plan="b2b", at=T0)
    h.at_then("2026-01-21T09:00:00Z", "request_account_closure")
    return h


def test_gdpr_2_b2b_soft_deletes_at_once_at_a_closure_request() -> None:
    """GDPR-2 (1.1): annual-b2b soft-deletes when the account is closed at the customer's
    request, and anonymises 6 calendar months later."""
    h = closed_b2b()
    soft = one(h, "PersonalDataSoftDeleted")
    assert (soft.at, soft.anonymise_at) == (t("2026-01-21T09:00:00Z"), t("2026-07-21T09:00:00Z"))
    assert view(h)["privacy"]["personal_data"] == "soft_deleted"
    h.advance("2026-07-21T09:00:00Z")
    assert of(h, "PersonalDataAnonymised") == []
    h.advance("2026-07-21T09:00:01Z")
    assert one(h, "PersonalDataAnonymised").at == t("2026-07-21T09:00:00Z")


def test_account_6_deletion_request_on_a_closed_account_erases_soft_deleted_data() -> None:
    """ACCOUNT-6 (1.1): accepted on a closed account; it erases what is still held,
    soft-deleted data included, under GDPR-1's deadline (recorded: 30 days)."""
    h = closed_b2b()
    got = h.do("request_data_deletion", at="2026-02-01T00:00:00Z")
    assert got == ["DataDeletionRequested", "PersonalDataErased", "InvoiceIdentityErased"]
    assert one(h, "DataDeletionRequested").due_at == t("2026-03-03T00:00:00Z")
    assert one(h, "PersonalDataErased").reason == "deletion_request"
    privacy = view(h, "2026-02-01T00:00:01Z")["privacy"]
    assert privacy == {
        "personal_data": "erased",
        "deletion_due_at": "2026-03-03T00:00:00Z",
        "deletion_overdue": False,
    }
    h.advance("2027-01-01T00:00:00Z")
    assert of(h, "PersonalDataAnonymised") == []  # nothing left to anonymise
    assert h.do("request_data_deletion", at="2027-01-01T00:00:00Z") == []  # nothing held


def test_account_6_export_on_a_closed_account_is_accepted_and_recorded() -> None:
    """ACCOUNT-6 (1.1): export_personal_data on a closed account (GDPR-4, audited by
    GDPR-6); the fields it returns are the application's (integration suite)."""
    h = closed_b2b()
    assert h.do("export_personal_data", at="2026-02-01T00:00:00Z") == ["PersonalDataExported"]
    assert view(h)["status"] == "closed"


def test_account_6_payment_on_a_closed_account_pays_what_is_owed_excess_refunded() -> None:
    """ACCOUNT-6 (1.1): money owed at closure can still be paid; what exceeds it is
    refunded at once. crm-retention: 29.00 unpaid at the inactivity closure; 50.00 paid
    on Aug 5: 29.00 to invoice 1, 21.00 straight back."""
    h = Harness(CRM_RETENTION, START)
    h.do("subscribe", plan="basic", term="monthly", method="bank_transfer", at=START)
    h.advance("2026-08-05T00:00:00Z")
    assert view(h)["status"] == "closed"
    assert view(h)["balance"]["outstanding"] == "29.00"
    got = h.do("record_payment", amount=5000, reference="bank-late", at="2026-08-05T00:00:00Z")
    assert got == ["PaymentReceived", "RefundIssued", "ArrearsCleared"]
    refund = one(h, "RefundIssued")
    assert (refund.amount, refund.returns, refund.reason) == (2100, "credit", "ACCOUNT-6")
    state = view(h)
    assert state["balance"] == {
        "invoiced": "29.00",
        "paid": "50.00",
        "refunded": "21.00",
        "credit": "0.00",
        "outstanding": "0.00",
        "principal": "0.00",
        "interest": "0.00",
        "fees": "0.00",
    }
    assert state["invoices"][0]["status"] == "paid" and state["status"] == "closed"
    assert (
        h.do("record_payment", amount=5000, reference="bank-late", at="2026-08-06T00:00:00Z") == []
    )  # the same reference: a no-op
    rejects(
        h,
        ErrorCode.INVALID_AMOUNT,
        "record_payment",
        amount=0,
        reference="zero",
        at="2026-08-06T00:00:00Z",
    )


def test_account_6_other_commands_stay_refused_on_a_closed_account() -> None:
    """ACCOUNT-6: the exceptions are exactly those three."""
    h = closed_b2b()
    rejects(h, ErrorCode.ACCOUNT_CLOSED, "record_activity", at="2026-02-01T00:00:00Z")
    rejects(
        h, ErrorCode.ACCOUNT_CLOSED, "update_personal_data", personal="x", at="2026-02-01T00:00:00Z"
    )
    rejects(
        h, ErrorCode.ACCOUNT_CLOSED, "record_collection_cost", amount=100, at="2026-02-01T00:00:00Z"
    )


# ================================================================ CreditWaived downstream
def test_credit_waived_folds_the_same_from_a_cloudevent(tmp_path: Any) -> None:
    """CreditWaived through the CloudEvents envelope and the Kafka entitlement cache: the
    cache's fold of the message gives the projection's balance."""
    from eventsourcing.persistence import Notification

    from consumers.entitlement_cache import _record
    from infra.messaging.cloudevents import envelope
    from infra.persistence.transcoder import OrjsonTranscoder

    h = Harness(DEVICE_CLOUD, T0)
    h.do("record_payment", amount=1234, reference="gift", at=T0)
    h.advance("2027-01-05T09:00:01Z")
    doc = new_doc(h.ref)
    for version, event in enumerate(h.events, start=1):
        state = {
            k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")
        }
        n = Notification(
            id=version,
            originator_id=event.originator_id,
            originator_version=version,
            topic=f"domain.account:Account.{type(event).__name__}",
            state=OrjsonTranscoder().encode(state),
        )
        message = envelope(n, "urn:test")
        if type(event).__name__ == "CreditWaived":
            assert message["type"] == "subledger.account.CreditWaived.v1"
            assert message["data"] == {
                "at": "2027-01-05T09:00:00Z",
                "amount": 1234,
                "reason": "ACCOUNT-3: credit waived at an inactivity closure",
            }
        apply(
            doc,
            _record(
                {
                    "name": type(event).__name__,
                    "subject": str(event.originator_id),
                    "data": message["data"],
                }
            ),
        )
    assert observe(doc, None)["balance"] == view(h)["balance"]
    assert doc["credit_waived"] == [{"amount": 1234, "at": "2027-01-05T09:00:00Z"}]
