"""The event transcoder reads every stored event of the stores older code wrote exactly
as the generic walk it replaced did (issue 16: decode cost, same bytes)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from domain.money import Money
from infra.persistence.transcoder import _DECODERS, OrjsonTranscoder

STORES = [Path(__file__).parents[1] / f"legacy_{v}" / "ledger.db" for v in ("1_0", "2_0")]


def _generic_revive(value: Any) -> Any:
    """The walk the transcoder used before: a new object at every level."""
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            decoder = _DECODERS.get(value["_type_"])
            if decoder is not None:
                return decoder(value["_data_"])
        return {k: _generic_revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_generic_revive(v) for v in value]
    return value


def test_every_event_of_the_old_stores_decodes_as_before() -> None:
    transcoder = OrjsonTranscoder()
    count = 0
    for store in STORES:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            for (state,) in db.execute("SELECT state FROM stored_events"):
                decoded = transcoder.decode(state)
                assert decoded == _generic_revive(orjson.loads(state))
                assert repr(decoded) == repr(_generic_revive(orjson.loads(state)))
                count += 1
    assert count > 300


def test_nested_tagged_values_are_revived_at_any_depth() -> None:
    transcoder = OrjsonTranscoder()
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    stored = orjson.dumps(
        {
            "at": {"_type_": "datetime_iso", "_data_": at.isoformat()},
            "ids": [
                {"_type_": "uuid_hex", "_data_": UUID(int=7).hex},
                {"inner": [{"_type_": "decimal_str", "_data_": "1.50"}]},
                {"_type_": "money_minor", "_data_": [150, "EUR"]},
            ],
            "plain": {"n": 1, "s": "x", "none": None, "list": [1, 2]},
        }
    )
    assert transcoder.decode(stored) == {
        "at": at,
        "ids": [UUID(int=7), {"inner": [Decimal("1.50")]}, Money(150, "EUR")],
        "plain": {"n": 1, "s": "x", "none": None, "list": [1, 2]},
    }
    assert transcoder.decode(transcoder.encode({"at": at, "d": [Decimal("2")]})) == {
        "at": at,
        "d": [Decimal("2")],
    }
