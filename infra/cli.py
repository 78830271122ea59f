"""The `subledger` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.logging import configure_logging
from infra.scenario import ScenarioFormatError, load_scenario, run_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subledger")
    sub = parser.add_subparsers(dest="cmd", required=True)
    scenario = sub.add_parser("scenario")
    ssub = scenario.add_subparsers(dest="scmd", required=True)
    run = ssub.add_parser("run")
    run.add_argument("file", type=Path)
    run.add_argument("--emit-state", action="store_true")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        loaded = load_scenario(args.file)
    except ScenarioFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = run_scenario(loaded, out=sys.stdout, emit_state=args.emit_state)
    for failure in result.failures:
        print(failure)
    if result.failures:
        return 1
    print(f"PASS {loaded.name}: {result.steps} steps")
    return 0
