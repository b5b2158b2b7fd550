"""The report kinds: what each one computes, the section template that shows it, and its charts.

A report is built once and then rendered three ways from the same object: the staff page
(/manage/<campaign>/reports/<kind>/), a standalone HTML file and JSON (`python manage.py report`).
Adding a kind is a builder (a selector feeding one of the computations in this package), a chart function,
a section template and one line in REPORTS.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from labelapp.errors import NotFoundError
from labelapp.models import Campaign
from labelapp.reports.bradley_terry import BOOTSTRAP_SAMPLES, Leaderboard
from labelapp.reports.charts import heatmap, interval_chart
from labelapp.reports.judge import JUDGE_CHOICES
from labelapp.reports.leaderboard import BoardCounts, LeaderboardReport
from labelapp.selectors.reports import JudgeReport, judge_report_for, leaderboard_report_for


@dataclass(frozen=True)
class ReportOptions:
    bootstrap_samples: int = BOOTSTRAP_SAMPLES
    seed: int = 0


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    summary: str
    template: str  # the section, shared by the page and the standalone file
    build: Callable[[Campaign, ReportOptions], Any]
    charts: Callable[[Any], dict[str, Any]]  # the template's chart geometry, from the built report


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def _board(title: str, board: Leaderboard, names: dict[str, str], counts: BoardCounts) -> dict[str, Any]:
    labels = [names.get(key, key) for key in board.keys]
    numbered = [f"{rank}. {label}" for rank, label in enumerate(labels, start=1)]
    cells = [
        [
            {
                "share": rate,
                "text": "" if rate is None else _percent(rate),
                "title": f"{labels[r]} vs {labels[c]}: "
                + ("no comparison" if rate is None else f"{_percent(rate)} of {count} comparisons"),
                "count": count,
            }
            for c, (rate, count) in enumerate(zip(rates, board.pair_counts[r], strict=True))
        ]
        for r, rates in enumerate(board.win_rate)
    ]
    return {
        "title": title,
        "board": board,
        "counts": counts,
        "rows": [
            {"rank": rank, "label": label, "player": player}
            for rank, (label, player) in enumerate(zip(labels, board.players, strict=True), start=1)
        ],
        "interval_chart": interval_chart(
            [
                {"label": label, "value": p.score, "low": p.low, "high": p.high}
                for label, p in zip(numbered, board.players, strict=True)
            ],
            axis_title="Bradley–Terry score (log strength; 0 = average)",
        ),
        "win_grid": heatmap(numbered, [str(rank) for rank in range(1, len(labels) + 1)], cells),
    }


def _leaderboard_charts(report: LeaderboardReport) -> dict[str, Any]:
    generator_names = {key: key for key in report.by_generator.keys}
    return {
        "boards": [
            _board("By generator", report.by_generator, generator_names, report.generator_counts),
            _board("By generation config", report.by_config, dict(report.config_names), report.config_counts),
        ]
    }


def _confusion_cells(matrix: tuple[tuple[int, ...], ...]) -> list[list[dict[str, Any]]]:
    """Each cell shaded by its share of the humans' row, so a good judge shows a dark diagonal."""
    return [
        [
            {
                "share": count / sum(row) if sum(row) else None,
                "text": str(count),
                "title": f"humans {JUDGE_CHOICES[r]}, judge {JUDGE_CHOICES[c]}: {count} items",
            }
            for c, count in enumerate(row)
        ]
        for r, row in enumerate(matrix)
    ]


def _judge_charts(report: JudgeReport) -> dict[str, Any]:
    return {
        "judges": [
            {
                "judge": judge,
                "confusion": heatmap(
                    [f"humans: {choice}" for choice in JUDGE_CHOICES],
                    [f"judge: {choice}" for choice in JUDGE_CHOICES],
                    _confusion_cells(judge.kappa.confusion),
                    scale="seq",
                ),
            }
            for judge in report.judges
        ]
    }


REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            name="leaderboard",
            title="Generator leaderboard",
            summary="Bradley–Terry scores with bootstrap 95% intervals, win rates and comparisons per pair, "
            "by generator and by generation config, from the labellers' majority on each pairwise item.",
            template="labelapp/reports/leaderboard.html",
            build=lambda campaign, options: leaderboard_report_for(
                campaign=campaign, bootstrap_samples=options.bootstrap_samples, seed=options.seed
            ),
            charts=_leaderboard_charts,
        ),
        ReportKind(
            name="judge",
            title="AI judge agreement",
            summary="Cohen's kappa between each AI judge's verdicts and the labellers' majority on the same "
            "pairwise items, with the counts behind it.",
            template="labelapp/reports/judge.html",
            build=lambda campaign, options: judge_report_for(campaign=campaign),
            charts=_judge_charts,
        ),
    )
}


def report_kind_get(name: str) -> ReportKind:
    try:
        return REPORTS[name]
    except KeyError:
        raise NotFoundError(
            f"Unknown report kind '{name}'. Allowed: {', '.join(REPORTS)}.", {"field": "kind"}
        ) from None


def report_data(*, campaign: Campaign, kind: ReportKind, report: Any) -> dict[str, Any]:
    """The report as JSON-ready data: the computation's own fields, nothing rounded."""
    return {"campaign": campaign.name, "kind": kind.name, "title": kind.title, **dataclasses.asdict(report)}


def report_context(*, campaign: Campaign, kind: ReportKind, options: ReportOptions) -> dict[str, Any]:
    """What the page and the standalone file render: the built report, its charts and where it came from."""
    report = kind.build(campaign, options)
    return {
        "campaign": campaign,
        "kind": kind,
        "kinds": list(REPORTS.values()),
        "options": options,
        "generated_at": timezone.now(),
        "report": report,
        "charts": kind.charts(report),
    }


def standalone_html(context: dict[str, Any]) -> str:
    """One self-contained HTML file: the app's stylesheets are copied in, since no server serves them."""
    styles = "\n".join(
        Path(finders.find(name)).read_text(encoding="utf-8") for name in ("css/app.css", "css/reports.css")
    )
    return render_to_string("labelapp/reports/standalone.html", {**context, "styles": styles})
