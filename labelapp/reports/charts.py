"""Chart geometry for the dashboard's and the reports' server-drawn SVG: numbers in, coordinates out (no
drawing library)."""

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from django.utils import timezone

from labelapp.reports.calibration import ReliabilityBin


class HourCount(Protocol):
    """Labels given in one clock hour (selectors.dashboard.HourBucket)."""

    @property
    def start(self) -> datetime: ...
    @property
    def labels(self) -> int: ...


class ItemCounts(Protocol):
    """A campaign's items by how far along they are (selectors.dashboard.CampaignDashboard)."""

    @property
    def items_total(self) -> int: ...
    @property
    def items_complete(self) -> int: ...
    @property
    def items_in_progress(self) -> int: ...
    @property
    def items_untouched(self) -> int: ...


HOUR_CHART = {"width": 600, "height": 250, "left": 50, "right": 10, "top": 22, "bottom": 52}


def _nice_step(peak: int) -> int:
    """A tick step of 1, 2 or 5 times a power of ten, giving about four ticks up to `peak`."""
    raw = max(peak, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    return max(1, round(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))


def hour_chart(buckets: Sequence[HourCount]) -> dict[str, Any]:
    size = HOUR_CHART
    peak = max((bucket.labels for bucket in buckets), default=0)
    step = _nice_step(peak)
    top = step * max(1, math.ceil(peak / step))
    plot_width = size["width"] - size["left"] - size["right"]
    plot_height = size["height"] - size["top"] - size["bottom"]
    base = size["top"] + plot_height
    slot = plot_width / len(buckets)
    bars = []
    for index, bucket in enumerate(buckets):
        height = plot_height * bucket.labels / top
        left = size["left"] + index * slot
        bars.append(
            {
                "x": round(left + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(base - height, 1),
                "height": round(height, 1),
                "center": round(left + slot / 2, 1),
                "labels": bucket.labels,
                "start": bucket.start,
                "tick": (len(buckets) - 1 - index) % 3 == 0,  # every third hour, counting back from now
            }
        )
    ticks = [{"value": v, "y": round(base - plot_height * v / top, 1)} for v in range(0, top + 1, step)]
    return {
        **size,
        "plot_right": size["width"] - size["right"],
        "base": base,
        "middle_y": round(size["top"] + plot_height / 2, 1),
        "axis_title_y": size["height"] - 8,
        "bars": bars,
        "ticks": ticks,
        "total": sum(bucket.labels for bucket in buckets),
        "time_zone": timezone.get_current_timezone_name(),
    }


def progress_segments(dashboard: ItemCounts) -> list[dict[str, Any]]:
    """Complete / in progress / untouched items as consecutive stretches of a bar, in percent."""
    total, start, segments = dashboard.items_total, 0.0, []
    for css, name, count in (
        ("complete", "Complete", dashboard.items_complete),
        ("in-progress", "In progress", dashboard.items_in_progress),
        ("untouched", "Untouched", dashboard.items_untouched),
    ):
        share = 100 * count / total if total else 0.0
        segments.append(
            {
                "css": css,
                "name": name,
                "count": count,
                "x": round(start, 2),
                "width": round(share, 2),
                "label_x": round(start + share / 2, 2),
                "percent": round(share),
                "wide": share >= 7,
            }
        )
        start += share
    return segments


def _axis_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((high - first) / step - 1e-9)) + 1)]


INTERVAL_CHART = {"width": 640, "left": 230, "right": 24, "top": 12, "row": 30, "bottom": 44}
LABEL_CHARS = 34


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def interval_chart(
    rows: list[dict[str, Any]], axis_title: str, *, span: tuple[float, float] | None = None
) -> dict[str, Any]:
    """A dot per row at `value` with a whisker from `low` to `high` (either may be None), best first.

    `rows` hold "label", "value", "low", "high"; the axis shows 0 (marked), or covers `span` when given
    (a rating scale, where 0 means nothing).
    """
    size = INTERVAL_CHART
    numbers = list(span) if span else [0.0]
    numbers += [r[k] for r in rows for k in ("value", "low", "high") if r[k] is not None]
    ticks = _axis_ticks(min(numbers), max(numbers))
    low, high = ticks[0], ticks[-1]
    plot_width = size["width"] - size["left"] - size["right"]
    height = size["top"] + size["row"] * len(rows) + size["bottom"]
    base = height - size["bottom"]

    def x(value: float) -> float:
        return round(size["left"] + plot_width * (value - low) / (high - low), 1)

    drawn = []
    for index, row in enumerate(rows):
        has_interval = row["low"] is not None and row["high"] is not None
        drawn.append(
            {
                **row,
                "short_label": _short(row["label"]),
                "y": round(size["top"] + size["row"] * (index + 0.5), 1),
                "cap_top": round(size["top"] + size["row"] * (index + 0.5) - 6, 1),
                "cap_bottom": round(size["top"] + size["row"] * (index + 0.5) + 6, 1),
                "x": x(row["value"]),
                "x_low": x(row["low"]) if has_interval else None,
                "x_high": x(row["high"]) if has_interval else None,
            }
        )
    return {
        **size,
        "height": height,
        "base": base,
        "plot_right": size["width"] - size["right"],
        "zero_x": None if span else x(0.0),
        "label_x": size["left"] - 10,
        "rows": drawn,
        "ticks": [{"value": tick, "x": x(tick)} for tick in ticks],
        "axis_title": axis_title,
        "axis_title_x": round(size["left"] + plot_width / 2, 1),
        "axis_title_y": height - 8,
    }


