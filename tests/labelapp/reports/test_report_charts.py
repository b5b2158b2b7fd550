"""Chart geometry of the reports: positions follow the numbers, and shades are classes."""

from labelapp.reports.charts import heatmap, interval_chart


def test_interval_chart_places_dots_and_whiskers_on_a_round_axis():
    chart = interval_chart(
        [
            {"label": "best", "value": 1.0, "low": 0.5, "high": 1.5},
            {"label": "no interval", "value": -1.0, "low": None, "high": None},
        ],
        axis_title="score",
    )
    ticks = [tick["value"] for tick in chart["ticks"]]
    assert ticks[0] <= -1.0 and ticks[-1] >= 1.5 and 0 in ticks
    best, other = chart["rows"]
    assert best["x_low"] < best["x"] < best["x_high"]
    assert other["x"] < chart["zero_x"] < best["x"]
    assert other["x_low"] is None
    assert best["y"] < other["y"] < chart["base"]
    # Equal steps on the axis are equal distances on the page.
    xs = [tick["x"] for tick in chart["ticks"]]
    assert len({round(b - a, 1) for a, b in zip(xs, xs[1:], strict=False)}) == 1


def test_heatmap_shades_by_share_with_classes():
    cells = [
        [{"share": None, "text": ""}, {"share": 0.87, "text": "87%"}],
        [{"share": 0.13, "text": "13%"}, {"share": None, "text": ""}],
    ]
    grid = heatmap(["a", "b"], ["1", "2"], cells)
    assert [c["shade"] for row in grid["rows"] for c in row["cells"]] == [
        "heat-none",
        "heat-9",
        "heat-1",
        "heat-none",
    ]
    assert grid["width"] == grid["left"] + 2 * grid["cell_width"] + grid["right"]
    assert (
        heatmap(["a"], ["1"], [[{"share": 1.0, "text": "3"}]], scale="seq")["rows"][0]["cells"][0]["shade"]
        == "seq-10"
    )
