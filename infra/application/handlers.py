"""The event-sourced application and its command handlers, in get-call-save form.

`LedgerApplication.handle` looks the command's handler up in `HANDLERS`, an explicit
registry at the end of this module (`{c.RecordPayment: record_payment, ...}`): one
function per command, which loads the aggregate(s), calls one domain command and saves
everything the command changed in one atomic `save`. The HTTP request a command answers
(`request_mark`) is an argument of the handler and of that save, written by the recorder
in the same transaction (`infra/persistence/extras.py`); scheduled work and consequences
are saved without it.

Personal fields are sealed here (GDPR-5) before the domain sees them, with the account's
data key from the key store. Countries and VAT ids are checked here too
(`infra/interface/vat_ids.py`, TAX-2): the VAT id is sealed with the invoice identity,
the domain is told the country and whether a validated VAT id is held.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, RecordConflictError, Transcoder
from eventsourcing.utils import Environment

from consumers.ports import PersonalDataErasedError, invoice_key_id
from domain import commands as c
from domain.account import Account, account_id
from domain.calendar import format_instant
from domain.email_cooldown import check_registration
from domain.errors import ErrorCode, Rejected
from domain.personal_data import personal_data_erased
from domain.pricing import PRICE_SCHEDULE_ID, PriceBook, PriceSchedule
from domain.profiles import ContractProfile
from domain.reference_claim import ReferenceClaim
from domain.tax import TaxTable
from infra.application.repository import LedgerRepository
from infra.interface.vat_ids import check_country, check_vat_id
from infra.persistence.extras import PriceScheduleChangedError, RequestMark
from infra.persistence.keystore import KeyStore
from infra.persistence.transcoder import OrjsonTranscoder
from projections.sql import SqlDialect

CONFLICT_RETRIES = 12  # optimistic concurrency: bounded, then `conflict`
BACKOFF_SECONDS = 0.002  # first pause after a conflict; doubles, with jitter
PERSONAL_FIELDS = ("name", "email", "phone", "address", "birth_date")
CONTACT_FIELDS = ("name", "email", "phone", "birth_date")  # the contact key
INVOICE_FIELDS = ("name", "address", "vat_id")  # the invoice identity key (GDPR-3)

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a command did: `recorded` is False for idempotent no-ops."""

    recorded: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingSave:
    """A save noted while `LedgerApplication.deferring`, made later with others."""

    objs: tuple[Any, ...]
    request_mark: RequestMark | None
    kwargs: dict[str, Any]


