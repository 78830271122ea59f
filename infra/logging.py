"""structlog, configured once at the entry point: JSON lines in production, console on a TTY.

Logs go to stderr so that command output (and `--emit-state` lines) stay clean on stdout.
Repeats are rate-limited (`RepeatLimiter`): a line that comes back more than `BURST`
times in `WINDOW_SECONDS` is dropped until the window ends, and the next one says how
many were dropped (`suppressed`), so that no client (a thousand bad requests a second, a
server out of file descriptors) can flood the logs or the disk. The standard library's
loggers (uvicorn, asyncio) go to stderr through the same limit.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import orjson
import structlog

WINDOW_SECONDS = 10.0
BURST = 10  # lines of one kind per window
MAX_KINDS = 1000  # kinds remembered per window; beyond, the rest are counted together


class RepeatLimiter:
    """At most `burst` lines of one kind (logger, level, event) per `window` seconds."""

    def __init__(
        self,
        window: float = WINDOW_SECONDS,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.burst = burst
        self.clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._counts: dict[tuple[str, ...], int] = {}
        self._dropped: dict[tuple[str, ...], int] = {}

    def allow(self, kind: tuple[str, ...]) -> int | None:
        """None: drop this line; else how many of its kind were dropped before it."""
        with self._lock:
            now = self.clock()
            if now - self._started >= self.window:
                self._started, self._counts = now, {}
            if kind not in self._counts and len(self._counts) >= MAX_KINDS:
                kind = ("*",)
            seen = self._counts.get(kind, 0) + 1
            self._counts[kind] = seen
            if seen > self.burst:
                self._dropped[kind] = self._dropped.get(kind, 0) + 1
                return None
            return self._dropped.pop(kind, 0)

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """As a structlog processor."""
        kind = (str(event_dict.get("logger", "")), method, str(event_dict.get("event", "")))
        dropped = self.allow(kind)
        if dropped is None:
            raise structlog.DropEvent
        if dropped:
            event_dict["suppressed"] = dropped
        return event_dict


class RepeatFilter(logging.Filter):
    """The same limit for the standard library's records."""

    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def filter(self, record: logging.LogRecord) -> bool:
        dropped = self.limiter.allow((record.name, record.levelname, str(record.msg)))
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like it suppressed)"
        return dropped is not None


class ClosedSocketRace(logging.Filter):
    """kafka-python 3.0's IO thread may still read a socket its client has just closed
    (at close or at exit) and logs the resulting AttributeError as an ERROR with a
    traceback: nothing is lost (the client is gone), so that one record is dropped and
    every other kafka-python record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (
            record.name == "kafka.net.transport"
            and isinstance(exc, AttributeError)
            and "(closed)" in record.getMessage()
        )


LIMITER = RepeatLimiter()


def configure_logging(level: str | None = None, *, json: bool | None = None) -> None:
    name = (level or os.environ.get("SUBLEDGER_LOG_LEVEL", "warning")).upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    as_json = (not sys.stderr.isatty()) if json is None else json
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        LIMITER,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if as_json:
        # tracebacks without the frames' local variables: those can hold secrets (an API
        # key being checked, a decrypted field) and a log must never carry them
        processors += [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ]
    else:
        processors += [
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=StderrLogger,
        cache_logger_on_first_use=True,
    )
    _standard_library(numeric)


class StderrLogger:
    """structlog's output: one line to whatever `sys.stderr` is when it is written (tests
    replace it), flushed. A log line is never worth a failure: a closed or broken stderr
    loses the line, not the caller's work (a log call sits in the paths that handle
    failures, after a command has committed)."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str | bytes) -> None:
        try:
            stream = sys.stderr
            if isinstance(message, bytes):
                stream.buffer.write(message + b"\n")
            else:
                stream.write(message + "\n")
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Whatever `sys.stderr` is when a record comes (tests replace it)."""

    subledger = True

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _standard_library(level: int) -> None:
    """uvicorn's and asyncio's warnings to stderr, rate-limited (installed once)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "subledger", False)), None)
    if handler is None:
        handler = _Stderr()
        handler.addFilter(ClosedSocketRace())
        handler.addFilter(RepeatFilter(LIMITER))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    handler.setLevel(max(level, logging.WARNING))
