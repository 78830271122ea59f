"""Figures and how they are measured: medians of repeats, side by side with a baseline.

A `Figure` is one line of the results table. It keeps every sample (so the JSON shows
the spread), its median, the baseline's median measured in the same run, the ratio, and
the issue's target, so that the table and the JSON say "met" or "missed" from one place.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MEASURED = "measured"
EXTRAPOLATED = "extrapolated"
NOT_AVAILABLE = "not yet available"


@dataclass(frozen=True)
class Target:
    """A goal from issue 3: a minimum ratio to the baseline, or a maximum value."""

    text: str
    min_ratio: float | None = None
    max_value: float | None = None

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        if self.min_ratio is not None:
            return None if ratio is None else ratio >= self.min_ratio
        if self.max_value is not None:
            return None if value is None else value <= self.max_value
        return None


@dataclass
class Figure:
    name: str
    unit: str
    samples: list[float] = field(default_factory=list)
    baseline_label: str | None = None
    baseline_samples: list[float] = field(default_factory=list)
    target: Target | None = None
    status: str = MEASURED
    note: str = ""

    @property
    def value(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def baseline(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        value, baseline = self.value, self.baseline
        if value is None or not baseline:
            return None
        return value / baseline

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.value, self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "status": self.status,
            "median": self.value,
            "samples": self.samples,
            "baseline": self.baseline_label,
            "baseline_median": self.baseline,
            "baseline_samples": self.baseline_samples,
            "ratio": self.ratio,
            "target": None if self.target is None else self.target.text,
            "met": self.met,
            "note": self.note,
        }


@dataclass
class WorkloadResult:
    """What one workload hands back: its figures, parameters and plain-text notes."""

    name: str
    title: str
    status: str = MEASURED
    figures: list[Figure] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "params": self.params,
            "notes": self.notes,
            "figures": [f.as_json() for f in self.figures],
        }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call, with the collector run before so garbage of the previous
    repeat is not billed to this one."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")
