"""SPEC 2.0 section 10 (plan changes, CHANGE-1..4), sentence by sentence, against the pure
`Account` aggregate.

`account_kit.Harness` plays the infrastructure (scheduler, simulated payment provider);
states are folded from the recorded events through the real account projection. Every
amount and instant below is worked out by hand in the comments.
"""

from __future__ import annotations

import copy
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
from domain.errors import ErrorCode, Rejected
from domain.pricing import PriceChange
from projections.account_view import apply, new_doc, observe

S = "2026-04-01T00:00:00Z"  # a term start; monthly terms end 2026-05-01 (30 days)
E = "2026-05-01T00:00:00Z"

# plan -> term -> minor units (net catalog prices)
CATALOG: dict[str, dict[str, int]] = {
    "basic": {"monthly": 3000, "quarterly": 8000, "annual": 30000},
    "crew": {"monthly": 6000, "annual": 60000},  # priced as team
    "team": {"monthly": 6000, "quarterly": 16000, "annual": 60000},
    "lite": {"annual": 20000},
    "pro": {"monthly": 9000, "annual": 90000},
    "starter": {"annual": 30000},
    "standard": {"annual": 120000},
    "premium": {"annual": 180000},
    "cloud": {"monthly": 500, "annual": 5000},
    "cloud-max": {"monthly": 1500, "annual": 15000},
}
BOOK_COMMANDS = {"change_plan", "revoke_cancellation"}


# ---------------------------------------------------------------- helpers
def harness(profile: Any = MONTHLY_AUTORENEW, at: str = S, **kwargs: Any) -> Harness:
    return Harness(profile, at, catalog=CATALOG, **kwargs)


def do(h: Harness, command: str, **kwargs: Any) -> list[str]:
    if command in BOOK_COMMANDS:
        kwargs.setdefault("book", h.book)
    if command == "change_plan":
        kwargs.setdefault("term", None)
    return h.do(command, **kwargs)


def subscribed(
    profile: Any = MONTHLY_AUTORENEW,
    plan: str = "basic",
    term: str = "monthly",
    method: str = "card",
    at: str = S,
    **kwargs: Any,
) -> Harness:
    h = harness(profile, at, changes=kwargs.pop("changes", ()), psp=kwargs.pop("psp", "approve"))
    h.do("subscribe", plan=plan, term=term, method=method, at=at, **kwargs)
    return h


def view(h: Harness, as_of: str | None = None) -> dict[str, Any]:
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    return observe(doc, None if as_of is None else t(as_of))


def _decision_state(account: Account) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(account).items() if k != "_pending_events"})


def rejects(h: Harness, code: ErrorCode, command: str, **kwargs: Any) -> Rejected:
    """The command is refused with `code` and records (and changes) nothing."""
    before = _decision_state(h.account)
    with pytest.raises(Rejected) as caught:
        do(h, command, **kwargs)
    assert caught.value.code is code, caught.value.message
    assert h.account.collect_events() == [], "a rejected command left pending events"
    assert _decision_state(h.account) == before, "a rejected command changed the state"
    return caught.value


def one(h: Harness, name: str) -> Any:
    found = h.named(name)
    assert len(found) == 1, f"{name}: {len(found)} recorded, events {h.event_names()}"
    return found[0]


def invoices(h: Harness) -> list[tuple[int, str, str, str, str]]:
    """(n, kind, amount, issued_at, status) of every invoice, as the state shows them."""
    return [
        (i["n"], i["kind"], i["amount"], i["issued_at"], i["status"]) for i in view(h)["invoices"]
    ]


# ================================================================ CHANGE-1
def test_change_1_term_defaults_to_the_current_one() -> None:
    """CHANGE-1: without `term` the change keeps the current term (monthly here)."""
    h = subscribed()
    assert do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")[0] == "PlanChanged"
    changed = one(h, "PlanChanged")
    assert (changed.plan, changed.term, changed.from_plan) == ("team", "monthly", "basic")
    state = view(h)
    assert (state["plan"], state["term"]) == ("team", "monthly")


def _ended_subscription() -> Harness:
    h = subscribed(method="bank_transfer")  # RENEW-2: a manual method ends at E
    h.do("record_payment", amount=3000, reference="bank-1", at=S)
    h.advance("2026-05-01T00:00:01Z")
    assert view(h)["status"] == "ended"
    return h


def _trial() -> Harness:
    h = harness()
    h.do("start_trial", plan="basic", at=S, book=h.book)
    return h


def _prepaid_only() -> Harness:
    h = harness(DEVICE_CLOUD)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=S, book=h.book)
    return h


