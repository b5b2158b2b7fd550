"""Chart geometry for the dashboard's server-drawn SVG: numbers in, coordinates out (no drawing library)."""

import math
from typing import Any

from django.utils import timezone

from labelapp.selectors.dashboard import CampaignDashboard, HourBucket

HOUR_CHART = {"width": 600, "height": 250, "left": 50, "right": 10, "top": 22, "bottom": 52}


def _nice_step(peak: int) -> int:
    """A tick step of 1, 2 or 5 times a power of ten, giving about four ticks up to `peak`."""
    raw = max(peak, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    return max(1, round(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))


def hour_chart(buckets: tuple[HourBucket, ...]) -> dict[str, Any]:
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


def progress_segments(dashboard: CampaignDashboard) -> list[dict[str, Any]]:
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
