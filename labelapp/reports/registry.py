"""The report kinds: what each one computes, the section template that shows it, and its charts.

A report is built once and then rendered three ways from the same object: the staff page
(/manage/<campaign>/reports/<kind>/), a standalone HTML file and JSON (`python manage.py report`).
Adding a kind is a builder (a selector feeding one of the computations in this package), a chart function,
a section template and one line in REPORTS, naming the campaign kinds it reads.

A builder that needs a choice the caller did not make (which coherence campaign to join) raises
ApplicationError with `extra = {"field": ..., "allowed": [...]}`: the page then offers the allowed values
and the command names them.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from labelapp.errors import ApplicationError, NotFoundError
from labelapp.kinds import setwise
from labelapp.models import Campaign, CampaignKind
from labelapp.reports.bradley_terry import BOOTSTRAP_SAMPLES, Leaderboard
from labelapp.reports.calibration import CalibrationReport, LabellerCalibrationReport
from labelapp.reports.charts import (
    heatmap,
    interval_chart,
    reliability_diagram,
    scatter_chart,
    stacked_bars,
)
from labelapp.reports.diversity import METRICS, RATING_SCALE
from labelapp.reports.leaderboard import BoardCounts, LeaderboardReport
from labelapp.reports.position_bias import PositionBiasReport
from labelapp.selectors.reports import (
    CampaignDiversity,
    CoherentButWrongReport,
    JudgeReport,
    SourceAgreementReport,
    calibration_report_for,
    coherent_but_wrong_report_for,
    diversity_report_for,
    judge_report_for,
    labeller_calibration_report_for,
    leaderboard_report_for,
    position_bias_report_for,
    source_agreement_report_for,
)


@dataclass(frozen=True)
class ReportOptions:
    bootstrap_samples: int = BOOTSTRAP_SAMPLES
    seed: int = 0
    coherence_campaign: str | None = None  # coherent-but-wrong: the coherence campaign to join


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    summary: str
    campaign_kinds: tuple[str, ...]  # the campaign kinds whose labels it reads
    template: str  # the section, shared by the page and the standalone file
    build: Callable[[Campaign, ReportOptions], Any]
    charts: Callable[[Any], dict[str, Any]]  # the template's chart geometry, from the built report
    # Reads stored candidate embeddings: the command embeds what is missing first, a page leaves it to a
    # worker (an embedding job).
    reads_embeddings: bool = False


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


def _confusion_cells(
    matrix: tuple[tuple[int, ...], ...], choices: tuple[Any, ...], rater: str = "judge"
) -> list[list[dict[str, Any]]]:
    """Each cell shaded by its share of the humans' row, so a good judge shows a dark diagonal."""
    return [
        [
            {
                "share": count / sum(row) if sum(row) else None,
                "text": str(count),
                "title": f"humans {choices[r]}, {rater} {choices[c]}: {count} items",
            }
            for c, count in enumerate(row)
        ]
        for r, row in enumerate(matrix)
    ]


def _judge_answer_name(report: JudgeReport, choice: Any) -> str:
    """A pairwise or correctness answer as stored; a set-wise or ranking best by its canonical letter."""
    return str(choice) if isinstance(choice, str) else f"{'ABCDEFGHIJ'[choice]} best"


def _judge_charts(report: JudgeReport) -> dict[str, Any]:
    names = [_judge_answer_name(report, choice) for choice in report.choices]
    return {
        "judges": [
            {
                "judge": judge,
                "confusion": heatmap(
                    [f"humans: {name}" for name in names],
                    [f"judge: {name}" for name in names],
                    _confusion_cells(judge.kappa.confusion, tuple(names)),
                    scale="seq",
                ),
            }
            for judge in report.judges
        ]
    }


def _source_answer_name(report: SourceAgreementReport, value: Any) -> str:
    """A pairwise choice as it is stored (a: the item's first answer); a ranking's or set's best by the
    answer's canonical letter."""
    return str(value) if report.item_kind == CampaignKind.PAIRWISE else f"{'ABCDEFGHIJ'[value]} best"


def _source_agreement_charts(report: SourceAgreementReport) -> dict[str, Any]:
    names = tuple(_source_answer_name(report, value) for value in report.values)
    return {
        "sources": [
            {
                "source": source,
                "confusion": heatmap(
                    [f"humans: {name}" for name in names],
                    [f"source: {name}" for name in names],
                    _confusion_cells(source.kappa.confusion, names, rater="source"),
                    scale="seq",
                ),
                "differences": [
                    {
                        "difference": difference,
                        "source": _source_answer_name(report, difference.source_answer),
                        "human": _source_answer_name(report, difference.human_answer),
                    }
                    for difference in source.differences[:SHOWN_DIFFERENCES]
                ],
            }
            for source in report.sources
        ]
    }


SHOWN_DIFFERENCES = 100

COHERENCE_PARTS = [
    {"name": "incoherent", "css": "seg-incoherent"},
    {"name": "coherent but wrong", "css": "seg-wrong"},
    {"name": "correct", "css": "seg-correct"},
]


