"""The list of workloads, in the issue's order.

Each workload module has NAME, TITLE and `run(ctx) -> WorkloadResult`. A workload whose
subject is not built yet stays in the list through `not_available`, so the results say
what is missing instead of silently leaving it out.
"""

from __future__ import annotations

from collections.abc import Callable

from bench import (
    catchup,
    command_path,
    concurrent,
    http_api,
    kafka_gateway,
    replay,
    scheduler,
)
from bench.context import Context
from bench.measure import NOT_AVAILABLE, WorkloadResult

Runner = Callable[[Context], WorkloadResult]

def not_available(name: str, title: str, why: str) -> Runner:
    def run(_ctx: Context) -> WorkloadResult:
        return WorkloadResult(name=name, title=title, status=NOT_AVAILABLE, notes=[why])
    return run


WORKLOADS: dict[str, Runner] = {
    command_path.NAME: command_path.run,
    concurrent.NAME: concurrent.run,
    catchup.NAME: catchup.run,
    scheduler.NAME: scheduler.run,
    replay.NAME: replay.run,
    kafka_gateway.NAME: kafka_gateway.run,
    http_api.NAME: http_api.run,
}