class LedgerApplication(Application[UUID]):
    name = "subledger"
    # the persistence settings come from infra/persistence/database.py; the cache
    # (infra/application/repository.py) brings an aggregate up to date with the store on
    # every load, so another process's writes are never missed
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    aggregates: LedgerRepository

    def __init__(
        self,
        *,
        profile: ContractProfile,
        currency: str,
        catalog: dict[str, dict[str, int]],
        env: dict[str, str],
        sql: SqlDialect,
        master_key: bytes,
        tax: TaxTable | None = None,
    ) -> None:
        super().__init__(env=env)
        self.profile = profile
        self.currency = currency
        self.catalog = catalog
        self.tax = tax  # SPEC section 9; None: no taxes
        self.keys = KeyStore(self.datastore, sql, master_key)
        self._deferred = threading.local()  # see `deferring`
        # (schedule version, book): the price book as of that version of the schedule,
        # None until read; every save is checked against that version in its transaction
        self._book: tuple[int, PriceBook] | None = None
        self._priced = threading.local()  # .version: the book this thread's save priced with
        # set by the composition root: the read model that knows who is on which plan
        self.subscribers: Callable[[str, str], list[UUID]] = lambda plan, term: []

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """The library's settings come from infra/persistence/database.py and this class
        only. The library would also read the process environment, where, for one,
        `POSTGRES_ENABLE_DB_FUNCTIONS=y` (or `SUBLEDGER_POSTGRES_...`) silently switches
        to an insert path that writes no hash chain, no deadlines and no keys."""
        return Environment(name, {**type(self).env, **(env or {})})

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def construct_repository(self) -> LedgerRepository:
        self.aggregates = LedgerRepository(
            self.events, maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 10000)
        )
        return self.aggregates

    @property
    def datastore(self) -> Any:
        """The library's datastore under this application's recorders (SQLite or
        PostgreSQL): the connection pool every store of the ledger shares, so that a
        save and the rows written beside it are one transaction."""
        return getattr(self.factory, "datastore", None)

    def save(self, *objs: Any, request_mark: RequestMark | None = None, **kwargs: Any) -> Any:
        """Save, in one transaction with the events: each saved account's next deadline,
        a claim for every payment reference it books (domain/reference_claim.py), and
        the mark of the HTTP request it answers, if any (infra/persistence/extras.py).

        The price book this process holds is checked in that transaction against the
        stored schedule (another process may have announced a price change): if it moved,
        the save fails as a conflict, the book is read again and the command retried.
        Saved aggregates go into the cache (only then: see repository.py).
        Inside `deferring`, the save is only noted, to be made by `save_together`."""
        saves: list[PendingSave] | None = getattr(self._deferred, "saves", None)
        if saves is not None:
            priced_with = self._forget_pricing()
            if priced_with is not None and not any(isinstance(o, PriceSchedule) for o in objs):
                kwargs["price_schedule_version"] = priced_with
            saves.append(PendingSave(objs, request_mark, kwargs))
            return []
        accounts = [o for o in objs if isinstance(o, Account)]
        schedules = [o for o in objs if isinstance(o, PriceSchedule)]
        deadlines = [(str(a.id), a.next_deadline()) for a in accounts]
        claims = [
            ReferenceClaim(account=a.ref, reference=reference, via=via)
            for a in accounts
            for reference, via in a.new_references()
        ]
        if request_mark is not None:
            kwargs["request_mark"] = request_mark
        priced_with = self._forget_pricing()
        if priced_with is not None and not schedules:
            kwargs["price_schedule_version"] = priced_with
        try:
            recordings = super().save(*objs, *claims, deadlines=deadlines, **kwargs)
        except PriceScheduleChangedError:
            self._book = None
            raise
        self.aggregates.keep(objs)
        if schedules:
            self._book = (schedules[-1].version, self.book_of(schedules[-1]))
        return recordings

    @contextmanager
    def deferring(self, saves: list[PendingSave]) -> Iterator[None]:
        """Within it, this thread's saves are appended to `saves` instead of written: a
        command handled here is saved later, with others, by `save_together` (group
        commit, infra/application/group_commit.py). A handler saves last, so a command
        refused by its rules leaves nothing in `saves`."""
        self._deferred.saves = saves
        try:
            yield
        finally:
            self._deferred.saves = None

    def save_together(self, saves: list[PendingSave]) -> None:
        """Several commands' deferred saves as one transaction: all or nothing. Raises
        `IntegrityError` (a conflict) as a single save would."""
        objs: list[Any] = []
        marks: list[RequestMark] = []
        new_keys: list[Any] = []
        priced: set[int] = set()
        for pending in saves:
            unknown = set(pending.kwargs) - {"new_keys", "price_schedule_version"}
            assert not unknown, f"a deferred save cannot carry {unknown}"
            objs += pending.objs
            new_keys += pending.kwargs.get("new_keys", ())
            if pending.kwargs.get("price_schedule_version") is not None:
                priced.add(pending.kwargs["price_schedule_version"])
            if pending.request_mark is not None:
                marks.append(pending.request_mark)
        if len(priced) > 1:  # the book moved within the group: one of them is stale
            self._book = None
            raise PriceScheduleChangedError(f"the group priced with versions {sorted(priced)}")
        version = priced.pop() if priced else None
        self.save(*objs, request_marks=marks, new_keys=new_keys, price_schedule_version=version)

    # ------------------------------------------------------------ helpers
    def price_book(self) -> PriceBook:
        """The book of this process, read from the store once, then kept: a save of the
        schedule here replaces it; one elsewhere is found by the check of the save that
        follows in this thread (a conflict: `retrying` runs the attempt again, which
        reads the book again). Call it inside the attempt, not before."""
        book = self._book
        if book is None:
            try:
                schedule: PriceSchedule = self.repository.get(PRICE_SCHEDULE_ID)
            except AggregateNotFoundError:
                book = (0, PriceBook(self.catalog, tax=self.tax))
            else:
                assert isinstance(schedule, PriceSchedule)
                book = (schedule.version, self.book_of(schedule))
            self._book = book
        self._priced.version = book[0]  # checked by this thread's next save
        return book[1]

    def _forget_pricing(self) -> int | None:
        version: int | None = getattr(self._priced, "version", None)
        self._priced.version = None
        return version

    def book_of(self, schedule: PriceSchedule) -> PriceBook:
        return PriceBook(self.catalog, tuple(schedule.changes), tax=self.tax)

    def account(self, ref: str, *, to_change: bool = False) -> Account:
        """`to_change`: the writer's own, taken out of the cache (`take`); else a copy."""
        try:
            return self.take(account_id(ref)) if to_change else self.load(account_id(ref))
        except AggregateNotFoundError:
            raise Rejected(ErrorCode.UNKNOWN_ACCOUNT, f"no account {ref!r}") from None

    def load(self, aid: UUID) -> Account:
        """A copy, for reading."""
        account: Account = self.repository.get(aid)
        assert isinstance(account, Account)
        return account

    def exists(self, aid: UUID) -> bool:
        """Whether the store holds any event of the aggregate (one row read)."""
        return bool(self.recorder.select_events(aid, limit=1))

    def take(self, aid: UUID) -> Account:
        """For a command: the cached account itself, out of the cache until saved."""
        account: Account = self.aggregates.take(aid)
        assert isinstance(account, Account)
        return account

    def record_collection_outcomes(self, outcomes: list[tuple[UUID, str, bool, datetime]]) -> None:
        """The provider's answers (TERM-3/4), a batch in one transaction; each reference is
        booked once, so a redelivered answer changes nothing."""

        def answer() -> tuple[list[Any], None]:
            changed: dict[UUID, Account] = {}
            taken: dict[UUID, Account] = {}
            for aid, reference, approved, at in outcomes:
                account = taken.get(aid) or taken.setdefault(aid, self.take(aid))
                done = (
                    account.collection_succeeded(reference=reference, at=at)
                    if approved
                    else account.collection_failed(reference=reference, at=at)
                )
                if done:
                    changed[aid] = account
            return list(changed.values()), None

        self.retrying(answer, "collection answers kept conflicting")

    def record_notice_delivery(
        self, aid: UUID, *, notice_id: str, kind: str, at: datetime, channel: str, outcome: str
    ) -> bool:
        """The notifier's record of a notice it delivered; once per notice."""

        def deliver() -> tuple[list[Any], bool]:
            account = self.take(aid)
            done = account.record_notice_delivery(
                notice_id=notice_id, kind=kind, at=at, channel=channel, outcome=outcome
            )
            return ([account], True) if done else ([], False)

        return self.retrying(deliver, "the account kept changing; try again")

    def update(
        self, ref: str, change: Callable[[Account], T], *, request_mark: RequestMark | None = None
    ) -> T:
        """Get, call, save; retried on a concurrent write, never applied twice."""

        def once() -> tuple[list[Any], T]:
            account = self.account(ref, to_change=True)
            return [account], change(account)

        return self.retrying(
            once, f"account {ref} kept changing; try again", request_mark=request_mark
        )

    def retrying(
        self,
        attempt: Callable[[], tuple[list[Any], T]],
        conflict: str,
        *,
        request_mark: RequestMark | None = None,
    ) -> T:
        """The one conflict loop: `attempt` loads afresh and returns what to save and the
        result; a concurrent write makes it run again after a pause (not after the last
        try), and after CONFLICT_RETRIES the command is refused `conflict`, nothing
        recorded. Nothing to save: the result at once."""
        for tries in range(CONFLICT_RETRIES):
            self._forget_pricing()  # an attempt that prices reads the book itself
            objects, result = attempt()
            if not objects:
                return result
            try:
                self.save(*objects, request_mark=request_mark)
            except RecordConflictError:
                if tries + 1 < CONFLICT_RETRIES:
                    _back_off(tries)
                continue
            return result
        raise Rejected(ErrorCode.CONFLICT, conflict)

    def personal_data(self, account: Account) -> dict[str, Any] | None:
        """The account's personal fields in clear (contact, plus the address of the
        invoice identity), or None once the contact data is erased (GDPR-5)."""
        if account.personal_data_gone:
            return None
        try:
            fields = self.keys.open(str(account.id), account.personal)
        except PersonalDataErasedError:
            return None
        identity = self.invoice_identity(account) or {}
        return {**fields, "address": identity.get("address", fields.get("address"))}

    def invoice_identity(self, account: Account) -> dict[str, Any] | None:
        """The billing name and address the invoices carry, while retained (GDPR-3)."""
        if not account.billing or account.billing_state == "erased":
            return None
        key_id = invoice_key_id(str(account.id))
        try:
            return self.keys.open(key_id, account.billing)
        except PersonalDataErasedError:
            return None

    def handle(
        self,
        command: c.Command,
        *,
        request_mark: RequestMark | None = None,
    ) -> Outcome:
        """Run the command's handler (`HANDLERS`); `request_mark`: the HTTP request it
        answers, saved with its events."""
        self._forget_pricing()
        return HANDLERS[type(command)](self, command, request_mark)

    def export(self, account: Account, at: datetime) -> dict[str, Any]:
        """GDPR-4: everything held about the subject, personal fields as erased if erased."""
        personal = self.personal_data(account)
        fields = dict.fromkeys(PERSONAL_FIELDS, "erased") if personal is None else personal
        identity = self.invoice_identity(account)
        return {
            "account": account.ref,
            "exported_at": format_instant(at),
            "personal_data": account.personal_state,
            "fields": fields,
            "invoice_identity": {  # GDPR-3: what the invoices keep, and until when
                "state": account.billing_state,
                "fields": identity or "erased",
                "retained_until": format_instant(account.billing_erase_at),
            },
            "profile": account.profile.name,
            "country": account.country,
            "registered_at": format_instant(account.registered_at),
            "closed_at": format_instant(account.closed_at),
        }