@pytest.mark.parametrize(
    "state",
    [harness, _trial, _prepaid_only, _ended_subscription],
    ids=["none", "trial", "prepaid-only", "ended"],
)
def test_change_1_no_live_subscription_is_no_subscription(state: Any) -> None:
    """CHANGE-1: none, a trial, prepaid only, ended: no_subscription."""
    rejects(
        state(), ErrorCode.NO_SUBSCRIPTION, "change_plan", plan="team", at="2026-05-20T00:00:00Z"
    )


def test_change_1_the_same_plan_and_term_is_no_change() -> None:
    """CHANGE-1: the same plan and term while no change is scheduled: no_change, also
    when the term is named."""
    h = subscribed()
    rejects(h, ErrorCode.NO_CHANGE, "change_plan", plan="basic", at="2026-04-11T00:00:00Z")
    rejects(
        h,
        ErrorCode.NO_CHANGE,
        "change_plan",
        plan="basic",
        term="monthly",
        at="2026-04-11T00:00:00Z",
    )


def test_change_1_a_pending_cancellation_is_cancellation_pending_until_revoked() -> None:
    """CHANGE-1: a pending cancellation: cancellation_pending; revoked (CHANGE-4), the
    same change goes through."""
    h = subscribed()
    h.do("request_cancellation", at="2026-04-05T00:00:00Z", book=h.book)
    rejects(
        h, ErrorCode.CANCELLATION_PENDING, "change_plan", plan="team", at="2026-04-11T00:00:00Z"
    )
    rejects(
        h,
        ErrorCode.CANCELLATION_PENDING,
        "change_plan",
        plan="basic",
        term="quarterly",
        at="2026-04-11T00:00:00Z",
    )
    do(h, "revoke_cancellation", at="2026-04-11T00:00:00Z")
    assert "PlanChanged" in do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")


