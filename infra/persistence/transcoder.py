"""orjson transcoding of stored events with explicit encodings for non-JSON types.

Amounts in events are integers in minor units (the account's currency is recorded once,
at registration), so money needs no decimal codec on the hot path; `Money`, `Decimal`,
`datetime` and `UUID` are tagged objects like the library's JSONTranscoder writes them,
which keeps stored events readable by its tooling.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Transcoder

from domain.money import Money

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise TypeError("naive datetimes are never stored: every instant is UTC-aware")
        return {"_type_": "datetime_iso", "_data_": obj.isoformat()}
    if isinstance(obj, UUID):
        return {"_type_": "uuid_hex", "_data_": obj.hex}
    if isinstance(obj, Decimal):
        return {"_type_": "decimal_str", "_data_": str(obj)}
    if isinstance(obj, Money):
        return {"_type_": "money_minor", "_data_": [obj.minor, obj.currency]}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"no transcoding for {type(obj).__name__}")


_DECODERS: dict[str, Any] = {
    "datetime_iso": datetime.fromisoformat,
    "uuid_hex": UUID,
    "decimal_str": Decimal,
    "money_minor": lambda data: Money(int(data[0]), str(data[1])),
}


def _revive(value: Any) -> Any:
    """The tagged objects of a freshly parsed document revived, in place: only
    containers are visited (a call per scalar and a new dict per object cost half the
    decode). The stored bytes are untouched, so the hash chain and old stores are too."""
    if type(value) is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            decoder = _DECODERS.get(value["_type_"])
            if decoder is not None:
                return decoder(value["_data_"])
        for k, v in value.items():
            if type(v) is dict or type(v) is list:
                value[k] = _revive(v)
        return value
    if type(value) is list:
        for i, v in enumerate(value):
            if type(v) is dict or type(v) is list:
                value[i] = _revive(v)
    return value


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_default, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return _revive(orjson.loads(data))