# ---------------------------------------------------------------- the handlers
# One function per command: (application, command, the HTTP request it answers) ->
# Outcome. Registered in HANDLERS below.
Mark = RequestMark | None


def register_account(app: LedgerApplication, cmd: c.RegisterAccount, mark: Mark) -> Outcome:
    """An existing account is found by the events' unique key when the save inserts the
    first event (no read before), or in the cache. Its refusal still comes before the
    others: a registration refused for another reason asks the store whether the account
    exists, and if so says that."""
    aid = account_id(cmd.account)
    exists = Rejected(ErrorCode.ACCOUNT_EXISTS, f"account {cmd.account!r} exists")
    if app.aggregates.holds(aid):
        raise exists
    try:
        account, key, invoice_key = _new_account(app, cmd, aid)
    except Rejected:
        if app.exists(aid):
            raise exists from None
        raise
    invoice_id = invoice_key_id(str(aid))
    try:
        app.save(
            account,
            request_mark=mark,
            new_keys=[
                (str(aid), app.keys.wrap(str(aid), key)),
                (invoice_id, app.keys.wrap(invoice_id, invoice_key)),
            ],
        )
    except IntegrityError:
        raise exists from None
    return Outcome()


def _new_account(
    app: LedgerApplication, cmd: c.RegisterAccount, aid: UUID
) -> tuple[Account, bytes, bytes]:
    """The account a registration records and its two data keys, or the refusal."""
    if app.profile.email_cooldown_days:  # ACCOUNT-5: the key store only looks it up
        check_registration(
            app.profile.email_cooldown_days, app.keys.cooldown_end(cmd.email, cmd.at), cmd.at
        )
    country = None if cmd.country is None else check_country(cmd.country)
    vat = None
    if cmd.vat_id:
        if country is None:
            raise Rejected(
                ErrorCode.INVALID_INPUT, "a vat_id needs the account's country", field="country"
            )
        vat = check_vat_id(cmd.vat_id, country)
    contact = {
        "name": cmd.name,
        "email": cmd.email,
        "phone": cmd.phone,
        "birth_date": None if cmd.birth_date is None else cmd.birth_date.isoformat(),
    }
    identity = {"name": cmd.name, "address": cmd.address}
    if vat is not None:  # only when given: the identity of an untaxed ledger stays
        identity["vat_id"] = vat.text
    key, invoice_key = KeyStore.new_key(), KeyStore.new_key()
    invoice_id = invoice_key_id(str(aid))
    account = Account.register(
        ref=cmd.account,
        profile=app.profile,
        currency=app.currency,
        at=cmd.at,
        personal=KeyStore.seal(key, str(aid), contact),
        billing=KeyStore.seal(invoice_key, invoice_id, identity),
        birth_date=cmd.birth_date,
        country=country,
        vat_registered=vat is not None and vat.verified,
        tax=app.tax,
    )
    return account, key, invoice_key


