"""structlog, configured once at the entry point: JSON lines in production, console on a TTY.

Logs go to stderr so that command output (and `--emit-state` lines) stay clean on stdout.
"""

from __future__ import annotations

import logging
import os
import sys

import orjson
import structlog


def configure_logging(level: str | None = None, *, json: bool | None = None) -> None:
    name = (level or os.environ.get("SUBLEDGER_LOG_LEVEL", "warning")).upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    as_json = (not sys.stderr.isatty()) if json is None else json
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if as_json:
        # tracebacks without the frames' local variables: those can hold secrets (an API
        # key being checked, a decrypted field) and a log must never carry them
        processors += [structlog.processors.ExceptionRenderer(
                           structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
                       structlog.processors.JSONRenderer(serializer=orjson.dumps)]
        factory: structlog.types.WrappedLogger = structlog.BytesLoggerFactory(sys.stderr.buffer)
    else:
        processors += [structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.plain_traceback)]
        factory = structlog.PrintLoggerFactory(sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
