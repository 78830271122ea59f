"""kafka-python's close race is dropped from stderr; its other records are not."""

from __future__ import annotations

import logging
import sys

from infra.logging import ClosedSocketRace


def record(name: str, message: str, exc: BaseException | None) -> logging.LogRecord:
    info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, info)


def test_only_the_read_of_an_already_closed_socket_is_dropped() -> None:
    race = ClosedSocketRace()
    closed = "<KafkaTCPTransport [none] (closed)>: Error receiving network data closing socket"
    assert not race.filter(record("kafka.net.transport", closed, AttributeError("recv")))
    assert race.filter(record("kafka.net.transport", closed, ConnectionResetError()))
    assert race.filter(record("kafka.net.transport", "<KafkaTCPTransport [b1]>: boom", None))
    assert race.filter(record("kafka.producer", closed, AttributeError("recv")))
