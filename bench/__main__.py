"""`python -m bench [--quick] [--only NAME]`: every workload next to its baseline.

Runs the workloads in one process (the replay's memory figures come from child
processes), prints one table and writes `bench/results/latest.json` with the medians,
every sample and the machine's description. Speed goals live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import machine, report
from bench.backends import BACKENDS
from bench.context import FULL, QUICK, Context
from bench.measure import WorkloadResult
from bench.workloads import WORKLOADS
from infra.logging import configure_logging

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (under 2 minutes); what the test runs"
    )
    parser.add_argument(
        "--only",
        choices=sorted(WORKLOADS),
        action="append",
        help="run only this workload (repeatable)",
    )
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="sqlite")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where databases go (default: the system's temp dir)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"results JSON (default: {DEFAULT_OUTPUT})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # the production default (warnings only): an info line per command would be billed
    # to the command path
    configure_logging("warning", json=True)
    scale = QUICK if args.quick else FULL
    backend = BACKENDS[args.backend](args.workdir)
    ctx = Context(backend=backend, scale=scale)
    names = args.only or list(WORKLOADS)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    results: dict[str, object] = {
        "command": command,
        "scale": scale.name,
        "machine": machine.describe(),
        "backend": backend.describe(),
        "workloads": {},
    }
    started = time.perf_counter()
    try:
        for name in names:
            ctx.log(f"{name}: start")
            t0 = time.perf_counter()
            result: WorkloadResult = WORKLOADS[name](ctx)
            result.seconds = time.perf_counter() - t0
            results["workloads"][name] = result.as_json()  # type: ignore[index]
            ctx.log(f"{name}: done in {result.seconds:.1f}s")
    finally:
        backend.cleanup()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["loadavg_at_end"] = machine.loadavg()  # type: ignore[index]
    report.write_json(results, args.output)
    print(report.table(results))
    print(
        f"\n{len(names)} workload(s) in {results['seconds']}s on {backend.name}; "
        f"results: {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
