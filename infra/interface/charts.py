"""`subledger report mrr|revenue|mrr-movements --plot FILE.png|.svg` (issue 19): the
figures over months, drawn by matplotlib with its Agg backend (no screen, no pyplot
state). Amounts are plotted in minor units, which are whole numbers, and the axis says
them as decimal money (`29.00`), so no float ever stands for an amount in the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from domain.money import format_amount

PLOTTED = ("mrr", "revenue", "mrr-movements")
FORMATS = (".png", ".svg")
# mrr-movements: what adds MRR above the axis, what takes it away below
GAINS = ("new", "expansion", "reactivation")
LOSSES = ("contraction", "churn")


def series(name: str, by_month: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, list[int]]:
    """The figures to draw, one list per line or bar, one value per month (minor units)."""
    if name == "mrr":
        plans = sorted({row["plan"] for _, rows in by_month for row in rows})
        drawn = {"total": [sum(row["mrr"] for row in rows) for _, rows in by_month]}
        if len(plans) > 1:
            for plan in plans:
                drawn[plan] = [
                    sum(row["mrr"] for row in rows if row["plan"] == plan) for _, rows in by_month
                ]
        return drawn
    if name == "revenue":
        keys: tuple[str, ...] = ("invoiced", "collected", "recognised")
    else:
        keys = (*GAINS, *LOSSES, "closing")
    return {k: [sum(row[k] for row in rows) for _, rows in by_month] for k in keys}


def figure(name: str, months: Sequence[str], drawn: dict[str, list[int]], currency: str) -> Figure:
    """The chart as a matplotlib Figure (the tests read its axis labels)."""
    fig = Figure(figsize=(max(6.0, 0.6 * len(months) + 2), 4.0), layout="constrained")
    ax = fig.add_subplot()
    x = list(range(len(months)))
    if name == "mrr-movements":
        bottom_up, bottom_down = [0] * len(x), [0] * len(x)
        for key in GAINS:
            ax.bar(x, drawn[key], bottom=bottom_up, label=key)
            bottom_up = [b + v for b, v in zip(bottom_up, drawn[key], strict=True)]
        for key in LOSSES:
            down = [-abs(v) for v in drawn[key]]  # the report signs losses negative
            ax.bar(x, down, bottom=bottom_down, label=key)
            bottom_down = [b + v for b, v in zip(bottom_down, down, strict=True)]
        ax.plot(x, drawn["closing"], marker="o", color="black", label="closing MRR")
        ax.axhline(0, color="grey", linewidth=0.8)
    else:
        for key, values in drawn.items():
            ax.plot(x, values, marker="o", label=key, linewidth=2.5 if key == "total" else 1.5)
    ax.set_xticks(x, list(months), rotation=45, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_amount(round(v))))
    ax.set_ylabel(currency)
    ax.set_title(
        {
            "mrr": "MRR at each month's end",
            "revenue": "Revenue by month",
            "mrr-movements": "MRR movements by month",
        }[name]
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def write(fig: Figure, path: Path) -> None:
    """PNG or SVG by the file's suffix; an SVG keeps its text as text (searchable,
    readable by a screen reader) rather than drawn glyphs."""
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(path, format=path.suffix[1:].lower(), metadata=_metadata(path))


def _metadata(path: Path) -> dict[str, Any]:
    """No creation date in SVG (the same figures draw the same file)."""
    return {"Date": None} if path.suffix == ".svg" else {}