HEATMAP = {"left": 240, "top": 34, "cell_width": 70, "cell_height": 40, "right": 10, "bottom": 10}


def heatmap(
    row_labels: list[str],
    column_labels: list[str],
    cells: list[list[dict[str, Any]]],
    *,
    scale: str = "heat",
) -> dict[str, Any]:
    """A grid of cells shaded by "share" (0 to 1, or None for an empty cell), each with "text" and "title".

    Shades are eleven CSS classes, not inline colours, so pages stay CSP-clean: `scale` "heat" diverges
    from red (0) through grey (0.5) to blue (1), for win rates; "seq" runs from white to blue, for shares.
    """
    size = HEATMAP
    drawn_rows = []
    for r, (label, row) in enumerate(zip(row_labels, cells, strict=True)):
        y = size["top"] + r * size["cell_height"]
        drawn_rows.append(
            {
                "label": label,
                "short_label": _short(label),
                "label_y": y + size["cell_height"] / 2,
                "cells": [
                    {
                        **cell,
                        "x": size["left"] + c * size["cell_width"],
                        "y": y,
                        "center_x": size["left"] + (c + 0.5) * size["cell_width"],
                        "text_y": y + size["cell_height"] / 2,
                        "shade": f"{scale}-none"
                        if cell["share"] is None
                        else f"{scale}-{round(cell['share'] * 10)}",
                    }
                    for c, cell in enumerate(row)
                ],
            }
        )
    return {
        **size,
        "width": size["left"] + size["cell_width"] * len(column_labels) + size["right"],
        "label_x": size["left"] - 10,
        "column_y": size["top"] - 10,
        "height": size["top"] + size["cell_height"] * len(row_labels) + size["bottom"],
        "columns": [
            {"label": label, "x": size["left"] + (c + 0.5) * size["cell_width"]}
            for c, label in enumerate(column_labels)
        ],
        "rows": drawn_rows,
    }


STACKED_BARS = {"width": 640, "left": 230, "right": 24, "top": 12, "row": 36, "bar": 24, "bottom": 66}
SEGMENT_TEXT_MIN_SHARE = 0.07  # narrower segments keep their number in the tooltip only
LEGEND_CHAR_WIDTH = 7  # about the width of one character of the 12px axis font


def stacked_bars(rows: list[dict[str, Any]], parts: list[dict[str, str]]) -> dict[str, Any]:
    """One bar per row, split into its `parts` by share of the row's total (each bar spans 0 to 100%).

    `rows` hold "label" and "counts" (one per part); `parts` hold "name" and "css" (a class, no inline
    colour). A row with a total of 0 draws no segment.
    """
    size = STACKED_BARS
    plot_width = size["width"] - size["left"] - size["right"]
    height = size["top"] + size["row"] * len(rows) + size["bottom"]
    base = size["top"] + size["row"] * len(rows)
    drawn = []
    for index, row in enumerate(rows):
        total = sum(row["counts"])
        top = size["top"] + size["row"] * index + (size["row"] - size["bar"]) / 2
        start, segments = 0.0, []
        for part, count in zip(parts, row["counts"], strict=True):
            share = count / total if total else 0.0
            if count:
                segments.append(
                    {
                        **part,
                        "count": count,
                        "share": share,
                        "x": round(size["left"] + plot_width * start, 1),
                        "width": round(plot_width * share, 1),
                        "text_x": round(size["left"] + plot_width * (start + share / 2), 1),
                        "text": f"{share * 100:.0f}%" if share >= SEGMENT_TEXT_MIN_SHARE else "",
                        "title": f"{row['label']}: {count} of {total} {part['name']} ({share * 100:.0f}%)",
                    }
                )
            start += share
        drawn.append(
            {
                "label": row["label"],
                "short_label": _short(row["label"]),
                "total": total,
                "y": round(top, 1),
                "center_y": round(top + size["bar"] / 2, 1),
                "segments": segments,
            }
        )
    legend_y = height - 14
    legend, x = [], float(size["left"])
    for part in parts:
        legend.append({**part, "x": round(x, 1), "text_x": round(x + 18, 1)})
        x += 18 + LEGEND_CHAR_WIDTH * len(part["name"]) + 24
    return {
        **size,
        "height": height,
        "base": base,
        "label_x": size["left"] - 10,
        "plot_right": size["width"] - size["right"],
        "rows": drawn,
        "ticks": [
            {"value": f"{share}%", "x": round(size["left"] + plot_width * share / 100, 1)}
            for share in (0, 25, 50, 75, 100)
        ],
        "legend": legend,
        "legend_y": legend_y,
        "legend_box_y": legend_y - 10,
    }