def start_trial(app: LedgerApplication, cmd: c.StartTrial, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.start_trial(plan=cmd.plan, at=cmd.at, book=app.price_book()),
        request_mark=mark,
    )
    return Outcome()


def subscribe(app: LedgerApplication, cmd: c.Subscribe, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.subscribe(
            plan=cmd.plan,
            term=cmd.term,
            method=cmd.payment_method,
            at=cmd.at,
            book=app.price_book(),
            discount_percent=cmd.discount_percent,
        ),
        request_mark=mark,
    )
    return Outcome()


def purchase_prepaid(app: LedgerApplication, cmd: c.PurchasePrepaid, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.purchase_prepaid(
            plan=cmd.plan,
            months=cmd.months,
            method=cmd.payment_method,
            at=cmd.at,
            book=app.price_book(),
        ),
        request_mark=mark,
    )
    return Outcome()


def cancel_queued(app: LedgerApplication, cmd: c.CancelQueued, mark: Mark) -> Outcome:
    app.update(cmd.account, lambda a: a.cancel_queued(at=cmd.at), request_mark=mark)
    return Outcome()


def record_payment(app: LedgerApplication, cmd: c.RecordPayment, mark: Mark) -> Outcome:
    recorded = app.update(
        cmd.account,
        lambda a: a.record_payment(amount=cmd.amount, reference=cmd.reference, at=cmd.at),
        request_mark=mark,
    )
    return Outcome(recorded=recorded)


