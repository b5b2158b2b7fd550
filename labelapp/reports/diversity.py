"""How varied a set of completions of one prompt is: lexical (distinct-n, self-BLEU) and semantic
(mean pairwise embedding distance, Vendi score), and the sets-level report that compares them with human
set-wise diversity judgements.

Tokens for distinct-n are lowercased words and single punctuation marks; self-BLEU uses sacrebleu's own
tokenizer (13a) and its 0-100 scale.

The lexical metrics of a set are remembered per process by its texts (a pure function of them), since the
report page computes them on every request and self-BLEU costs a few milliseconds a set; the embedding
metrics are computed from embeddings stored per candidate (services.embeddings).
"""

import functools
import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU
from scipy import stats

from labelapp.reports.correlation import Correlation, spearman

TOKEN = re.compile(r"\w+|[^\w\s]")
SENTENCE_BLEU = BLEU(effective_order=True)  # what sacrebleu.sentence_bleu builds on every call, built once
LEXICAL_CACHE_SETS = 20_000

Embed = Callable[[Sequence[str]], np.ndarray]


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Distinct n-grams over all n-grams in the set (Li et al. 2016); None when no text has n tokens."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    grams = [
        tuple(words[start : start + n]) for words in map(tokens, texts) for start in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else None


def self_bleu(texts: Sequence[str]) -> float | None:
    """Mean BLEU of each text against all the others as references (Zhu et al. 2018); 100 = all the same."""
    if len(texts) < 2:
        return None
    scores = [
        SENTENCE_BLEU.sentence_score(text, [other for j, other in enumerate(texts) if j != i]).score
        for i, text in enumerate(texts)
    ]
    return statistics.fmean(scores)


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("An embedding of length zero has no direction.")
    return embeddings / norms


def mean_pairwise_distance(embeddings: np.ndarray) -> float | None:
    """Mean cosine distance (1 - cosine similarity) over every pair of rows; None for fewer than two."""
    count = embeddings.shape[0]
    if count < 2:
        return None
    similarity = _unit_rows(embeddings) @ _unit_rows(embeddings).T
    upper = similarity[np.triu_indices(count, k=1)]
    return float(np.mean(np.clip(1 - upper, 0, 2)))  # rounding makes identical rows a hair below 0


def vendi_score(embeddings: np.ndarray) -> float | None:
    """The effective number of distinct items (Friedman & Dieng 2023), with cosine similarity as kernel.

    exp of the Shannon entropy of the eigenvalues of K / n: 1 for n identical items, n for n orthogonal ones.
    """
    count = embeddings.shape[0]
    if count == 0:
        return None
    rows = _unit_rows(embeddings)
    eigenvalues = np.clip(np.linalg.eigvalsh(rows @ rows.T / count), 0, None)
    positive = eigenvalues[eigenvalues > 0]
    return float(math.exp(-np.sum(positive * np.log(positive))))


@dataclass(frozen=True)
class CompletionSet:
    """N completions of one prompt by one generator config, with the humans' diversity score if judged."""

    prompt_id: int
    generator: str
    temperature: float | None
    texts: tuple[str, ...]
    human_diversity: float | None = None  # mean of the labellers' scores; None when not judged
    item_id: int | None = None  # the set-wise item that showed the set


@dataclass(frozen=True)
class SetMetrics:
    prompt_id: int
    generator: str
    temperature: float | None
    size: int
    human_diversity: float | None
    distinct_1: float | None
    distinct_2: float | None
    self_bleu: float | None
    embedding_distance: float | None
    vendi: float | None
    all_identical: bool  # every completion the same text (after trimming spaces): a collapsed prompt
    item_id: int | None


METRICS = ("distinct_1", "distinct_2", "self_bleu", "embedding_distance", "vendi")
RATING_SCALE = (1.0, 5.0)  # the set-wise kind's diversity rating: 1 all the same ... 5 all different


@dataclass(frozen=True)
class GroupDiversity:
    generator: str
    temperature: float | None
    sets: int
    judged_sets: int
    human_diversity: float | None  # means over the group's sets (human: over its judged sets)
    human_low: float | None  # 95% t interval of the human mean, within 1-5; None under two judged sets
    human_high: float | None
    distinct_1: float | None
    distinct_2: float | None
    self_bleu: float | None
    embedding_distance: float | None
    vendi: float | None
    collapsed_prompts: tuple[int, ...]  # prompts where every sample is the same text


