"""The list of workloads, in the issue's order, and the ones that do not exist yet.

Each workload module has NAME, TITLE and `run(ctx) -> WorkloadResult`. A workload whose
subject is not built yet (the Kafka gateway) stays in the list as "not yet available", so
the results say what is missing instead of silently leaving it out.
"""

from __future__ import annotations

from collections.abc import Callable

from bench import catchup, command_path, concurrent, replay, scheduler
from bench.context import Context
from bench.measure import NOT_AVAILABLE, WorkloadResult

Runner = Callable[[Context], WorkloadResult]

KAFKA = "kafka_gateway"
KAFKA_TITLE = "Kafka gateway: events/s vs a raw producer, end-to-end p50/p99"


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
    KAFKA: not_available(KAFKA, KAFKA_TITLE,
                         "the Kafka gateway does not exist yet; targets (>= 0.8x a raw "
                         "kafka-python producer, end-to-end p99 < 1 s at 1k events/s) "
                         "stand"),
}
