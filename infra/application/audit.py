"""Auditors' questions of the ledger: is the stored history the one that was written?

The hash chain is recomputed over the whole log (`infra/persistence/event_chain.py`),
and with `[audit]` each signed checkpoint is checked against it and against a balanced
journal. `LedgerAudit` is one of the three parts of `Ledger` (`ledger.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.application.handlers import LedgerApplication
from infra.application.queries import notification_log
from infra.persistence.event_chain import Break, Checkpointer, verify_checkpoints
from infra.persistence.event_chain import verify as verify_chain
from infra.persistence.ledger_store import LedgerStore


class LedgerAudit:
    app: LedgerApplication
    store: LedgerStore
    checkpointer: Checkpointer | None

    def verify(self) -> tuple[int, Break | None]:
        """Recompute the hash chain over the whole log: how many events were checked,
        and the first break, if any."""
        checked = [0]

        def log() -> Iterator[Any]:
            for notification in notification_log(self.app.recorder, 1000):
                checked[0] += 1
                yield notification

        def chain() -> Iterator[tuple[int, bytes]]:
            after = 0
            while True:
                with self.store.transaction(commit=False) as c:
                    c.execute(
                        self.store.dialect(
                            "SELECT position, hash FROM {t:event_chain} WHERE position > ? "
                            "ORDER BY position LIMIT 1000"
                        ),
                        (after,),
                    )
                    rows = [(int(r["position"]), bytes(r["hash"])) for r in c.fetchall()]
                if not rows:
                    return
                yield from rows
                after = rows[-1][0]

        found = verify_chain(log(), chain())
        if found is None and self.checkpointer is not None:
            found = verify_checkpoints(
                self._checkpoints(),
                self._chain_hash_at,
                self.checkpointer.key.public_key(),
                self._balanced_at,
            )
        return checked[0], found

    def _checkpoints(self) -> list[tuple[int, bytes, bytes]]:
        with self.store.transaction(commit=False) as c:
            c.execute(
                self.store.dialect(
                    "SELECT position, hash, signature FROM {t:chain_checkpoints} ORDER BY position"
                )
            )
            return [
                (int(r["position"]), bytes(r["hash"]), bytes(r["signature"])) for r in c.fetchall()
            ]

    def _chain_hash_at(self, position: int) -> bytes | None:
        with self.store.transaction(commit=False) as c:
            c.execute(
                self.store.dialect("SELECT hash FROM {t:event_chain} WHERE position=?"), (position,)
            )
            row = c.fetchone()
        return None if row is None else bytes(row["hash"])

    def _balanced_at(self, position: int) -> bool:
        """Every journal line up to the position has two sides and no negative amount:
        debits equal credits there, line by line."""
        with self.store.transaction(commit=False) as c:
            c.execute(
                self.store.dialect(
                    "SELECT COUNT(*) AS bad FROM {t:journal} WHERE position <= ? AND (debit IS "
                    "NULL OR credit IS NULL OR debit = credit OR amount < 0)"
                ),
                (position,),
            )
            return int(c.fetchone()["bad"]) == 0