def record_collection_cost(
    app: LedgerApplication, cmd: c.RecordCollectionCost, mark: Mark
) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.record_collection_cost(amount=cmd.amount, at=cmd.at),
        request_mark=mark,
    )
    return Outcome()


def dispute_invoice(app: LedgerApplication, cmd: c.DisputeInvoice, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.dispute_invoice(n=cmd.invoice, reason=cmd.reason, at=cmd.at),
        request_mark=mark,
    )
    return Outcome()


def request_cancellation(app: LedgerApplication, cmd: c.RequestCancellation, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.request_cancellation(at=cmd.at, book=app.price_book()),
        request_mark=mark,
    )
    return Outcome()


def record_activity(app: LedgerApplication, cmd: c.RecordActivity, mark: Mark) -> Outcome:
    app.update(cmd.account, lambda a: a.record_activity(at=cmd.at), request_mark=mark)
    return Outcome()


def update_personal_data(app: LedgerApplication, cmd: c.UpdatePersonalData, mark: Mark) -> Outcome:
    def change(account: Account) -> None:
        account.ensure_open()
        aid, invoice_id = str(account.id), invoice_key_id(str(account.id))
        key = app.keys.key(aid)
        if key is None or account.personal_data_gone:
            raise personal_data_erased()
        contact = app.keys.open(aid, account.personal)
        for name in CONTACT_FIELDS:
            value = getattr(cmd, name, None)
            if value is not None:
                contact[name] = value
        billing = ""
        identity = app.invoice_identity(account)
        invoice_key = app.keys.key(invoice_id)
        tax_id = _tax_identity_update(account, cmd, identity)
        if (
            identity is not None
            and invoice_key is not None
            and (cmd.name is not None or cmd.address is not None or tax_id is not None)
        ):
            identity.update(
                {k: getattr(cmd, k) for k in ("name", "address") if getattr(cmd, k) is not None}
            )
            if tax_id is not None and tax_id[1] is not None:
                identity["vat_id"] = tax_id[1]
            elif tax_id is not None:
                identity.pop("vat_id", None)
            billing = KeyStore.seal(invoice_key, invoice_id, identity)
        account.update_personal_data(
            at=cmd.at,
            personal=KeyStore.seal(key, aid, contact),
            billing=billing,
            country=None if tax_id is None else tax_id[0],
            vat_registered=None if tax_id is None else tax_id[2],
        )

    app.update(cmd.account, change, request_mark=mark)
    return Outcome()


