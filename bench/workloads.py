"""The list of workloads, in the issue's order.

Each workload module has NAME, TITLE and `run(ctx) -> WorkloadResult`; a figure whose
subject is not built yet says so with the status NOT_AVAILABLE (bench/measure.py).
"""

from __future__ import annotations

from collections.abc import Callable

from bench import (
    catchup,
    command_path,
    concurrent,
    http_api,
    kafka_gateway,
    no_at_clients,
    replay,
    scheduler,
)
from bench.context import Context
from bench.measure import WorkloadResult

Runner = Callable[[Context], WorkloadResult]


WORKLOADS: dict[str, Runner] = {
    command_path.NAME: command_path.run,
    concurrent.NAME: concurrent.run,
    catchup.NAME: catchup.run,
    scheduler.NAME: scheduler.run,
    replay.NAME: replay.run,
    kafka_gateway.NAME: kafka_gateway.run,
    http_api.NAME: http_api.run,
    no_at_clients.NAME: no_at_clients.run,
}
