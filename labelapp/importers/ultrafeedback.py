"""`ultrafeedback`: openbmb/UltraFeedback, an instruction and completions of four models, each rated by GPT-4.

`instruction` becomes the prompt (`source` and the reference answers in its metadata; `correct_answers`,
where the dataset has any, also as its reference answer); each completion's `response` becomes an answer
of its `model`, with its principle, custom system prompt, annotations (ratings and rationales),
`fine-grained_score`, `overall_score` and critique as metadata. The completions are one set, scored by
`overall_score` (fixed by the dataset's authors in December 2023; `fine-grained_score` where it is
missing): the campaign's kind decides whether it becomes one set-wise item, one ranking item, or an item
per pair, and the source label says what the scores say of it (best and worst, the order, or the winner).
"""

from collections.abc import Iterable, Iterator
from typing import Any

from labelapp.importers.records import SourceRecord
from labelapp.importers.rows import CandidateSpec, Fields, Group, ImportRow, PromptSpec, model_checked

NAME = "ultrafeedback"
SUMMARY = "openbmb/UltraFeedback: instruction, completions [{model, response, annotations, overall_score, …}]"
GROUPS = "scored sets"
COLUMNS = (("instruction",), ("completions",))
COMPLETION_METADATA = (
    "principle",
    "custom_system_prompt",
    "annotations",
    "fine-grained_score",
    "overall_score",
    "critique",
)
NO_ANSWERS: tuple[Any, ...] = (
    None,
    [],
    ["None"],
)  # the dataset's placeholder where it has no reference answers


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _completion(entry: Any, fields: Fields, at: str) -> tuple[CandidateSpec, float | None]:
    if not isinstance(entry, dict):
        raise fields.error("must be an object with 'model' and 'response'", at)
    if not isinstance(entry.get("response"), str):
        raise fields.error("must be a string", f"{at}.response")
    score = _score(entry.get("overall_score"))
    if score is None:
        score = _score(entry.get("fine-grained_score"))
    answer = CandidateSpec(
        text=entry["response"],
        model=model_checked(entry.get("model"), fields, f"{at}.model"),
        metadata={key: entry[key] for key in COMPLETION_METADATA if entry.get(key) is not None},
    )
    return answer, score


def _prompt(fields: Fields) -> PromptSpec:
    correct = fields.structured("correct_answers")
    incorrect = fields.structured("incorrect_answers")
    metadata: dict[str, Any] = {"source": fields.raw("source")} if fields.has("source") else {}
    if correct not in NO_ANSWERS:
        metadata["correct_answers"] = correct
    if incorrect not in NO_ANSWERS:
        metadata["incorrect_answers"] = incorrect
    reference = ""
    if isinstance(correct, list) and correct not in NO_ANSWERS:
        reference = "\n".join(str(answer) for answer in correct)
    return PromptSpec(text=fields.text("instruction"), reference_answer=reference, metadata=metadata)


def rows(records: Iterable[SourceRecord], *, source: str) -> Iterator[ImportRow]:
    for record in records:
        fields = Fields(record)
        completions = fields.listing("completions")
        scored = [_completion(entry, fields, f"completions[{n}]") for n, entry in enumerate(completions)]
        answers = tuple(answer for answer, _ in scored)
        scores = tuple(score for _, score in scored)
        groups: tuple[Group, ...] = ()
        if len(answers) >= 2:
            raw = {
                "models": [answer.model for answer in answers],
                "overall_score": [entry.get("overall_score") for entry in completions],
                "fine-grained_score": [entry.get("fine-grained_score") for entry in completions],
            }
            groups = (Group(candidates=tuple(range(len(answers))), scores=scores, raw=raw),)
        yield ImportRow(where=record.where, prompt=_prompt(fields), candidates=answers, groups=groups)