def _tax_identity_update(
    account: Account,
    cmd: c.UpdatePersonalData,
    identity: dict[str, Any] | None,
) -> tuple[str | None, str | None, bool] | None:
    """TAX-2: (country, VAT id, VAT id verified) after the update, or None when
    neither changes. The VAT id kept must be valid for the country after the update:
    moving country means sending the new VAT id (or "" to remove it)."""
    if cmd.country is None and cmd.vat_id is None:
        return None
    country = account.country if cmd.country is None else check_country(cmd.country)
    vat_id = (identity or {}).get("vat_id") if cmd.vat_id is None else cmd.vat_id
    if not vat_id:
        return country, None, False
    if country is None:
        raise Rejected(
            ErrorCode.INVALID_INPUT, "a vat_id needs the account's country", field="country"
        )
    if identity is None:
        raise Rejected(
            ErrorCode.INVALID_INPUT,
            "this account has no invoice identity to hold a VAT id",
            field="vat_id",
        )
    vat = check_vat_id(vat_id, country)
    return country, vat.text, vat.verified


def request_account_closure(
    app: LedgerApplication, cmd: c.RequestAccountClosure, mark: Mark
) -> Outcome:
    app.update(cmd.account, lambda a: a.request_account_closure(at=cmd.at), request_mark=mark)
    return Outcome()


def request_data_deletion(
    app: LedgerApplication, cmd: c.RequestDataDeletion, mark: Mark
) -> Outcome:
    app.update(cmd.account, lambda a: a.request_data_deletion(at=cmd.at), request_mark=mark)
    return Outcome()


def export_personal_data(app: LedgerApplication, cmd: c.ExportPersonalData, mark: Mark) -> Outcome:
    def change(account: Account) -> dict[str, Any]:
        account.export_personal_data(at=cmd.at)
        return app.export(account, cmd.at)

    return Outcome(detail=app.update(cmd.account, change, request_mark=mark))


