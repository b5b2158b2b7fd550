"""Best-of-N: a generation job samples n answers to each prompt and selects the best by one method.

- `logprob`: the highest mean token logprob (the model's own confidence; an empty sample, which has none,
  comes last);
- `reward-model:PATH`: the highest score of a local transformers sequence-classification model with one
  label (inference/reward_model.py), run in the worker on CPU;
- `judge:GENERATOR`: a generator shown the prompt and the n answers, numbered in sample order (the samples
  are drawn independently, so that order is already random), answers "Best: K" on one line, decoded
  greedily and parsed strictly as the pairwise judge's verdicts are (services/judge.py). An answer in any
  other form selects nothing: its raw text is recorded and the prompt has no best-of-N answer.

Every one of the n answers records the method and its score; the selected one also records all n scores
and why it was selected (Candidate.selection).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import inference
from inference.reward_model import reward_model_check, reward_scores
from labelapp.errors import ApplicationError
from labelapp.selectors.generators import generator_get

LOGPROB = "logprob"
REWARD_MODEL = "reward-model"
JUDGE = "judge"
METHODS_HELP = "logprob, reward-model:PATH (a local sequence-classification folder) or judge:GENERATOR"
JUDGE_PARAMS = inference.SamplingParams(temperature=0.0, max_new_tokens=16, stop=("\n",), seed=0)
JUDGE_TEMPLATE = """You are choosing the best of {n} responses to the same prompt.

[Prompt]
{prompt}

{responses}

Which response is best? Answer with exactly one line and nothing else: "Best: K", where K is a number from 1 to {n}."""
JUDGE_RESPONSE = "[Response {number}]\n{text}\n"
JUDGE_VERDICT = re.compile(r"Best: (\d+)")


@dataclass(frozen=True)
class Selection:
    """How a job selects: the method and its argument (the reward model's folder, the judge's name)."""

    method: str
    argument: str = ""

    @property
    def text(self) -> str:
        return f"{self.method}:{self.argument}" if self.argument else self.method


def _error(message: str) -> ApplicationError:
    return ApplicationError(f"Option 'select': {message}", {"field": "select"})


def selection_parse(text: str) -> Selection:
    """`logprob`, `reward-model:PATH` or `judge:GENERATOR`; anything else is refused naming the option."""
    method, mark, argument = text.strip().partition(":")
    if method == LOGPROB and not mark:
        return Selection(LOGPROB)
    if method in {REWARD_MODEL, JUDGE} and argument.strip():
        return Selection(method, argument.strip())
    raise _error(f"'{text}' is not a selection method; use {METHODS_HELP}.")


def selection_check(text: str) -> Selection:
    """The selection, checked before a job is queued: the reward model folder is one, the judge exists."""
    selection = selection_parse(text)
    if selection.method == REWARD_MODEL:
        try:
            reward_model_check(selection.argument)
        except inference.InferenceError as exc:
            raise _error(f"reward-model:{selection.argument}: {exc}.") from None
    if selection.method == JUDGE:
        try:
            generator_get(name=selection.argument)
        except ApplicationError as exc:
            raise _error(f"judge:{selection.argument}: {exc.message}") from None
    return selection


def judge_prompt(*, request: inference.GenerationRequest, texts: Sequence[str]) -> str:
    prompt = request.prompt if request.prompt is not None else _conversation_text(request)
    responses = "\n".join(JUDGE_RESPONSE.format(number=i + 1, text=text) for i, text in enumerate(texts))
    return JUDGE_TEMPLATE.format(n=len(texts), prompt=prompt, responses=responses)


def _conversation_text(request: inference.GenerationRequest) -> str:
    messages = request.messages or ()
    if len(messages) == 1:
        return str(messages[0]["content"])
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def judge_choice(raw_output: str, n: int) -> int | None:
    """The sample index the judge chose, or None unless its answer is exactly "Best: K" with K in 1..n."""
    match = JUDGE_VERDICT.fullmatch(raw_output.strip())
    if match is None or not 1 <= int(match.group(1)) <= n:
        return None
    return int(match.group(1)) - 1


@dataclass(frozen=True)
class Scored:
    """One prompt's n samples scored: scores by sample index, the chosen index (None: none) and why."""

    scores: list[float | None]
    chosen: int | None
    why: str


