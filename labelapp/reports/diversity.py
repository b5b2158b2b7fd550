"""How varied a set of completions of one prompt is: lexical (distinct-n, self-BLEU) and semantic
(mean pairwise embedding distance, Vendi score), and the sets-level report that compares them with human
set-wise diversity judgements.

Tokens for distinct-n are lowercased words and single punctuation marks; self-BLEU uses sacrebleu's own
tokenizer (13a) and its 0-100 scale.
"""

import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sacrebleu

from labelapp.reports.correlation import Correlation, spearman

TOKEN = re.compile(r"\w+|[^\w\s]")

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
        sacrebleu.sentence_bleu(text, [other for j, other in enumerate(texts) if j != i]).score
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
    return float(np.mean(1 - upper))


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


METRICS = ("distinct_1", "distinct_2", "self_bleu", "embedding_distance", "vendi")


@dataclass(frozen=True)
class GroupDiversity:
    generator: str
    temperature: float | None
    sets: int
    human_diversity: float | None  # means over the group's sets (human: over its judged sets)
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


def set_metrics(completion_set: CompletionSet, embeddings: np.ndarray) -> SetMetrics:
    texts = completion_set.texts
    return SetMetrics(
        prompt_id=completion_set.prompt_id,
        generator=completion_set.generator,
        temperature=completion_set.temperature,
        size=len(texts),
        human_diversity=completion_set.human_diversity,
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        self_bleu=self_bleu(texts),
        embedding_distance=mean_pairwise_distance(embeddings),
        vendi=vendi_score(embeddings),
        all_identical=len(texts) > 1 and len({text.strip() for text in texts}) == 1,
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


def diversity_report(sets: Sequence[CompletionSet], *, embed: Embed) -> DiversityReport:
    """Metrics per set, their means per (generator, temperature), and Spearman's rho with human scores.

    `embed` turns texts into one row each (labelapp.reports.embeddings.text_embeddings in production); all
    texts are embedded in one call.
    """
    every_text = [text for completion_set in sets for text in completion_set.texts]
    embedded = embed(every_text) if every_text else np.zeros((0, 1))
    rows, start = [], 0
    for completion_set in sets:
        rows.append(set_metrics(completion_set, embedded[start : start + len(completion_set.texts)]))
        start += len(completion_set.texts)

    groups: dict[tuple[str, float | None], list[SetMetrics]] = {}
    for row in rows:
        groups.setdefault((row.generator, row.temperature), []).append(row)
    group_rows = tuple(
        GroupDiversity(
            generator=generator,
            temperature=temperature,
            sets=len(members),
            human_diversity=_mean([m.human_diversity for m in members]),
            **{metric: _mean([getattr(m, metric) for m in members]) for metric in METRICS},
            collapsed_prompts=tuple(m.prompt_id for m in members if m.all_identical),
        )
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
