"""Coherent-but-wrong: correctness and coherence verdicts joined on the same candidates, per generator.

Each candidate with both verdicts falls in exactly one of three groups: incoherent (whatever its
correctness), coherent but wrong, or correct (coherent and correct). Coherent-but-wrong answers are the
ones a labeller who does not know the answer would pass. Incoherent answers judged correct are counted as
well, since they say something about one of the two label sets.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from labelapp.reports.proportions import Proportion, proportion


@dataclass(frozen=True)
class CandidateVerdicts:
    candidate_id: int
    generator: str
    correct: bool | None  # aggregated correctness; None for can't tell, no majority or not labelled
    coherent: bool | None  # aggregated coherence; None for no majority or not labelled


@dataclass(frozen=True)
class GeneratorCoherence:
    generator: str
    judged: int  # candidates with both verdicts: the denominator of the three shares
    incoherent: Proportion
    coherent_but_wrong: Proportion
    correct: Proportion
    incoherent_but_correct: int
    missing_verdict: int  # candidates lacking one verdict or both
    coherent_but_wrong_ids: tuple[int, ...]  # the cases to read


def coherence_report(candidates: Sequence[CandidateVerdicts]) -> tuple[GeneratorCoherence, ...]:
    """One row per generator, by name."""
    rows = []
    for name in sorted({c.generator for c in candidates}):
        mine = [c for c in candidates if c.generator == name]
        judged = [c for c in mine if c.correct is not None and c.coherent is not None]
        wrong = [c for c in judged if c.coherent and not c.correct]
        rows.append(
            GeneratorCoherence(
                generator=name,
                judged=len(judged),
                incoherent=proportion(sum(not c.coherent for c in judged), len(judged)),
                coherent_but_wrong=proportion(len(wrong), len(judged)),
                correct=proportion(sum(bool(c.coherent and c.correct) for c in judged), len(judged)),
                incoherent_but_correct=sum(bool(not c.coherent and c.correct) for c in judged),
                missing_verdict=len(mine) - len(judged),
                coherent_but_wrong_ids=tuple(c.candidate_id for c in wrong),
            )
        )
    return tuple(rows)