def announce_price_change(
    app: LedgerApplication, cmd: c.AnnouncePriceChange, mark: Mark
) -> Outcome:
    """PRICE-1: notices to every live subscription on that plan and term; the schedule
    refuses what PRICE-2 and NOTICE-1 do not allow (domain/pricing.py)."""

    def announce() -> tuple[list[Any], Outcome]:
        schedule: PriceSchedule
        try:
            schedule = app.aggregates.take(PRICE_SCHEDULE_ID)
        except AggregateNotFoundError:
            schedule = PriceSchedule()
        assert isinstance(schedule, PriceSchedule)
        book = app.book_of(schedule)  # the schedule as stored now, not as last read
        notice_effective = schedule.announce(
            plan=cmd.plan,
            term=cmd.term,
            new_price=cmd.new_price,
            effective_at=cmd.effective_at,
            announced_at=cmd.at,
            channel=cmd.channel,
            book=book,
            min_notice=app.profile.min_price_notice,
        )
        notified = []
        for aid in app.subscribers(cmd.plan, cmd.term):
            account = app.take(aid)
            if account.notify_price_change(
                plan=cmd.plan,
                term=cmd.term,
                new_price=cmd.new_price,
                effective_at=cmd.effective_at,
                at=cmd.at,
                notice_effective_at=notice_effective,
                channel=cmd.channel,
            ):
                notified.append(account)
        return [schedule, *notified], Outcome(detail={"notified": [a.ref for a in notified]})

    return app.retrying(announce, "the price schedule kept changing; try again", request_mark=mark)


# SPEC 2.0 sections 10-11: plan changes and the vendor's own actions
def change_plan(app: LedgerApplication, cmd: c.ChangePlan, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.change_plan(plan=cmd.plan, term=cmd.term, at=cmd.at, book=app.price_book()),
        request_mark=mark,
    )
    return Outcome()


def revoke_cancellation(app: LedgerApplication, cmd: c.RevokeCancellation, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.revoke_cancellation(at=cmd.at, book=app.price_book()),
        request_mark=mark,
    )
    return Outcome()


def suspend_account(app: LedgerApplication, cmd: c.SuspendAccount, mark: Mark) -> Outcome:
    app.update(
        cmd.account, lambda a: a.suspend_account(reason=cmd.reason, at=cmd.at), request_mark=mark
    )
    return Outcome()


def reinstate_account(app: LedgerApplication, cmd: c.ReinstateAccount, mark: Mark) -> Outcome:
    app.update(cmd.account, lambda a: a.reinstate_account(at=cmd.at), request_mark=mark)
    return Outcome()


def terminate_by_vendor(app: LedgerApplication, cmd: c.TerminateByVendor, mark: Mark) -> Outcome:
    app.update(
        cmd.account,
        lambda a: a.terminate_by_vendor(reason=cmd.reason, export_days=cmd.export_days, at=cmd.at),
        request_mark=mark,
    )
    return Outcome()


def cancel_for_nonpayment(
    app: LedgerApplication, cmd: c.CancelForNonpayment, mark: Mark
) -> Outcome:
    app.update(cmd.account, lambda a: a.cancel_for_nonpayment(at=cmd.at), request_mark=mark)
    return Outcome()


# ---------------------------------------------------------------- the registry
Handler = Callable[[LedgerApplication, Any, Mark], Outcome]
HANDLERS: dict[type[c.Command], Handler] = {
    c.RegisterAccount: register_account,
    c.StartTrial: start_trial,
    c.Subscribe: subscribe,
    c.PurchasePrepaid: purchase_prepaid,
    c.CancelQueued: cancel_queued,
    c.RecordPayment: record_payment,
    c.RecordCollectionCost: record_collection_cost,
    c.DisputeInvoice: dispute_invoice,
    c.RequestCancellation: request_cancellation,
    c.AnnouncePriceChange: announce_price_change,
    c.RecordActivity: record_activity,
    c.UpdatePersonalData: update_personal_data,
    c.RequestAccountClosure: request_account_closure,
    c.RequestDataDeletion: request_data_deletion,
    c.ExportPersonalData: export_personal_data,
    c.ChangePlan: change_plan,
    c.RevokeCancellation: revoke_cancellation,
    c.SuspendAccount: suspend_account,
    c.ReinstateAccount: reinstate_account,
    c.TerminateByVendor: terminate_by_vendor,
    c.CancelForNonpayment: cancel_for_nonpayment,
}


def _back_off(attempt: int) -> None:
    """Spread retrying writers apart: a conflict means another one is writing now."""
    time.sleep(BACKOFF_SECONDS * (2 ** min(attempt, 6)) * (0.5 + random.random()))  # noqa: S311
