"""MRR movements of a month, from the event log: how the monthly recurring revenue got
from its opening to its closing figure.

Each account's events are folded with the projection's own `fold` (the account view), in
log order; its MRR (`reports.account_mrr`) is read after each instant at which something
happened to it, so that the events of one command or one renewal (a renewal and its
invoice, an upgrade and its proration) count as one change. A change in the month is:

- `new`: from nothing to some MRR, for an account that never had any before;
- `reactivation`: from nothing to some, for an account that had MRR once (it churned);
- `expansion`: up, live before and after (an upgrade, CHANGE-2; a dearer renewal);
- `contraction`: down but still live (a downgrade taking effect at the renewal,
  CHANGE-3; a cheaper renewal, the end of a first-term discount's opposite);
- `churn`: down to nothing (a cancellation taking effect, a term not renewed, a vendor
  termination, VENDOR-2, a cancellation for non-payment, VENDOR-3, a closure).

`contraction` and `churn` are negative, so that opening + the five movements = closing,
account by account. Opening is the MRR as of the month's first instant (the events
effective before it), closing as of the next month's first instant, or of an earlier
`until` (a month to date): the same figures as the `mrr` report asked as of those
instants. Amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.calendar import format_instant, parse_instant
from projections.account_view import fold, new_doc
from projections.documents import AccountDoc, Movement, MrrMovementsRow
from projections.event_records import EventRecord
from projections.reports import account_mrr

MOVEMENTS: tuple[Movement, ...] = ("new", "expansion", "contraction", "churn", "reactivation")


@dataclass
class _Account:
    doc: AccountDoc
    mrr: int = 0  # after the last event folded
    opening: int | None = None  # before its first change in the month
    had_mrr: bool = False  # it had MRR at some point before the change being classified
    group_at: str | None = None  # the instant of the change being gathered
    group_from: int = 0  # its MRR before that change


@dataclass
class MrrMovements:
    """Folds account event records effective before `until`; `row()` is the report."""

    start: datetime
    until: datetime
    accounts: dict[str, _Account] = field(default_factory=dict)
    totals: dict[Movement, int] = field(default_factory=lambda: dict.fromkeys(MOVEMENTS, 0))

    def add(self, record: EventRecord) -> None:
        at = parse_instant(record.at)
        if at >= self.until:
            return
        account = self.accounts.get(record.originator_id)
        if account is None:
            account = self.accounts[record.originator_id] = _Account(new_doc(record.get("ref", "")))
        if account.group_at != record.at:
            self._close(account)
            account.group_at, account.group_from = record.at, account.mrr
            if at >= self.start and account.opening is None:
                account.opening = account.mrr
        fold(account.doc, record)
        account.mrr = account_mrr(account.doc)

    def _close(self, account: _Account) -> None:
        """Classify the change gathered at `group_at` (only if it falls in the month)."""
        if account.group_at is None:
            return
        before, after = account.group_from, account.mrr
        if parse_instant(account.group_at) >= self.start and before != after:
            kind: Movement
            if before == 0:
                kind = "reactivation" if account.had_mrr else "new"
            elif after == 0:
                kind = "churn"
            else:
                kind = "expansion" if after > before else "contraction"
            self.totals[kind] += after - before
        account.had_mrr = account.had_mrr or before > 0 or after > 0
        account.group_at = None

    def row(self, month: str) -> MrrMovementsRow:
        for account in self.accounts.values():
            self._close(account)
        opening = sum(a.mrr if a.opening is None else a.opening for a in self.accounts.values())
        closing = sum(a.mrr for a in self.accounts.values())
        t = self.totals
        return {
            "month": month,
            "opening": opening,
            "new": t["new"],
            "expansion": t["expansion"],
            "contraction": t["contraction"],
            "churn": t["churn"],
            "reactivation": t["reactivation"],
            "closing": closing,
            "until": format_instant(self.until),
        }


def movements(
    records: Iterable[EventRecord], start: datetime, until: datetime, month: str
) -> MrrMovementsRow:
    """The month's row from the account event records in log order."""
    report = MrrMovements(start, until)
    for record in records:
        report.add(record)
    return report.row(month)
