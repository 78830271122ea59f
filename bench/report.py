"""Turning results into the printed table, the JSON file and the README's markdown table.

One row per figure: value, baseline, ratio, target and whether it is met, so a missed
target is visible at a glance. `python -m bench.report [FILE]` prints the markdown table
of a saved result (the README's table is pasted from it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.measure import EXTRAPOLATED, NOT_AVAILABLE

COLUMNS = ("workload", "figure", "value", "baseline", "ratio", "target", "met?")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s" or "MB" in unit:
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}"


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, workload in results["workloads"].items():
        if workload["status"] == NOT_AVAILABLE:
            out.append((name, workload["title"], NOT_AVAILABLE, "-", "-", "-", "-"))
            continue
        for f in workload["figures"]:
            if f["status"] == NOT_AVAILABLE:
                value = NOT_AVAILABLE
            else:
                value = _number(f["median"], f["unit"])
                if f["status"] == EXTRAPOLATED:
                    value += " (extrapolated)"
            baseline = (
                "-"
                if f["baseline"] is None
                else f"{_number(f['baseline_median'], f['unit'])} ({f['baseline']})"
            )
            ratio = "-" if f["ratio"] is None else f"{f['ratio']:.2f}x"
            met = {True: "yes", False: "NO", None: "-"}[f["met"]]
            out.append((name, f["name"], value, baseline, ratio, f["target"] or "-", met))
    return out


def table(results: dict[str, Any]) -> str:
    body = rows(results)
    widths = [max(len(r[i]) for r in [COLUMNS, *body]) for i in range(len(COLUMNS))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    lines = [line(COLUMNS), line(tuple("-" * w for w in widths))]
    lines += [line(r) for r in body]
    for name, workload in results["workloads"].items():
        for note in workload.get("notes", []):
            lines.append(f"  note [{name}] {note}")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows(results)]
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    source = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent / "results" / "latest.json"
    )
    print(markdown(json.loads(source.read_text())))
