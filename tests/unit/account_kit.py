"""A pure, in-memory harness around the `Account` aggregate for the rule tests.

No database, no application: the harness plays the parts the infrastructure plays in the
real ledger, and nothing more. It answers every `CollectionRequested` the way the
simulated payment provider does (psp "approve" or "decline"; any other value leaves
requests unanswered; answered at the request's own instant), and advances the clock with `run_due` one piece of work at a
time, letting the collection answers land before the next piece, like the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.account import Account
from domain.calendar import parse_instant
from domain.pricing import PriceBook, PriceChange
from domain.profiles import BUILT_IN_PROFILES, ContractProfile
from domain.tax import TaxTable

MONTHLY_AUTORENEW = BUILT_IN_PROFILES["monthly-autorenew"]
ANNUAL_B2B = BUILT_IN_PROFILES["annual-b2b"]
CRM_RETENTION = BUILT_IN_PROFILES["crm-retention"]
DEVICE_CLOUD = BUILT_IN_PROFILES["device-cloud"]

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# plan -> term -> minor units; every profile finds its terms here
CATALOG: dict[str, dict[str, int]] = {
    "basic": {"monthly": 2900, "quarterly": 7500, "semiannual": 15000, "annual": 29000},
    "pro": {"monthly": 9900, "annual": 99000},
    "b2b": {"annual": 120000},
    "cloud": {"monthly": 500, "annual": 5000, "prepaid_12": 5500},
}


def t(text: str) -> datetime:
    """An instant from its ISO-8601 `Z` form (through the product's own parser)."""
    return parse_instant(text)


def book(
    catalog: dict[str, dict[str, int]] | None = None,
    changes: Iterable[PriceChange] = (),
    tax: TaxTable | None = None,
) -> PriceBook:
    return PriceBook(catalog or CATALOG, tuple(changes), tax=tax)


def advance(account: Account, to: datetime, price_book: PriceBook) -> list[datetime]:
    """Loop `run_due` until nothing is due strictly before `to`; the instants it ran."""
    ran: list[datetime] = []
    while (at := account.run_due(before=to, book=price_book)) is not None:
        ran.append(at)
        assert len(ran) < 10_000, "run_due never settles"
    return ran


def names(events: Iterable[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


class Harness:
    """One account, its price book, everything it has recorded, and a simulated PSP."""

    def __init__(
        self,
        profile: ContractProfile | str = MONTHLY_AUTORENEW,
        at: datetime | str = "2026-01-05T09:00:00Z",
        *,
        ref: str = "acme",
        catalog: dict[str, dict[str, int]] | None = None,
        changes: Iterable[PriceChange] = (),
        psp: str = "approve",
        tax: TaxTable | None = None,
        country: str | None = None,
        vat_registered: bool = False,
    ) -> None:
        if isinstance(profile, str):
            profile = BUILT_IN_PROFILES[profile]
        self.profile = profile
        self.ref = ref
        self.book = book(catalog, changes, tax)
        self.psp = psp
        self.events: list[Any] = []
        registered = t(at) if isinstance(at, str) else at
        self.account = Account.register(
            ref=ref,
            profile=profile,
            currency="EUR",
            at=registered,
            personal="sealed",
            birth_date=None,
            billing="sealed-billing",
            country=country,
            vat_registered=vat_registered,
            tax=tax,
        )
        self.drain()

    # ------------------------------------------------------------ plumbing
    @property
    def a(self) -> Account:
        return self.account

    def drain(self) -> list[Any]:
        """Collect pending events, answering collection requests until quiet."""
        new: list[Any] = []
        while True:
            batch = self.account.collect_events()
            if not batch:
                return new
            new += batch
            self.events += batch
            for event in batch:
                if type(event).__name__ == "CollectionRequested":
                    if self.psp == "approve":
                        self.account.collection_succeeded(reference=event.reference, at=event.at)
                    elif self.psp == "decline":
                        self.account.collection_failed(reference=event.reference, at=event.at)
                    # any other psp value: the provider never answers

    def do(self, command: str, **kwargs: Any) -> list[str]:
        """Call a command method; fill in `at` from text and `book` when it takes one."""
        if isinstance(kwargs.get("at"), str):
            kwargs["at"] = t(kwargs["at"])
        method: Callable[..., Any] = getattr(self.account, command)
        if command in {"start_trial", "subscribe", "purchase_prepaid", "request_cancellation"}:
            kwargs.setdefault("book", self.book)
        assert self.account.collect_events() == [], "events left pending before a command"
        method(**kwargs)
        return names(self.drain())

    def advance(self, to: datetime | str) -> list[str]:
        """Run scheduled work due strictly before `to` (answering collections as they come)."""
        until = t(to) if isinstance(to, str) else to
        new: list[Any] = []
        for _ in range(10_000):
            if self.account.run_due(before=until, book=self.book) is None:
                return names(new)
            new += self.drain()
        raise AssertionError("run_due never settles")

    def at_then(self, to: datetime | str, command: str, **kwargs: Any) -> list[str]:
        """Advance to `to`, then run the command at exactly `to` (SPEC section 0)."""
        self.advance(to)
        return self.do(command, at=to, **kwargs)

    def named(self, name: str) -> list[Any]:
        return [e for e in self.events if type(e).__name__ == name]

    def event_names(self) -> list[str]:
        return names(self.events)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
