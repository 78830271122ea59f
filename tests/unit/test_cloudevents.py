"""The CloudEvents envelope of a stored event (infra/messaging/cloudevents.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import Notification

from infra.messaging.cloudevents import encode, envelope, event_type
from infra.messaging.relay import partition_for
from infra.persistence.transcoder import OrjsonTranscoder

AID = UUID("12345678-1234-5678-1234-567812345678")
AT = datetime(2026, 1, 5, 9, tzinfo=UTC)
RECORDED = datetime(2026, 11, 23, 12, 0, 1, tzinfo=UTC)


def stored(topic: str, version: int, position: int, **fields: object) -> Notification:
    state = OrjsonTranscoder().encode({"timestamp": RECORDED, **fields})
    return Notification(
        id=position, originator_id=AID, originator_version=version, topic=topic, state=state
    )


def test_registered_carries_no_personal_field_and_a_stable_id() -> None:
    n = stored(
        "domain.account:Account.Registered",
        1,
        7,
        ref="acme",
        at=AT,
        currency="EUR",
        profile={"name": "annual-b2b"},
        personal="c2VhbGVk",
        birth_date="1980-01-01",
    )
    doc = envelope(n, "urn:subledger:test")
    assert doc["id"] == f"{AID}:1" == envelope(n, "urn:subledger:test")["id"]
    assert doc["type"] == "subledger.account.Registered.v1"
    assert (doc["subject"], doc["partitionkey"]) == (str(AID), str(AID))
    assert doc["time"] == "2026-01-05T09:00:00Z"  # effective, not recorded
    assert doc["recordedtime"] == "2026-11-23T12:00:01Z"
    assert (doc["streamversion"], doc["position"]) == (1, 7)
    assert doc["data"] == {
        "ref": "acme",
        "at": "2026-01-05T09:00:00Z",
        "currency": "EUR",
        "profile": {"name": "annual-b2b"},
    }


def test_message_key_headers_and_partition() -> None:
    n = stored(
        "domain.account:Account.PaymentReceived",
        4,
        99,
        at=AT,
        amount=2900,
        reference="r1",
        via="manual",
        allocations=[],
        to_credit=0,
    )
    key, value, headers = encode(n, "urn:x")
    assert key == str(AID).encode()
    assert dict(headers) == {
        "content-type": b"application/cloudevents+json",
        "subledger-position": b"99",
    }
    assert orjson.loads(value)["data"]["amount"] == 2900  # minor units, an integer
    assert partition_for(key, 8) == partition_for(key, 8) < 8


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("domain.account:Account.PaymentReceived", ("Account", "PaymentReceived")),
        (
            "domain.pricing:PriceSchedule.PriceChangeAnnounced",
            ("PriceSchedule", "PriceChangeAnnounced"),
        ),
        ("domain.reference_claim:ReferenceClaim.Claimed", ("ReferenceClaim", "Claimed")),
    ],
)
def test_event_types_name_the_aggregate_and_the_event(
    topic: str, expected: tuple[str, str]
) -> None:
    assert event_type(topic) == expected


@pytest.mark.parametrize(
    ("name", "fields", "data"),
    [
        (
            "PlanChanged",
            {
                "at": AT,
                "plan": "pro",
                "term": "monthly",
                "from_plan": "basic",
                "price": 9900,
                "prorated": 2000,
            },
            {
                "plan": "pro",
                "term": "monthly",
                "from_plan": "basic",
                "price": 9900,
                "prorated": 2000,
            },
        ),
        (
            "PlanChangeScheduled",
            {
                "at": AT,
                "plan": "basic",
                "term": "annual",
                "effective_at": datetime(2026, 2, 5, 9, tzinfo=UTC),
            },
            {"plan": "basic", "term": "annual", "effective_at": "2026-02-05T09:00:00Z"},
        ),
        (
            "TerminatedByVendor",
            {
                "at": AT,
                "reason": "breach of art. 7",
                "export_until": datetime(2026, 2, 4, 9, tzinfo=UTC),
                "then": "soft_delete",
            },
            {
                "reason": "breach of art. 7",
                "export_until": "2026-02-04T09:00:00Z",
                "then": "soft_delete",
            },
        ),
        (
            "LiquidatedDamagesCharged",
            {"at": AT, "cid": "ld:3", "amount": 24000, "basis": 120000},
            {"cid": "ld:3", "amount": 24000, "basis": 120000},
        ),
    ],
)
def test_the_2_0_events_travel_with_their_own_types(
    name: str, fields: dict[str, object], data: dict[str, object]
) -> None:
    """SPEC 2.0 sections 10-11 on Kafka: `subledger.account.<Name>.v1`, effective time,
    amounts in minor units, instants as `Z` text; nothing personal."""
    doc = envelope(stored(f"domain.account:Account.{name}", 5, 40, **fields), "urn:x")
    assert doc["type"] == f"subledger.account.{name}.v1"
    assert doc["time"] == "2026-01-05T09:00:00Z"
    assert doc["data"] == {"at": "2026-01-05T09:00:00Z", **data}