def _coherence_charts(report: CoherentButWrongReport) -> dict[str, Any]:
    return {
        "bars": stacked_bars(
            [
                {
                    "label": f"{row.generator} (n = {row.judged})",
                    "counts": [row.incoherent.count, row.coherent_but_wrong.count, row.correct.count],
                }
                for row in report.generators
            ],
            COHERENCE_PARTS,
        )
    }


def _calibration_charts(report: CalibrationReport) -> dict[str, Any]:
    return {
        "model": reliability_diagram(report.model.bins),
        "generators": [
            {"calibration": entry, "diagram": reliability_diagram(entry.model.bins)}
            for entry in report.by_generator
        ],
        "labeller": reliability_diagram(report.labeller.bins),
    }


def _position_bias_charts(report: PositionBiasReport) -> dict[str, Any]:
    return {
        "first_picked": interval_chart(
            [
                {
                    "label": f"{rater.rater} ({rater.rater_kind})",
                    "value": rater.first.rate,
                    "low": rater.first.low,
                    "high": rater.first.high,
                }
                for rater in report.raters
            ],
            axis_title="Share of picks that went to the first shown answer, 95% interval",
            span=(0.0, 1.0),
        )
    }


def _labeller_calibration_charts(report: LabellerCalibrationReport) -> dict[str, Any]:
    return {
        "pooled": reliability_diagram(report.pooled.bins),
        "labellers": [
            {"calibration": entry, "diagram": reliability_diagram(entry.reliability.bins)}
            for entry in report.labellers
        ],
    }


METRIC_TITLES = {
    "distinct_1": "Distinct-1",
    "distinct_2": "Distinct-2",
    "self_bleu": "Self-BLEU (100 = all the same)",
    "embedding_distance": "Mean embedding distance",
    "vendi": "Vendi score",
}


def _group_label(generator: str, temperature: float | None) -> str:
    return f"{generator} · temperature {'default' if temperature is None else temperature}"


def _diversity_charts(report: CampaignDiversity) -> dict[str, Any]:
    judged = [row for row in report.metrics.sets if row.human_diversity is not None]
    scatters = []
    for metric in METRICS:
        points = [
            {
                "x": row.human_diversity,
                "y": getattr(row, metric),
                "title": f"{_group_label(row.generator, row.temperature)}, item {row.item_id}: rated "
                f"{row.human_diversity:.2f}, {METRIC_TITLES[metric].lower()} {getattr(row, metric):.3f}",
            }
            for row in judged
            if getattr(row, metric) is not None
        ]
        scatters.append(
            {
                "metric": metric,
                "title": METRIC_TITLES[metric],
                "correlation": report.metrics.correlations[metric],
                "chart": scatter_chart(points, x_range=RATING_SCALE, x_ticks=setwise.DIVERSITY),
            }
        )
    rated = [group for group in report.metrics.groups if group.human_diversity is not None]
    return {
        "human": interval_chart(
            [
                {
                    "label": _group_label(group.generator, group.temperature),
                    "value": group.human_diversity,
                    "low": group.human_low,
                    "high": group.human_high,
                }
                for group in rated
            ],
            axis_title="Mean diversity rating (1 all the same, 5 all different), 95% interval",
            span=RATING_SCALE,
        )
        if rated
        else None,
        "scatters": scatters,
    }


REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            name="leaderboard",
            title="Generator leaderboard",
            summary="Bradley–Terry scores with bootstrap 95% intervals, win rates and comparisons per pair, "
            "by generator and by generation config, from the labellers' majority on each pairwise item (or "
            "each pair of a ranking's consensus order, or each set-vs-set item's preferred set).",
            campaign_kinds=(CampaignKind.PAIRWISE, CampaignKind.RANKING, CampaignKind.SET_VS_SET),
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
            "pairwise, correctness, set-wise (best) or ranking (first) items, with the counts behind it; how "
            "often its verdicts in the two orders disagree; its agreement by where the humans' preferred "
            "answer was shown and by its own confidence.",
            campaign_kinds=(
                CampaignKind.PAIRWISE,
                CampaignKind.CORRECTNESS,
                CampaignKind.SETWISE,
                CampaignKind.RANKING,
            ),
            template="labelapp/reports/judge.html",
            build=lambda campaign, options: judge_report_for(campaign=campaign),
            charts=_judge_charts,
        ),
        ReportKind(
            name="coherent-but-wrong",
            title="Coherent but wrong",
            summary="Per generator, the answers labellers found incoherent, coherent but wrong, and correct, "
            "joining this correctness campaign with a coherence campaign built from its candidates; and the "
            "coherent-but-wrong answers to read.",
            campaign_kinds=(CampaignKind.CORRECTNESS,),
            template="labelapp/reports/coherent_but_wrong.html",
            build=lambda campaign, options: coherent_but_wrong_report_for(
                campaign=campaign, coherence_campaign=options.coherence_campaign
            ),
            charts=_coherence_charts,
        ),
        ReportKind(
            name="calibration",
            title="Calibration",
            summary="Reliability diagrams and expected calibration error: the model's own confidence (mean "
            "token logprob) against how often its answers were labelled correct, and the labellers' stated "
            "confidence against how often their verdict matched gold or the other labellers.",
            campaign_kinds=(CampaignKind.CORRECTNESS,),
            template="labelapp/reports/calibration.html",
            build=lambda campaign, options: calibration_report_for(campaign=campaign),
            charts=_calibration_charts,
        ),
        ReportKind(
            name="position-bias",
            title="Position bias",
            summary="For each labeller and each AI judge, how often they picked the answer shown first (A on a "
            "pair, ranked best on a ranking) against chance, an exact binomial test per rater, and the raters "
            "to look at after Holm's correction.",
            campaign_kinds=(CampaignKind.PAIRWISE, CampaignKind.RANKING),
            template="labelapp/reports/position_bias.html",
            build=lambda campaign, options: position_bias_report_for(campaign=campaign),
            charts=_position_bias_charts,
        ),
        # Its own kind rather than a part of "calibration": it reads pairwise campaigns too, where the model's
        # confidence (that report's other half) has no verdict to be checked against.
        ReportKind(
            name="labeller-calibration",
            title="Labeller calibration",
            summary="Per labeller, their stated confidence (certain, probably, guessing) against how often they "
            "answered gold items right: a reliability table and diagram, and the expected calibration error.",
            campaign_kinds=(CampaignKind.PAIRWISE, CampaignKind.CORRECTNESS),
            template="labelapp/reports/labeller_calibration.html",
            build=lambda campaign, options: labeller_calibration_report_for(campaign=campaign),
            charts=_labeller_calibration_charts,
        ),
        ReportKind(
            name="diversity",
            title="Diversity and mode collapse",
            summary="Human set-wise diversity ratings by generator and temperature beside automatic metrics of "
            "the same sets (distinct-n, self-BLEU, embedding distance, Vendi score) and their Spearman "
            "correlation with the ratings; the prompts where a generator gave one answer in every sample.",
            campaign_kinds=(CampaignKind.SETWISE,),
            template="labelapp/reports/diversity.html",
            build=lambda campaign, options: diversity_report_for(campaign=campaign),
            charts=_diversity_charts,
            reads_embeddings=True,
        ),
        ReportKind(
            name="source-agreement",
            title="Dataset source agreement",
            summary="Cohen's kappa between each imported dataset's own verdicts (source labels: HH-RLHF's "
            "chosen answer, SHP's upvotes, an Arena vote, UltraFeedback's scores) and the labellers' majority "
            "on the same items, the counts behind it, and the items where they differ.",
            campaign_kinds=(CampaignKind.PAIRWISE, CampaignKind.RANKING, CampaignKind.SETWISE),
            template="labelapp/reports/source_agreement.html",
            build=lambda campaign, options: source_agreement_report_for(campaign=campaign),
            charts=_source_agreement_charts,
        ),
    )
}


def report_kinds_for(campaign: Campaign) -> list[ReportKind]:
    return [kind for kind in REPORTS.values() if campaign.kind in kind.campaign_kinds]


def report_kind_get(name: str, *, campaign: Campaign) -> ReportKind:
    """The report kind called `name`, if it reads the labels of `campaign`'s kind."""
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFoundError(
            f"Unknown report kind '{name}'. Allowed: {', '.join(REPORTS)}.", {"field": "kind"}
        )
    if campaign.kind not in kind.campaign_kinds:
        allowed = [k.name for k in report_kinds_for(campaign)]
        raise ApplicationError(
            f"The {kind.name} report reads {' or '.join(kind.campaign_kinds)} campaigns; '{campaign.name}' is "
            f"a {campaign.kind} campaign (its reports: {', '.join(allowed) or 'none'}).",
            {"field": "kind", "allowed": allowed},
        )
    return kind


def report_data(*, campaign: Campaign, kind: ReportKind, report: Any) -> dict[str, Any]:
    """The report as JSON-ready data: the computation's own fields, nothing rounded."""
    return {"campaign": campaign.name, "kind": kind.name, "title": kind.title, **dataclasses.asdict(report)}


def report_context(*, campaign: Campaign, kind: ReportKind, options: ReportOptions) -> dict[str, Any]:
    """What the page and the standalone file render: the built report, its charts and where it came from."""
    report = kind.build(campaign, options)
    return {
        "campaign": campaign,
        "kind": kind,
        "kinds": report_kinds_for(campaign),
        "options": options,
        "generated_at": timezone.now(),
        "report": report,
        "charts": kind.charts(report),
        "command_options": [
            (flag, value) for flag, value in (("coherence-campaign", options.coherence_campaign),) if value
        ],
    }


def standalone_html(context: dict[str, Any]) -> str:
    """One self-contained HTML file: the app's stylesheets are copied in, since no server serves them."""
    styles = "\n".join(
        Path(cast(str, finders.find(name))).read_text(encoding="utf-8")
        for name in ("css/app.css", "css/reports.css")
    )
    return render_to_string(
        "labelapp/reports/standalone.html", {**context, "styles": styles, "standalone": True}
    )
