"""What one client, or a thousand idle ones, can hold of the server (issue 13).

uvicorn bounds a request's head (h11: `max_header_bytes`) and closes a keep-alive
connection idle after an answer, but it waits forever for a request that never comes, or
comes a byte a minute, and it takes connections until the process runs out of file
descriptors: then every accept fails and is logged, and the server is offline.
`BoundedH11Protocol` (uvicorn's h11 protocol, extended) adds:

- a connection cap: at `max_connections`, a new connection closes the connection idle
  the longest (no request in progress); when every one is busy, the new one is closed;
- a header read timeout: a request's head must have arrived `header_timeout` seconds
  after the connection was made (or after the previous answer), however slowly it trickles;
- a body read timeout: its body, `body_timeout` seconds after its head;
- keep-alive: an idle connection is closed after `keep_alive_timeout` seconds, and the
  `max_requests_per_connection`-th answer on one connection says `Connection: close`.

`subledger serve` raises the process's soft limit of open files to fit the cap (and
lowers the cap when the hard limit is too low). What is refused or closed is logged,
rate-limited like every repeated log line (infra/logging.py).
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass, replace
from typing import Any

import h11
import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("subledger.api")
RESERVED_FILES = 256  # for the database pool, logs, the listening socket, libraries


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int = 2048
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_requests_per_connection: int = 1000
    max_header_bytes: int = 16 * 1024
    backlog: int = 2048


def fit_open_files(limits: ServerLimits) -> ServerLimits:
    """Raise the soft limit of open files to what the cap needs (up to the hard limit);
    if the hard limit is lower, lower the cap instead, so that the server never meets
    EMFILE (which would make it refuse everyone and log every second)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + RESERVED_FILES
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft != resource.RLIM_INFINITY and soft - RESERVED_FILES < limits.max_connections:
        cap = max(soft - RESERVED_FILES, 16)
        log.warning(
            "connection cap lowered to fit the open-file limit",
            wanted=limits.max_connections,
            cap=cap,
            open_file_limit=soft,
        )
        return replace(limits, max_connections=cap)
    return limits


class BoundedH11Protocol(H11Protocol):
    """See the module's docstring; `limits` is set by `protocol_for`."""

    limits = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._reading_body = False
        self._requests = 0
        self._idle_since = 0.0

    # ---- connections
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        if len(self.connections) > self.limits.max_connections and not self._evict_idle():
            log.warning(
                "connection refused: every connection is busy",
                max_connections=self.limits.max_connections,
            )
            transport.close()
            return
        self._arm(self.limits.header_timeout, "header")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _evict_idle(self) -> bool:
        """Close the connection waiting longest for a request; False if none is."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, BoundedH11Protocol) and c._waiting()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._idle_since)
        log.info(
            "idle connection closed: at the connection cap",
            max_connections=self.limits.max_connections,
        )
        oldest.transport.close()
        return True

    def _waiting(self) -> bool:
        """Waiting for a request (or for the rest of its head): nothing to lose."""
        return (
            self.conn.their_state is h11.IDLE
            and not self.transport.is_closing()
            and (self.cycle is None or self.cycle.response_complete)
        )

    # ---- reading
    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not None and self.cycle is not before:
            self._requests += 1
            if self._requests >= self.limits.max_requests_per_connection:
                self.headers.append((b"connection", b"close"))  # the scope's own list
        state = self.conn.their_state
        if state is h11.SEND_BODY and not self._reading_body:
            self._reading_body = True
            self._arm(self.limits.body_timeout, "body")
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in: the app answers in its own time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()
        self._reading_body = False
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm(self.limits.header_timeout + self.limits.keep_alive_timeout, "header")

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, self._timed_out, what)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self, what: str) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            return
        log.info(f"connection closed: the request's {what} did not arrive in time")
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def protocol_for(limits: ServerLimits) -> type[BoundedH11Protocol]:
    """uvicorn's `http` setting: the bounded protocol with these limits."""
    return type("LimitedH11Protocol", (BoundedH11Protocol,), {"limits": limits})