@dataclass(frozen=True)
class DiversityReport:
    sets: tuple[SetMetrics, ...]
    groups: tuple[GroupDiversity, ...]  # by generator, then temperature
    correlations: dict[str, Correlation]  # each metric against the human score, over judged sets


@functools.lru_cache(maxsize=LEXICAL_CACHE_SETS)
def lexical_metrics(texts: tuple[str, ...]) -> dict[str, float | None]:
    return {
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "self_bleu": self_bleu(texts),
    }


def set_metrics(completion_set: CompletionSet, embeddings: np.ndarray | None) -> SetMetrics:
    """Every metric of one set; the embedding-based ones None without `embeddings` (one row per text)."""
    texts = completion_set.texts
    return SetMetrics(
        prompt_id=completion_set.prompt_id,
        generator=completion_set.generator,
        temperature=completion_set.temperature,
        size=len(texts),
        human_diversity=completion_set.human_diversity,
        **lexical_metrics(tuple(texts)),
        embedding_distance=None if embeddings is None else mean_pairwise_distance(embeddings),
        vendi=None if embeddings is None else vendi_score(embeddings),
        all_identical=len(texts) > 1 and len({text.strip() for text in texts}) == 1,
        item_id=completion_set.item_id,
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


def mean_interval(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Student's t 95% interval of the mean rating, cut to the rating scale; (None, None) for fewer than
    two values."""
    if len(values) < 2:
        return None, None
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    mean = statistics.fmean(values)
    return float(max(RATING_SCALE[0], mean - half)), float(min(RATING_SCALE[1], mean + half))


def _group(generator: str, temperature: float | None, members: Sequence[SetMetrics]) -> GroupDiversity:
    human = [m.human_diversity for m in members if m.human_diversity is not None]
    low, high = mean_interval(human)
    return GroupDiversity(
        generator=generator,
        temperature=temperature,
        sets=len(members),
        judged_sets=len(human),
        human_diversity=_mean(human),
        human_low=low,
        human_high=high,
        **{metric: _mean([getattr(m, metric) for m in members]) for metric in METRICS},
        collapsed_prompts=tuple(m.prompt_id for m in members if m.all_identical),
    )


def embed_sets(sets: Sequence[CompletionSet], embed: Embed) -> list[np.ndarray]:
    """Every set's texts embedded, in one call to `embed` (labelapp.reports.embeddings.text_embeddings)."""
    every_text = [text for completion_set in sets for text in completion_set.texts]
    embedded = embed(every_text) if every_text else np.zeros((0, 1))
    rows, start = [], 0
    for completion_set in sets:
        rows.append(embedded[start : start + len(completion_set.texts)])
        start += len(completion_set.texts)
    return rows


def diversity_report(
    sets: Sequence[CompletionSet], *, embeddings: Sequence[np.ndarray | None]
) -> DiversityReport:
    """Metrics per set, their means per (generator, temperature), and Spearman's rho with human scores.

    `embeddings` holds one entry per set: its texts' embeddings (one row each), or None where they are not
    computed yet; those sets get no embedding distance or Vendi score.
    """
    if len(embeddings) != len(sets):
        raise ValueError(f"Need one embeddings entry per set, got {len(embeddings)} for {len(sets)} sets.")
    rows = [set_metrics(one_set, vectors) for one_set, vectors in zip(sets, embeddings, strict=True)]

    groups: dict[tuple[str, float | None], list[SetMetrics]] = {}
    for row in rows:
        groups.setdefault((row.generator, row.temperature), []).append(row)
    group_rows = tuple(
        _group(generator, temperature, members)
        for (generator, temperature), members in sorted(
            groups.items(), key=lambda entry: (entry[0][0], entry[0][1] is None, entry[0][1] or 0)
        )
    )

    correlations = {}
    for metric in METRICS:
        paired = [
            (getattr(row, metric), row.human_diversity)
            for row in rows
            if row.human_diversity is not None and getattr(row, metric) is not None
        ]
        correlations[metric] = spearman([p[0] for p in paired], [p[1] for p in paired])
    return DiversityReport(sets=tuple(rows), groups=group_rows, correlations=correlations)
