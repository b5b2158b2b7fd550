"""Chart geometry of the reports: positions follow the numbers, and shades are classes."""

from labelapp.reports.calibration import reliability
from labelapp.reports.charts import heatmap, interval_chart, reliability_diagram, scatter_chart, stacked_bars


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


def test_stacked_bars_split_each_bar_by_share():
    parts = [{"name": "bad", "css": "seg-a"}, {"name": "good", "css": "seg-b"}]
    chart = stacked_bars([{"label": "one", "counts": [1, 3]}, {"label": "none", "counts": [0, 0]}], parts)
    one, none = chart["rows"]
    bad, good = one["segments"]
    plot_width = chart["width"] - chart["left"] - chart["right"]
    assert (bad["x"], bad["width"]) == (chart["left"], round(plot_width / 4, 1))
    assert good["x"] == round(chart["left"] + plot_width / 4, 1)
    assert round(good["x"] + good["width"], 1) == chart["plot_right"]  # every bar ends at 100%
    assert (bad["text"], good["text"], good["css"]) == ("25%", "75%", "seg-b")
    assert good["title"] == "one: 3 of 4 good (75%)"
    assert none["segments"] == [] and none["y"] > one["y"]
    first, second = chart["legend"]
    assert second["x"] > first["text_x"] + 7 * len("bad")  # legend entries do not overlap


def test_reliability_diagram_places_bins_on_the_unit_square():
    result = reliability([0.15, 0.15, 0.95, 0.95, 0.95, 0.95], [False, True, True, True, True, False])
    chart = reliability_diagram(result.bins)
    low, high = chart["bins"]  # empty bins are not drawn
    assert (low["bin"].low, high["bin"].low) == (0.1, 0.9)
    plot = chart["size"]
    assert low["x"] == round(chart["left"] + plot * 0.15, 1)
    assert low["y"] == round(chart["base"] - plot * 0.5, 1)
    assert high["y"] == round(chart["base"] - plot * 0.75, 1)
    assert high["y_high"] < high["y"] < high["y_low"]  # the Wilson whisker spans the dot
    assert high["r"] > low["r"]  # more answers, a bigger dot
    assert low["bar_width"] == round(plot * 0.1, 1)
    assert "1 of 2 right (50%)" in low["title"]


def test_an_interval_chart_over_a_rating_scale_has_no_zero_line():
    chart = interval_chart([{"label": "g", "value": 2.5, "low": 2.0, "high": 3.0}], "rating", span=(1.0, 5.0))
    assert chart["zero_x"] is None
    assert [tick["value"] for tick in chart["ticks"]][0] >= 1.0 - 1e-9


def test_scatter_chart_maps_the_rating_scale_and_round_y_ticks():
    chart = scatter_chart(
        [{"x": 1.0, "y": 0.2, "title": "a"}, {"x": 5.0, "y": 0.9, "title": "b"}],
        x_range=(1.0, 5.0),
        x_ticks=(1, 2, 3, 4, 5),
    )
    low, high = chart["points"]
    assert low["cx"] == chart["left"] and high["cx"] == chart["plot_right"]
    assert high["cy"] < low["cy"] <= chart["base"]
    assert chart["y_ticks"][0]["value"] <= 0.2 and chart["y_ticks"][-1]["value"] >= 0.9