@pytest.mark.parametrize(
    ("profile", "plan", "term", "code"),
    [
        (MONTHLY_AUTORENEW, "gold", None, ErrorCode.UNKNOWN_PLAN),
        (MONTHLY_AUTORENEW, "pro", "quarterly", ErrorCode.TERM_NOT_OFFERED),  # not priced
        (MONTHLY_AUTORENEW, "lite", None, ErrorCode.TERM_NOT_OFFERED),  # no monthly price
        (CRM_RETENTION, "basic", "quarterly", ErrorCode.TERM_NOT_OFFERED),  # TERM-1
        (ANNUAL_B2B, "premium", "monthly", ErrorCode.TERM_NOT_OFFERED),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_change_1_unknown_plan_and_term_not_offered_as_in_term_1(
    profile: Any, plan: str, term: str | None, code: ErrorCode
) -> None:
    """CHANGE-1: an unknown plan and a term not offered are refused as at TERM-1."""
    h = (
        subscribed(profile, plan="standard", term="annual")
        if profile is ANNUAL_B2B
        else subscribed(profile)
    )
    rejects(h, code, "change_plan", plan=plan, term=term, at="2026-04-11T00:00:00Z")


# ================================================================ CHANGE-2
def test_change_2_upgrade_prorated_by_exact_seconds_rounded_half_up() -> None:
    """CHANGE-2: basic 30.00 -> team 60.00 in a 30-day term (2,592,000 s). At
    2026-04-16T11:52:48Z, 1,253,232 s remain: 3000 x 1253232 / 2592000 = 1450.5 cents,
    rounded half-up to 14.51 (half-even would say 14.50). Issued at t as kind proration,
    for the rest of the term; the term keeps its start and end."""
    h = subscribed()
    got = do(h, "change_plan", plan="team", at="2026-04-16T11:52:48Z")
    assert got == [
        "PlanChanged",
        "InvoiceIssued",
        "CollectionRequested",
        "NoticeSent",
        "PaymentReceived",
    ]
    proration = h.named("InvoiceIssued")[-1]
    assert (proration.n, proration.kind, proration.amount) == (2, "proration", 1451)
    assert (proration.at, proration.period_start, proration.period_end) == (
        t("2026-04-16T11:52:48Z"),
        t("2026-04-16T11:52:48Z"),
        t(E),
    )
    state = view(h)
    assert (state["plan"], state["access"], state["access_until"]) == ("team", True, E)
    assert state["invoices"][1]["kind"] == "proration"
    assert state["invoices"][0]["kind"] == "term"


def test_change_2_access_to_the_new_plan_at_once_and_the_scenario_figure() -> None:
    """CHANGE-2 (scenario 08): 10 of 30 days gone, (60.00 - 30.00) x 20/30 = 20.00,
    collected from the card at t (TERM-3)."""
    h = subscribed()
    do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")
    assert invoices(h) == [
        (1, "term", "30.00", S, "paid"),
        (2, "proration", "20.00", "2026-04-11T00:00:00Z", "paid"),
    ]
    collected = h.named("CollectionRequested")[-1]
    assert (collected.n, collected.amount, collected.at) == (2, 2000, t("2026-04-11T00:00:00Z"))
    assert view(h)["balance"]["paid"] == "50.00"


def test_change_2_a_second_upgrade_counts_from_the_price_paid_so_far() -> None:
    """CHANGE-2: the price paid so far is the term invoice's net plus this term's
    proration nets. basic 30.00; at 04-11 team: (60 - 30) x 20/30 = 20.00, so 50.00 paid
    so far; at 04-21 pro 90.00: (90 - 50) x 10/30 = 13.333 -> 13.33. (SPEC's "so a
    second upgrade charges the difference from the first upgrade's price" read through
    this definition, which it gives twice, here and in VENDOR-3.)"""
    h = subscribed()
    do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")
    do(h, "change_plan", plan="pro", at="2026-04-21T00:00:00Z")
    assert [i[:3] for i in invoices(h)] == [
        (1, "term", "30.00"),
        (2, "proration", "20.00"),
        (3, "proration", "13.33"),
    ]
    assert h.account.subscription is not None
    assert h.account.subscription.price_paid == 3000 + 2000 + 1333


def test_change_2_price_paid_so_far_is_after_the_term_5_discount() -> None:
    """CHANGE-2: basic annual 300.00 at 50 % off (TERM-5): 150.00 paid. lite 200.00 is
    dearer than that, so an upgrade although below basic's list price; 292 of 365 days
    left at 2026-06-13: (200 - 150) x 292/365 = 40.00."""
    h = subscribed(term="annual", discount_percent=50)
    assert invoices(h)[0][2] == "150.00"
    do(h, "change_plan", plan="lite", at="2026-06-13T00:00:00Z")
    assert invoices(h)[1][:3] == (2, "proration", "40.00")
    assert view(h)["scheduled_change"] is None


@pytest.mark.parametrize(
    ("effective_at", "amount"),
    [
        ("2026-04-10T00:00:00Z", "10.00"),  # in force at t: (45 - 30) x 20/30
        ("2026-04-11T00:00:00Z", "10.00"),  # effective exactly at t: in force (PRICE-3)
        ("2026-04-11T00:00:01Z", "20.00"),
    ],  # not yet: the catalog's 60.00
)
def test_change_2_the_new_price_is_the_one_for_a_term_starting_at_t(
    effective_at: str, amount: str
) -> None:
    """CHANGE-2 with PRICE-3 applied to the instant t: team monthly 60.00 -> 45.00."""
    change = PriceChange("team", "monthly", 4500, t(effective_at), 0)
    h = subscribed(changes=[change])
    do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")
    assert invoices(h)[1][:3] == (2, "proration", amount)


def test_change_2_a_price_cut_in_force_at_t_makes_it_a_downgrade() -> None:
    """CHANGE-2/3: team cut to 25.00 before t is not above the 30.00 paid: scheduled."""
    h = subscribed(changes=[PriceChange("team", "monthly", 2500, t("2026-04-02T00:00:00Z"), 0)])
    assert do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")[0] == "PlanChangeScheduled"
    assert len(invoices(h)) == 1


def test_change_2_the_proration_invoice_is_collected_and_due_as_any_invoice() -> None:
    """CHANGE-2 with TERM-3/4 and PAY-3: annual-b2b by bank transfer, standard 1200.00 ->
    premium 1800.00 with 219 of 365 days left (2026-05-31): 600 x 219/365 = 360.00, due
    14 days later (06-14); unpaid, it is overdue after that with the fixed compensation
    (20 % of 360.00 is 72.00, so the 150.00 minimum) and 1 % interest (3.60)."""
    h = subscribed(
        ANNUAL_B2B,
        plan="standard",
        term="annual",
        method="bank_transfer",
        at="2026-01-05T09:00:00Z",
    )
    h.do("record_payment", amount=120000, reference="bank-1", at="2026-01-06T09:00:00Z")
    do(h, "change_plan", plan="premium", at="2026-05-31T09:00:00Z")
    proration = view(h)["invoices"][1]
    assert (proration["amount"], proration["due_at"], proration["status"]) == (
        "360.00",
        "2026-06-14T09:00:00Z",
        "open",
    )
    assert h.named("CollectionRequested") == []  # a manual method: nothing collected
    h.advance("2026-06-14T09:00:01Z")
    state = view(h)
    assert state["invoices"][1]["status"] == "overdue"
    assert (state["balance"]["fees"], state["balance"]["interest"]) == ("150.00", "3.60")


def test_change_2_later_renewals_are_at_the_new_plans_price() -> None:
    """CHANGE-2: after the upgrade, the renewal at E invoices team's 60.00 (RENEW-1)."""
    h = subscribed()
    do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")
    h.advance("2026-05-01T00:00:01Z")
    renewal = view(h)["invoices"][2]
    assert (renewal["kind"], renewal["amount"], renewal["issued_at"]) == ("term", "60.00", E)
    assert view(h)["access_until"] == "2026-06-01T00:00:00Z"


def test_change_2_an_upgrade_removes_a_scheduled_change() -> None:
    """CHANGE-2: team -> basic is scheduled; then pro (90.00 > 60.00 paid) is an upgrade,
    which removes it: (90 - 60) x 20/30 = 20.00, and E renews on pro."""
    h = subscribed(plan="team")
    do(h, "change_plan", plan="basic", at="2026-04-05T00:00:00Z")
    assert view(h)["scheduled_change"] == {"plan": "basic", "term": "monthly", "at": E}
    got = do(h, "change_plan", plan="pro", at="2026-04-11T00:00:00Z")
    assert got[:2] == ["ScheduledChangeRemoved", "PlanChanged"]
    assert h.named("ScheduledChangeRemoved")[-1].reason == "upgrade"
    assert view(h)["scheduled_change"] is None
    assert invoices(h)[1][:3] == (2, "proration", "20.00")
    h.advance("2026-05-01T00:00:01Z")
    assert (view(h)["plan"], invoices(h)[2][2]) == ("pro", "90.00")


def test_change_2_at_exactly_the_term_end_the_renewal_runs_first() -> None:
    """CHANGE-2: at t = E the term has ended: basic renews at E (30.00, invoice 2, to
    06-01), then the upgrade prorates over the whole new term: (60 - 30) x 1 = 30.00."""
    h = subscribed()
    got = do(h, "change_plan", plan="team", at=E)
    assert got.index("Renewed") < got.index("PlanChanged")
    assert [i[:4] for i in invoices(h)] == [
        (1, "term", "30.00", S),
        (2, "term", "30.00", E),
        (3, "proration", "30.00", E),
    ]
    proration = h.named("InvoiceIssued")[-1]
    assert proration.period_end == t("2026-06-01T00:00:00Z")
    assert h.advance("2026-05-01T00:00:01Z") == []  # the renewal is not run twice


def test_change_2_at_the_term_end_a_refusal_records_not_even_the_renewal() -> None:
    """CHANGE-2 with section 0: at t = E a refused change records nothing (the renewal
    it looked past is left to the scheduler); a cancellation effective at E has ended
    the subscription by then: no_subscription."""
    h = subscribed()
    rejects(h, ErrorCode.NO_CHANGE, "change_plan", plan="basic", at=E)
    assert h.advance("2026-05-01T00:00:01Z")[0] == "Renewed"
    g = subscribed()
    g.do("request_cancellation", at="2026-04-20T00:00:00Z", book=g.book)
    rejects(g, ErrorCode.NO_SUBSCRIPTION, "change_plan", plan="team", at=E)


# ================================================================ CHANGE-3
def test_change_3_a_downgrade_waits_for_the_renewal_and_charges_nothing_now() -> None:
    """CHANGE-3 (scenario 08): team 60.00 -> basic at 04-11: nothing charged or refunded,
    the state shows the change for E, the plan stays team until then; at E the renewal
    invoices basic's 30.00 and the plan is basic."""
    h = subscribed(plan="team")
    got = do(h, "change_plan", plan="basic", at="2026-04-11T00:00:00Z")
    assert got[0] == "PlanChangeScheduled"
    assert not {"InvoiceIssued", "RefundIssued", "CreditNoteIssued"} & set(got)
    state = view(h)
    assert (state["plan"], state["scheduled_change"]) == (
        "team",
        {"plan": "basic", "term": "monthly", "at": E},
    )
    assert view(h, E)["plan"] == "team"
    h.advance("2026-05-01T00:00:01Z")
    state = view(h)
    assert (state["plan"], state["term"], state["scheduled_change"]) == ("basic", "monthly", None)
    assert invoices(h)[1] == (2, "term", "30.00", E, "paid")
    applied = one(h, "ScheduledChangeApplied")
    assert (applied.at, applied.from_plan, applied.plan) == (t(E), "team", "basic")


def test_change_3_a_new_price_equal_to_the_price_paid_is_not_an_upgrade() -> None:
    """CHANGE-3: crew costs what team costs (60.00): not higher, so scheduled."""
    h = subscribed(plan="team")
    assert do(h, "change_plan", plan="crew", at="2026-04-11T00:00:00Z")[0] == "PlanChangeScheduled"


def test_change_3_a_change_of_term_length_waits_even_when_dearer() -> None:
    """CHANGE-3: basic monthly -> annual (300.00) takes effect at E: the renewal starts a
    new annual series at E (to 2027-05-01) at the annual price; the next renewal is
    annual again."""
    h = subscribed()
    assert (
        do(h, "change_plan", plan="basic", term="annual", at="2026-04-11T00:00:00Z")[0]
        == "PlanChangeScheduled"
    )
    assert view(h)["scheduled_change"] == {"plan": "basic", "term": "annual", "at": E}
    h.advance("2026-05-01T00:00:01Z")
    state = view(h)
    assert (state["term"], state["access_until"]) == ("annual", "2027-05-01T00:00:00Z")
    renewal = h.named("InvoiceIssued")[-1]
    assert (renewal.amount, renewal.period_start, renewal.period_end) == (
        30000,
        t(E),
        t("2027-05-01T00:00:00Z"),
    )
    h.advance("2027-05-01T00:00:01Z")
    assert view(h)["access_until"] == "2028-05-01T00:00:00Z"
    assert [i[2] for i in invoices(h)] == ["30.00", "300.00", "300.00"]


def test_change_3_a_term_change_from_a_month_end_anchors_the_new_series() -> None:
    """CHANGE-3 with section 0: monthly from Jan 31 (terms end Feb 28, Mar 31); a change
    to quarterly at the Mar 31 renewal anchors there: Jun 30, then Sep 30, Dec 31."""
    h = subscribed(at="2026-01-31T00:00:00Z")
    h.advance("2026-03-10T00:00:00Z")
    do(h, "change_plan", plan="basic", term="quarterly", at="2026-03-10T00:00:00Z")
    h.advance("2026-10-01T00:00:00Z")
    periods = [(e.period_start, e.period_end) for e in h.named("InvoiceIssued")]
    assert periods[2:] == [
        (t("2026-03-31T00:00:00Z"), t("2026-06-30T00:00:00Z")),
        (t("2026-06-30T00:00:00Z"), t("2026-09-30T00:00:00Z")),
        (t("2026-09-30T00:00:00Z"), t("2026-12-31T00:00:00Z")),
    ]


def test_change_3_the_renewal_is_at_the_price_in_force_at_e() -> None:
    """CHANGE-3 with RENEW-1/PRICE-3: basic monthly goes to 35.00 from E; a downgrade
    from team to basic renews at 35.00."""
    h = subscribed(plan="team", changes=[PriceChange("basic", "monthly", 3500, t(E), 0)])
    do(h, "change_plan", plan="basic", at="2026-04-11T00:00:00Z")
    h.advance("2026-05-01T00:00:01Z")
    assert invoices(h)[1][:3] == (2, "term", "35.00")


def test_change_3_device_cloud_downgrade_refunds_nothing() -> None:
    """CHANGE-3 (CANCEL-2 reading, device-cloud too): a paid annual cloud-max 150.00 ->
    cloud in month two: no refund, no credit note; cloud's 50.00 from E."""
    h = subscribed(DEVICE_CLOUD, plan="cloud-max", term="annual")
    got = do(h, "change_plan", plan="cloud", at="2026-05-15T00:00:00Z")
    assert got[0] == "PlanChangeScheduled"
    assert h.named("RefundIssued") == [] and h.named("CreditNoteIssued") == []
    assert view(h)["scheduled_change"] == {
        "plan": "cloud",
        "term": "annual",
        "at": "2027-04-01T00:00:00Z",
    }
    h.advance("2027-04-01T00:00:01Z")
    assert invoices(h)[1][:3] == (2, "term", "50.00")


def test_change_3_a_later_change_replaces_the_scheduled_one() -> None:
    """CHANGE-3: team -> basic, then team -> basic quarterly: the latter stands."""
    h = subscribed(plan="team")
    do(h, "change_plan", plan="basic", at="2026-04-05T00:00:00Z")
    do(h, "change_plan", plan="basic", term="quarterly", at="2026-04-06T00:00:00Z")
    assert view(h)["scheduled_change"] == {"plan": "basic", "term": "quarterly", "at": E}
    h.advance("2026-05-01T00:00:01Z")
    assert (view(h)["plan"], view(h)["term"], invoices(h)[1][2]) == ("basic", "quarterly", "80.00")


def test_change_3_changing_back_to_the_current_plan_removes_it() -> None:
    """CHANGE-3: team -> basic scheduled, then team again: removed; E renews on team."""
    h = subscribed(plan="team")
    do(h, "change_plan", plan="basic", at="2026-04-05T00:00:00Z")
    assert do(h, "change_plan", plan="team", at="2026-04-06T00:00:00Z") == [
        "ScheduledChangeRemoved"
    ]
    assert one(h, "ScheduledChangeRemoved").reason == "changed_back"
    assert view(h)["scheduled_change"] is None
    h.advance("2026-05-01T00:00:01Z")
    assert (view(h)["plan"], invoices(h)[1][2]) == ("team", "60.00")


def test_change_3_a_cancellation_removes_it() -> None:
    """CHANGE-3: request_cancellation removes the scheduled change; E ends the
    subscription (CANCEL-1), nothing is renewed onto basic."""
    h = subscribed(plan="team")
    do(h, "change_plan", plan="basic", at="2026-04-05T00:00:00Z")
    got = h.do("request_cancellation", at="2026-04-06T00:00:00Z", book=h.book)
    assert got == ["ScheduledChangeRemoved", "CancellationRequested"]
    assert one(h, "ScheduledChangeRemoved").reason == "cancellation"
    assert view(h)["scheduled_change"] is None
    h.advance("2026-05-01T00:00:01Z")
    assert (view(h)["status"], len(invoices(h))) == ("ended", 1)


def test_change_3_a_term_that_will_not_renew_is_no_renewal() -> None:
    """CHANGE-3 with RENEW-2: monthly-autorenew by bank transfer does not renew, so a
    downgrade or a change of term is no_renewal; an upgrade, in force now, is not."""
    h = subscribed(plan="team", method="bank_transfer")
    rejects(h, ErrorCode.NO_RENEWAL, "change_plan", plan="basic", at="2026-04-11T00:00:00Z")
    rejects(
        h,
        ErrorCode.NO_RENEWAL,
        "change_plan",
        plan="team",
        term="annual",
        at="2026-04-11T00:00:00Z",
    )
    do(h, "change_plan", plan="pro", at="2026-04-11T00:00:00Z")
    proration = view(h)["invoices"][1]
    assert (proration["amount"], proration["due_at"]) == ("20.00", "2026-04-11T00:00:00Z")


def test_change_3_annual_b2b_changes_plans_only() -> None:
    """CHANGE-3: annual-b2b offers only annual terms: a plan change is scheduled, a term
    change is term_not_offered."""
    h = subscribed(ANNUAL_B2B, plan="premium", term="annual", at="2026-01-05T09:00:00Z")
    rejects(
        h,
        ErrorCode.TERM_NOT_OFFERED,
        "change_plan",
        plan="premium",
        term="monthly",
        at="2026-03-01T00:00:00Z",
    )
    do(h, "change_plan", plan="standard", at="2026-03-01T00:00:00Z")
    assert view(h)["scheduled_change"] == {
        "plan": "standard",
        "term": "annual",
        "at": "2027-01-05T09:00:00Z",
    }


def test_change_3_the_renewal_reminder_names_the_plan_it_renews_onto() -> None:
    """CHANGE-3 with RENEW-3: a quarterly team (160.00) moving to basic is reminded,
    30 days before E, of basic's 80.00."""
    h = subscribed(plan="team", term="quarterly")
    do(h, "change_plan", plan="basic", at="2026-04-11T00:00:00Z")
    h.advance("2026-07-01T00:00:00Z")
    reminder = next(n for n in h.named("NoticeSent") if n.kind == "renewal_reminder")
    assert (reminder.at, reminder.details["plan"], reminder.details["price"]) == (
        t("2026-06-01T00:00:00Z"),
        "basic",
        8000,
    )


# ================================================================ CHANGE-4
def test_change_4_revoking_restores_auto_renewal() -> None:
    """CHANGE-4 (scenario 08): cancelled 04-15, revoked 04-16: active again, and E renews
    as if the cancellation had never been asked for."""
    h = subscribed()
    h.do("request_cancellation", at="2026-04-15T00:00:00Z", book=h.book)
    assert view(h)["status"] == "pending_cancellation"
    assert do(h, "revoke_cancellation", at="2026-04-16T00:00:00Z") == ["CancellationRevoked"]
    assert (view(h)["status"], view(h)["access_until"]) == ("active", E)
    h.advance("2026-05-01T00:00:01Z")
    assert invoices(h)[1][:2] == (2, "term")
    assert view(h)["status"] == "active"


def test_change_4_status_comes_back_by_precedence() -> None:
    """CHANGE-4: revoked while past due (a declined card, not yet 7 days), the status is
    past_due again, not active (section 8 precedence)."""
    h = subscribed(psp="decline")
    h.advance("2026-04-01T00:00:01Z")
    h.do("request_cancellation", at="2026-04-02T00:00:00Z", book=h.book)
    assert view(h)["status"] == "past_due"
    do(h, "revoke_cancellation", at="2026-04-03T00:00:00Z")
    assert view(h)["status"] == "past_due"


def test_change_4_revocable_up_to_the_instant_it_takes_effect() -> None:
    """CHANGE-4 with section 0: at exactly E the cancellation has not yet taken effect
    (work at E runs after); one second later it has: nothing_to_revoke."""
    h = subscribed()
    h.do("request_cancellation", at="2026-04-15T00:00:00Z", book=h.book)
    do(h, "revoke_cancellation", at=E)
    assert h.advance("2026-05-01T00:00:01Z")[0] == "Renewed"
    g = subscribed()
    g.do("request_cancellation", at="2026-04-15T00:00:00Z", book=g.book)
    g.advance("2026-05-01T00:00:01Z")
    rejects(g, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-05-01T00:00:01Z")


def test_change_4_nothing_pending_is_nothing_to_revoke() -> None:
    """CHANGE-4: no cancellation pending: nothing_to_revoke; a second revoke too."""
    h = subscribed()
    rejects(h, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-04-10T00:00:00Z")
    h.do("request_cancellation", at="2026-04-15T00:00:00Z", book=h.book)
    do(h, "revoke_cancellation", at="2026-04-16T00:00:00Z")
    rejects(h, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-04-17T00:00:00Z")


def test_change_4_a_trial_is_nothing_to_revoke() -> None:
    """CHANGE-4: a trial: nothing_to_revoke, live or cancelled (a trial's cancellation
    ends it at once)."""
    h = _trial()
    rejects(h, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-04-02T00:00:00Z")
    h.do("request_cancellation", at="2026-04-03T00:00:00Z", book=h.book)
    rejects(h, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-04-03T00:00:00Z")


@pytest.mark.parametrize("method", ["card", "bank_transfer"], ids=["refunded", "credited"])
def test_change_4_a_cancellation_that_moved_money_is_final(method: str) -> None:
    """CHANGE-4 with CANCEL-3: device-cloud annual cloud (50.00), cancelled in month 2
    (C = 2 x 5.00): paid by card it refunded 40.00; unpaid (bank transfer) a credit note
    took 40.00 off the invoice. Either way: nothing_to_revoke."""
    h = subscribed(DEVICE_CLOUD, plan="cloud", term="annual", method=method)
    h.do("request_cancellation", at="2026-05-15T00:00:00Z", book=h.book)
    moved = h.named("RefundIssued") + h.named("CreditNoteIssued")
    assert [e.amount for e in moved] == [4000]
    rejects(h, ErrorCode.NOTHING_TO_REVOKE, "revoke_cancellation", at="2026-05-16T00:00:00Z")


def test_change_4_a_prorated_cancellation_that_moved_no_money_can_be_revoked() -> None:
    """CHANGE-4 (the contrast): in month 11 of a cloud annual C = min(50.00, 11 x 5.00)
    is the whole invoice: nothing refunded, nothing credited, so it can be revoked; access
    runs to the term end again and the term renews (card)."""
    h = subscribed(DEVICE_CLOUD, plan="cloud", term="annual")
    h.do("request_cancellation", at="2027-02-15T00:00:00Z", book=h.book)
    assert view(h)["access_until"] == "2027-03-01T00:00:00Z"  # S + 11 months
    do(h, "revoke_cancellation", at="2027-02-16T00:00:00Z")
    assert view(h)["access_until"] == "2027-04-01T00:00:00Z"
    h.advance("2027-04-01T00:00:01Z")
    assert invoices(h)[1][:3] == (2, "term", "50.00")


def test_change_4_a_late_annual_b2b_cancellation_is_revocable_until_the_next_term_end() -> None:
    """CHANGE-4 with RENEW-4: asked after the cutoff (2026-12-25), the contract renews on
    2027-01-05 and the request would end it on 2028-01-05; revoked in between, and even at
    exactly that end, the contract renews again then."""
    h = subscribed(ANNUAL_B2B, plan="standard", term="annual", at="2026-01-05T09:00:00Z")
    h.do("request_cancellation", at="2026-12-25T00:00:00Z", book=h.book)
    assert one(h, "CancellationRequested").rule == "RENEW-4"
    h.advance("2027-06-01T00:00:00Z")
    assert (view(h)["status"], view(h)["access_until"]) == (
        "pending_cancellation",
        "2028-01-05T09:00:00Z",
    )
    h.advance("2028-01-05T09:00:00Z")
    do(h, "revoke_cancellation", at="2028-01-05T09:00:00Z")
    h.advance("2028-01-05T09:00:01Z")
    assert [i[:3] for i in invoices(h)] == [
        (1, "term", "1200.00"),
        (2, "term", "1200.00"),
        (3, "term", "1200.00"),
    ]
    assert view(h)["access_until"] == "2029-01-05T09:00:00Z"


def test_change_4_a_revocation_sends_the_reminder_the_cancellation_skipped() -> None:
    """CHANGE-4 with RENEW-3: quarterly basic to 07-01, cancelled before the 06-01
    reminder and revoked on 06-10: the renewal will charge, so the reminder goes out
    then; at 06-01 none was sent."""
    h = subscribed(term="quarterly")
    h.do("request_cancellation", at="2026-05-01T00:00:00Z", book=h.book)
    h.advance("2026-06-10T00:00:00Z")
    assert h.named("NoticeSent") == []
    assert do(h, "revoke_cancellation", at="2026-06-10T00:00:00Z") == [
        "CancellationRevoked",
        "NoticeSent",
    ]
    reminder = one(h, "NoticeSent")
    assert (reminder.kind, reminder.at) == ("renewal_reminder", t("2026-06-10T00:00:00Z"))


# ================================================================ ACCOUNT-3 (1.1)
@pytest.mark.parametrize(
    ("setup", "command", "kwargs", "closed_at"),
    [
        ("", "change_plan", {"plan": "team"}, "2026-10-20T00:00:00Z"),  # upgrade
        ("", "change_plan", {"plan": "basic", "term": "annual"}, "2026-10-20T00:00:00Z"),
        ("request_cancellation", "revoke_cancellation", {}, "2026-10-20T00:00:00Z"),
        ("", "suspend_account", {"reason": "fraud check"}, "2026-10-01T00:00:00Z"),
        ("suspend_account", "reinstate_account", {}, "2026-10-01T00:00:00Z"),
        ("", "terminate_by_vendor", {"reason": "abuse", "export_days": 30}, "2026-10-01T00:00:00Z"),
    ],
    ids=["upgrade", "scheduled", "revoke", "suspend", "reinstate", "terminate"],
)
def test_account_3_the_customers_changes_are_activity_the_vendors_commands_are_not(
    setup: str, command: str, kwargs: dict[str, Any], closed_at: str
) -> None:
    """ACCOUNT-3 (1.1): change_plan and revoke_cancellation are the customer's activity,
    the vendor's commands are not. crm-retention, subscribed 04-01: six months without
    activity closes it 10-01; a customer command on 04-20 moves that to 10-20."""
    h = subscribed(CRM_RETENTION)
    if setup == "request_cancellation":
        h.do(setup, at=S, book=h.book)
    elif setup == "suspend_account":
        h.do(setup, reason="check", at=S)
    h.advance("2026-04-20T00:00:00Z")
    do(h, command, at="2026-04-20T00:00:00Z", **kwargs)
    h.advance("2027-01-01T00:00:00Z")
    closed = one(h, "AccountClosed")
    assert (closed.at, closed.reason) == (t(closed_at), "inactivity")


def test_notices_tell_the_customer_of_a_plan_change() -> None:
    """CHANGE-2/3: the customer is told (email, effective at once) of an upgrade and of a
    change waiting for the renewal, with what it costs."""
    h = subscribed()
    do(h, "change_plan", plan="team", at="2026-04-11T00:00:00Z")
    do(h, "change_plan", plan="basic", at="2026-04-12T00:00:00Z")
    notices = [(n.kind, n.at, n.effective_at, n.channel) for n in h.named("NoticeSent")]
    assert notices == [
        ("plan_changed", t("2026-04-11T00:00:00Z"), t("2026-04-11T00:00:00Z"), "email"),
        ("plan_change_scheduled", t("2026-04-12T00:00:00Z"), t("2026-04-12T00:00:00Z"), "email"),
    ]
    changed, scheduled = h.named("NoticeSent")
    assert (changed.details["invoice"], changed.details["prorated"]) == (2, 2000)
    assert (scheduled.details["effective_at"], scheduled.details["price"]) == (
        "2026-05-01T00:00:00+00:00",
        3000,
    )
