"""`subledger serve`: the API on uvicorn, with the scheduler ticking beside it.

The socket is bound here, before the server starts, so `--port 0` works (the chosen
port is printed) and a caller that connects early waits in the backlog instead of being
refused. uvicorn stops gracefully on SIGINT/SIGTERM: requests in flight finish, then the
scheduler thread and the ledger are closed. Logging is structlog's (uvicorn's own access
log is off: ours never records a header, so no API key reaches a log). The connections
are bounded by `infra/entrypoints/http/limits.py`: a cap, read timeouts, keep-alive limits.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta

import structlog
import uvicorn
from fastapi import FastAPI

from infra.application.ledger import Ledger
from infra.application.scheduler import tick_until
from infra.entrypoints.http.app import create_app
from infra.entrypoints.http.limits import ServerLimits, fit_open_files, protocol_for
from infra.persistence.api_keys import ApiKeyStore
from infra.persistence.idempotency import IdempotencyStore

log = structlog.get_logger("subledger.api")


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown, so the process would die
    by the signal before the ledger is closed; here a signal only asks it to stop, and
    `serve` returns normally (exit 0, as `relay` and `project --follow` do)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self.handle_exit) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def serve(
    ledger: Ledger,
    clock: Callable[[], datetime],
    *,
    host: str,
    port: int,
    tick_every: float,
    max_backdate_days: int,
    future_margin: timedelta = timedelta(minutes=5),
    limits: ServerLimits | None = None,
) -> None:
    limits = fit_open_files(limits or ServerLimits())
    idempotency = IdempotencyStore(ledger.app.datastore, ledger.store.dialect)
    app = create_app(
        ledger,
        ApiKeyStore(ledger.app.datastore, ledger.store.dialect),
        idempotency,
        clock,
        max_backdate=timedelta(days=max_backdate_days),
        future_margin=future_margin,
    )
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        def forget_old_keys(at: datetime, _ran: int) -> None:
            idempotency.prune(int(at.timestamp()))

        scheduler = None
        if tick_every > 0:  # due work (renewals, dunning, erasures) on the wall clock
            scheduler = threading.Thread(
                target=tick_until,
                args=(stop, ledger.tick, clock, tick_every, forget_old_keys),
                name="scheduler",
                daemon=True,
            )
            scheduler.start()
        yield
        stop.set()
        if scheduler is not None:
            scheduler.join(timeout=30)

    app.router.lifespan_context = lifespan
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every small response waits ~40 ms on Nagle and delayed ACKs
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(limits.backlog)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"subledger API listening on http://{shown}:{bound}", flush=True)
    log.info(
        "serving",
        host=host,
        port=bound,
        tick_every=tick_every,
        max_connections=limits.max_connections,
    )
    server = _Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            server_header=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
            http=protocol_for(limits),
            timeout_keep_alive=int(limits.keep_alive_timeout),
            h11_max_incomplete_event_size=limits.max_header_bytes,
            backlog=limits.backlog,
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        print("subledger API stopped", file=sys.stderr, flush=True)