RELIABILITY = {"size": 300, "left": 56, "right": 16, "top": 16, "bottom": 48}
DOT_RADIUS = (3.0, 9.0)  # smallest and largest dot, by the bin's count (area proportional to it)


def reliability_diagram(bins: Sequence[ReliabilityBin]) -> dict[str, Any]:
    """Each non-empty bin as a bar of its correct rate over its confidence range, with a dot at its mean
    confidence and a whisker for the rate's Wilson interval; a perfectly calibrated source sits on the
    diagonal."""
    size = RELIABILITY
    plot = size["size"]
    base = size["top"] + plot
    largest = max((b.count for b in bins), default=0)

    def x(value: float) -> float:
        return round(size["left"] + plot * value, 1)

    def y(value: float) -> float:
        return round(base - plot * value, 1)

    drawn = []
    for b in bins:
        if not b.count or b.mean_confidence is None or b.correct.rate is None:
            continue
        radius = DOT_RADIUS[0] + (DOT_RADIUS[1] - DOT_RADIUS[0]) * math.sqrt(b.count / largest)
        drawn.append(
            {
                "bin": b,
                "bar_x": x(b.low),
                "bar_width": round(plot * (b.high - b.low), 1),
                "bar_y": y(b.correct.rate),
                "bar_height": round(plot * b.correct.rate, 1),
                "x": x(b.mean_confidence),
                "y": y(b.correct.rate),
                "y_low": y(b.correct.low or 0.0),
                "y_high": y(b.correct.high or 0.0),
                "r": round(radius, 1),
                "title": f"confidence {b.low:.1f}–{b.high:.1f}: {b.correct.count} of {b.count} right "
                f"({b.correct.rate * 100:.0f}%), mean confidence {b.mean_confidence * 100:.0f}%",
            }
        )
    ticks = [round(step / 5, 1) for step in range(6)]
    return {
        **size,
        "width": size["left"] + plot + size["right"],
        "height": size["top"] + plot + size["bottom"],
        "base": base,
        "plot_right": size["left"] + plot,
        "bins": drawn,
        "x_ticks": [{"value": tick, "x": x(tick)} for tick in ticks],
        "y_ticks": [{"value": tick, "y": y(tick)} for tick in ticks],
        "axis_title_x": x(0.5),
        "axis_title_y": base + 38,
        "y_title_x": 14,
        "y_title_y": y(0.5),
        "label_x": size["left"] - 8,
    }


SCATTER = {"width": 300, "height": 230, "left": 52, "right": 14, "top": 12, "bottom": 40}


def scatter_chart(
    points: list[dict[str, Any]], *, x_range: tuple[float, float], x_ticks: Sequence[float]
) -> dict[str, Any]:
    """A dot per point at ("x", "y"), each with a "title"; x over the fixed `x_range` (a rating scale), y over
    round ticks covering the points."""
    size = SCATTER
    plot_width = size["width"] - size["left"] - size["right"]
    plot_height = size["height"] - size["top"] - size["bottom"]
    base = size["top"] + plot_height
    y_ticks = _axis_ticks(
        min((p["y"] for p in points), default=0.0), max((p["y"] for p in points), default=1.0)
    )
    low, high = y_ticks[0], y_ticks[-1]

    def x(value: float) -> float:
        return round(size["left"] + plot_width * (value - x_range[0]) / (x_range[1] - x_range[0]), 1)

    def y(value: float) -> float:
        return round(base - plot_height * (value - low) / (high - low), 1)

    return {
        **size,
        "base": base,
        "plot_right": size["width"] - size["right"],
        "label_x": size["left"] - 8,
        "points": [{**point, "cx": x(point["x"]), "cy": y(point["y"])} for point in points],
        "x_ticks": [{"value": tick, "x": x(tick)} for tick in x_ticks],
        "y_ticks": [{"value": tick, "y": y(tick)} for tick in y_ticks],
        "axis_title_x": round(size["left"] + plot_width / 2, 1),
        "axis_title_y": size["height"] - 6,
    }
