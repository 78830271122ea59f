"""PAY-4: how money received (or credit held) is spread over what is owed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Owed:
    """One unpaid charge: `cid` names it in events ("inv:1", "int:1:0", "comp:1", "cost:1")."""

    cid: str
    kind: str
    age: int
    unpaid: int


def allocate(
    amount: int, owed: Iterable[Owed], order: Sequence[str]
) -> tuple[list[tuple[str, int]], int]:
    """Pay classes in `order`, oldest first within a class; return lines and the rest.

    Kinds missing from `order` are paid after it, oldest first, so nothing owed is ever
    skipped by a profile that forgot a class.
    """
    rank = {kind: i for i, kind in enumerate(order)}
    queue = sorted(
        (o for o in owed if o.unpaid > 0), key=lambda o: (rank.get(o.kind, len(rank)), o.age, o.cid)
    )
    lines: list[tuple[str, int]] = []
    remaining = amount
    for item in queue:
        if remaining <= 0:
            break
        part = min(remaining, item.unpaid)
        lines.append((item.cid, part))
        remaining -= part
    return lines, remaining