def _scored_by_score(scores: list[float | None], what: str) -> Scored:
    ranked = [float("-inf") if score is None else score for score in scores]
    chosen = max(range(len(scores)), key=ranked.__getitem__)
    return Scored(scores, chosen, f"{what} {ranked[chosen]:.4g}, the highest of {len(scores)} samples")


def _score_by_logprob(completions: Sequence[inference.Completion]) -> Scored:
    return _scored_by_score([c.logprob_mean for c in completions], "mean token logprob")


def _score_by_reward_model(
    *, path: str, request: inference.GenerationRequest, completions: Sequence[inference.Completion]
) -> Scored:
    try:
        scores: list[float | None] = list(
            reward_scores(path=path, request=request, answers=[c.text for c in completions])
        )
    except inference.InferenceError as exc:
        raise _error(f"reward-model:{path}: {exc}.") from None
    return _scored_by_score(scores, f"reward model {path} score")


def _score_by_judge(
    *,
    judge: inference.ModelSpec,
    judge_name: str,
    requests: Sequence[inference.GenerationRequest],
    samples: Sequence[Sequence[inference.Completion]],
) -> list[Scored]:
    """The judge's pick among each request's samples, all requests in one batched call."""
    asked = [
        inference.GenerationRequest(
            messages=({"role": "user", "content": judge_prompt(request=r, texts=[c.text for c in s])},)
        )
        for r, s in zip(requests, samples, strict=True)
    ]
    answers = {
        c.request_index: c.text for c in inference.generate(spec=judge, requests=asked, params=JUDGE_PARAMS)
    }
    scored = []
    for index, completions in enumerate(samples):
        raw = answers.get(index, "")
        chosen = judge_choice(raw, len(completions))
        scores: list[float | None] = [float(i == chosen) for i in range(len(completions))]
        why = (
            f"judge {judge_name} chose response {chosen + 1} of {len(completions)}: {raw.strip()!r}"
            if chosen is not None
            else f'judge {judge_name} answered {raw.strip()!r}, not "Best: K" with K from 1 to '
            f"{len(completions)}: nothing selected"
        )
        scored.append(Scored(scores, chosen, why))
    return scored


def selection_records(*, method: str, scored: Scored) -> list[dict[str, Any]]:
    """What each sample (by sample index) stores in Candidate.selection."""
    n = len(scored.scores)
    records: list[dict[str, Any]] = []
    for index, score in enumerate(scored.scores):
        record: dict[str, Any] = {
            "method": method,
            "n": n,
            "score": score,
            "selected": index == scored.chosen,
        }
        if index == scored.chosen or scored.chosen is None:
            record |= {"scores": scored.scores, "why": scored.why}
        records.append(record)
    return records


def best_of_n_records(
    *,
    selection: Selection,
    judge: inference.ModelSpec | None,
    requests: Sequence[inference.GenerationRequest],
    samples: Sequence[Sequence[inference.Completion]],
) -> list[list[dict[str, Any]]]:
    """Each request's Candidate.selection records (by sample index), its samples scored by `selection`;
    `judge` is the judge generator's model (judge selections only)."""
    if selection.method == JUDGE:
        assert judge is not None, "a judge selection runs its judge"
        scored = _score_by_judge(
            judge=judge, judge_name=selection.argument, requests=requests, samples=samples
        )
    elif selection.method == REWARD_MODEL:
        scored = [
            _score_by_reward_model(path=selection.argument, request=r, completions=s)
            for r, s in zip(requests, samples, strict=True)
        ]
    else:
        scored = [_score_by_logprob(s) for s in samples]
    return [selection_records(method=selection.text, scored=s) for s in scored]
