"""The benchmark suite must keep running: `python -m bench --quick`, end to end.

Not a timing test (speed goals live in the benchmark, never in tests): it checks that the
run completes and that its JSON holds every workload, numeric medians for everything
measured, and positive ratios wherever there is a baseline.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURED_WORKLOADS = (
    "command_path",
    "concurrent",
    "catchup",
    "scheduler",
    "replay",
    "kafka_gateway",
    "http_api",
    "no_at_clients",
)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_bench_runs_and_reports_every_workload(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--output",
            str(output),
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(output.read_text())

    assert results["scale"] == "quick"
    for key in ("cpu_model", "cores", "memory_mb", "python", "packages", "date"):
        assert results["machine"][key], key
    workloads = results["workloads"]
    assert set(MEASURED_WORKLOADS) <= set(workloads)

    for name in MEASURED_WORKLOADS:
        workload = workloads[name]
        assert workload["status"] == "measured", name
        measured = [f for f in workload["figures"] if f["status"] != "not yet available"]
        assert measured, f"{name} has no measured figure"
        for figure in measured:
            where = f"{name}: {figure['name']} ({figure['unit']})"
            assert _number(figure["median"]), where
            assert figure["samples"] and all(_number(s) for s in figure["samples"]), where
            if figure["baseline"] is not None:
                assert _number(figure["baseline_median"]), where
                assert _number(figure["ratio"]) and figure["ratio"] > 0, where
            if figure["target"] is not None and figure["median"] is not None:
                assert figure["met"] in (True, False), where
    # the table is printed too
    assert "command_path" in done.stdout


def test_profile_counts_and_catchup_stages_run(tmp_path: Path) -> None:
    """`python -m bench.profile` backs the README's hot spots; its non-profiling modes
    (transaction counts, catch-up stages) must keep running too."""
    counts = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.profile",
            "execute",
            "2",
            "--counts",
            f"--workdir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert counts.returncode == 0, counts.stderr[-4000:]
    assert "commit:" in counts.stdout and "per command" in counts.stdout
    stages = subprocess.run(
        [sys.executable, "-m", "bench.profile", "catchup-stages", "2000", f"--workdir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert stages.returncode == 0, stages.stderr[-4000:]
    assert "projections.run()" in stages.stdout
