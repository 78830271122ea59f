"""A booked payment reference as a stream of its own, so the event store enforces it.

An account refuses a reference it has already booked, but that check reads the account
first. The claim makes the reference a natural key: its id is derived from the account
and the reference, and it is saved in the same transaction as the payment, so two
writers booking one reference at the same moment cannot both commit (the second one's
claim collides at version 1, whatever any process had read).
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def claim_id(account_ref: str, reference: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"subledger:/accounts/{account_ref}/references/{reference}")


class ReferenceClaim(Aggregate):
    class_version = 1

    class Claimed(Aggregate.Created):
        class_version = 1
        account: str
        reference: str
        via: str

    @staticmethod
    def create_id(account: str, reference: str, **_: Any) -> UUID:
        return claim_id(account, reference)

    @event(Claimed)
    def __init__(self, account: str, reference: str, via: str) -> None:
        self.account = account
        self.reference = reference
        self.via = via
