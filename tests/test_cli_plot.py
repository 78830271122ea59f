"""`subledger report mrr|revenue|mrr-movements --plot FILE` (issue 19): a valid PNG or
SVG of the figures over months, the months on its axis."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import pytest
from cli_kit import T0, isolated, run  # noqa: F401 - isolated is a fixture

from infra.interface import charts

pytestmark = pytest.mark.usefixtures("isolated")
AT = "2026-06-15T00:00:00Z"
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Three customers: one stays, one ends (paid by hand), one upgrades."""
    path = tmp_path / "subledger.toml"
    assert run(capsys, "init", "--path", str(path), "--profile", "monthly-autorenew")[0] == 0
    steps = []
    for ref, method, at in (("amy", "card", T0), ("bob", "paypal", T0), ("cy", "card", "2026-03-02T00:00:00Z")):  # fmt: skip
        steps += [
            ["register-account", ref, "--name", "N", "--email", f"{ref}@x.test", "--at", T0],
            ["subscribe", ref, "--plan", "basic", "--term", "monthly", "--payment-method",
             method, "--at", at],
        ]  # fmt: skip
    steps.append(["tick", "--to", AT])
    for argv in steps:
        code, _, err = run(capsys, "--config", str(path), *argv)
        assert code == 0, (argv, err)
    return str(path)


@pytest.mark.parametrize("name", charts.PLOTTED)
def test_plot_writes_a_png_and_an_svg_with_the_months_on_the_axis(
    name: str, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
    argv = ["--config", config, "report", name, "--at", AT, "--months", "6"]
    code, out, err = run(capsys, *argv, "--plot", str(png))
    assert code == 0, err
    assert out.startswith(f"wrote {png}: {name} over 6 month(s), 2026-01 to 2026-06")
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    code, out, err = run(capsys, "--json", *argv, "--plot", str(svg))
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["kind"], doc["report"], doc["months"]) == ("report_plot", name, MONTHS)
    assert all(len(v) == 6 and all(isinstance(x, str) for x in v) for v in doc["series"].values())
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    for month in MONTHS:
        assert month in text


def test_the_png_figure_carries_the_months_and_money_on_its_axes() -> None:
    drawn = {"total": [2900, 5800, 8700], "basic": [2900, 5800, 8700]}
    fig = charts.figure("mrr", MONTHS[:3], drawn, "EUR")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == MONTHS[:3]
    assert ax.get_ylabel() == "EUR"
    assert ax.yaxis.get_major_formatter()(5800, 0) == "58.00"


def test_mrr_over_months_follows_the_subscriptions(
    config: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["--config", config, "--json", "report", "mrr", "--at", AT, "--months", "6"]
    code, out, _ = run(capsys, *argv, "--plot", str(tmp_path / "m.svg"))
    assert code == 0
    total = json.loads(out)["series"]["total"]
    # Jan: amy and bob; bob (paypal) ends on Feb 5 (RENEW-2); cy joins in March
    assert total == ["58.00", "29.00", "58.00", "58.00", "58.00", "58.00"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["report", "ageing", "--plot", "a.png"], "plot"),
        (["report", "mrr", "--plot", "a.pdf"], "plot"),
        (["report", "mrr", "--plot", "nowhere/a.png"], "plot"),
        (["report", "mrr", "--plot", "a.png", "--months", "0"], "months"),
    ],
)
def test_plot_refuses_what_it_cannot_draw(
    argv: list[str], field: str, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", config, "--json", *argv)
    doc = json.loads(out)
    assert code == 2 and doc["error"] == "invalid_input" and doc["field"] == field
