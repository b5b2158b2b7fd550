"""The "tgi" backend: text-generation-inference's POST {base_url}/generate, with details for logprobs.

Each request's n samples are asked for with best_of=n: TGI then samples n sequences and returns the best one
in `details` and the others in `details.best_of_sequences`. Answers are parsed with huggingface_hub's
TextGenerationOutput. When the server refuses best_of (HTTP 422 naming best_of: above its --max-best-of, or
"`seed` must not be set when `best_of` > 1", which released TGI versions say) or returns fewer than n
sequences, the rest of the call sends n concurrent best_of-less requests per prompt with seeds seed+k.
Exception: when the caller gave no seed, a seed refusal is retried with best_of and no seed, and each
completion reports the seed the server chose for its sequence.

Parameters are sent the way TGI validates them: temperature only when sampling (TGI refuses 0; greedy is
do_sample=false), top_p only below 1 (TGI refuses 1.0).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from inference.errors import InferenceError
from inference.model_spec import ModelSpec
from inference.params import Completion, GenerationRequest, RequestResult, SamplingParams
from inference.remote import (
    RemoteSession,
    ServerRejected,
    cut_at_stop,
    logprob_totals,
    offset_seed,
    render_text_prompt,
    request_result,
    request_seeds,
    run_concurrently,
    stream_concurrently,
)

LABEL = "TGI"
FINISH_REASONS: dict[str | None, str] = {"eos_token": "eos", "length": "length", "stop_sequence": "stop"}
BEST_OF_WITH_SEED, BEST_OF_WITHOUT_SEED, BEST_OF_OFF = "with seed", "without seed", "off"


class _BestOf:
    """Whether this generate() call still asks for best_of, shared by its concurrent requests."""

    def __init__(self, params: SamplingParams) -> None:
        self.mode = BEST_OF_WITH_SEED if params.n > 1 and not params.is_greedy else BEST_OF_OFF
        self._lock = threading.Lock()

    def refused(self, exc: ServerRejected, *, attempted: str, caller_seeded: bool) -> None:
        with self._lock:
            if self.mode != attempted:  # a concurrent request already moved on
                return
            seed_refused = "seed" in exc.server_message
            if attempted == BEST_OF_WITH_SEED and seed_refused and not caller_seeded:
                self.mode = BEST_OF_WITHOUT_SEED
            else:
                self.mode = BEST_OF_OFF

    def give_up(self) -> None:
        with self._lock:
            self.mode = BEST_OF_OFF


def _is_best_of_refusal(exc: ServerRejected) -> bool:
    return (exc.status == 422 or exc.error_type == "validation") and "best_of" in exc.server_message


def tgi_parameters(params: SamplingParams, *, seed: int | None, best_of: int) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "details": True,
        "decoder_input_details": False,
        "do_sample": not params.is_greedy,
        "max_new_tokens": params.max_new_tokens,
        "stop": list(params.stop),
    }
    if not params.is_greedy:
        parameters["temperature"] = params.temperature
        if params.top_p < 1:
            parameters["top_p"] = params.top_p
        if params.top_k is not None:
            parameters["top_k"] = params.top_k
    if seed is not None:
        parameters["seed"] = seed
    if best_of > 1:
        parameters["best_of"] = best_of
    return parameters


@dataclass(frozen=True)
class _Prompt:
    index: int
    text: str
    seed: int


@dataclass(frozen=True)
class _Sequence:
    """One sampled sequence of an answer: the top-level one (details) or one of details.best_of_sequences."""

    generated_text: str
    finish_reason: str | None
    generated_tokens: int | None
    seed: int | None
    logprobs: list[object]


class _TGIRequests:
    def __init__(self, session: RemoteSession, url: str, params: SamplingParams) -> None:
        self.session = session
        self.url = url
        self.params = params
        self.best_of = _BestOf(params)

    def _sequences(self, prompt: _Prompt, *, seed: int | None, best_of: int) -> list[_Sequence]:
        from huggingface_hub import (
            TextGenerationOutput,
            TextGenerationOutputBestOfSequence,
            TextGenerationOutputDetails,
        )

        body = {"inputs": prompt.text, "parameters": tgi_parameters(self.params, seed=seed, best_of=best_of)}
        data = self.session.post_json(self.url, body)
        if isinstance(data, list) and data:  # POST / (TGI's compat route) wraps the answer in a list
            data = data[0]
        if not isinstance(data, dict) or not isinstance(data.get("generated_text"), str):
            raise InferenceError(
                f"{LABEL} server {self.url} answered with an unexpected shape: {str(data)[:300]}"
            )
        output = TextGenerationOutput.parse_obj_as_instance(data)
        details = output.details
        if details is None or details.tokens is None:
            raise InferenceError(
                f"{LABEL} server {self.url} returned no details, so no token logprobs; "
                "is it a text-generation-inference server?"
            )
        sequences: list[
            tuple[str | None, TextGenerationOutputDetails | TextGenerationOutputBestOfSequence]
        ] = [
            (output.generated_text, details),
            *((other.generated_text, other) for other in details.best_of_sequences or []),
        ]
        return [
            _Sequence(
                generated_text=text or "",
                finish_reason=sequence.finish_reason,
                generated_tokens=sequence.generated_tokens,
                seed=sequence.seed,
                logprobs=[token.logprob for token in sequence.tokens or []],
            )
            for text, sequence in sequences
        ]

    def _completion(
        self, sequence: _Sequence, *, prompt: _Prompt, sample_index: int, sent_seed: int | None
    ) -> Completion:
        where = f"{LABEL} server {self.url}"
        finish_reason = FINISH_REASONS.get(sequence.finish_reason)
        if finish_reason is None:
            raise InferenceError(f"{where} returned an unknown finish_reason {sequence.finish_reason!r}")
        text, stopped = cut_at_stop(sequence.generated_text, self.params.stop)
        if stopped:
            finish_reason = "stop"
        logprob_sum, _ = logprob_totals(sequence.logprobs, where=where)
        token_count = sequence.generated_tokens
        if isinstance(token_count, bool) or not isinstance(token_count, int):
            token_count = len(sequence.logprobs)
        seed = sent_seed if sent_seed is not None else sequence.seed
        if seed is None:
            raise InferenceError(f"{where} did not report the seed of a sequence it seeded itself")
        return Completion(
            request_index=prompt.index,
            sample_index=sample_index,
            text=text,
            rendered_prompt=prompt.text,
            finish_reason=finish_reason,
            token_count=token_count,
            logprob_sum=logprob_sum,
            logprob_mean=logprob_sum / token_count if token_count else 0.0,
            seed=seed,
        )

    def _one(self, prompt: _Prompt, *, sample_index: int, seed: int) -> Completion:
        (sequence, *_) = self._sequences(prompt, seed=seed, best_of=1)
        return self._completion(sequence, prompt=prompt, sample_index=sample_index, sent_seed=seed)

    def _with_best_of(self, prompt: _Prompt) -> list[Completion] | None:
        """The n completions from one best_of request, or None once best_of is off for this call."""
        n = self.params.n
        while (mode := self.best_of.mode) != BEST_OF_OFF:
            seed = prompt.seed if mode == BEST_OF_WITH_SEED else None
            try:
                sequences = self._sequences(prompt, seed=seed, best_of=n)
            except ServerRejected as exc:
                if not _is_best_of_refusal(exc):
                    raise
                self.best_of.refused(exc, attempted=mode, caller_seeded=self.params.seed is not None)
                continue
            if len(sequences) < n:
                self.best_of.give_up()
                return None
            return [
                self._completion(sequence, prompt=prompt, sample_index=index, sent_seed=seed)
                for index, sequence in enumerate(sequences[:n])
            ]
        return None

    def completions(self, prompt: _Prompt) -> list[Completion]:
        params = self.params
        if params.is_greedy:
            first = self._one(prompt, sample_index=0, seed=prompt.seed)
            # One greedy sequence stands for all n samples, which would be identical (as locally).
            return [first, *(replace(first, sample_index=index) for index in range(1, params.n))]
        if params.n == 1:
            return [self._one(prompt, sample_index=0, seed=prompt.seed)]
        batched = self._with_best_of(prompt)
        if batched is not None:
            return batched
        jobs: list[Callable[[], Completion]] = [
            partial(self._one, prompt, sample_index=k, seed=offset_seed(prompt.seed, k))
            for k in range(params.n)
        ]
        # The session's semaphore, not this pool, bounds the requests in flight to spec.concurrency.
        return run_concurrently(jobs, workers=params.n)


def stream_tgi(
    *, spec: ModelSpec, requests: Sequence[GenerationRequest], params: SamplingParams
) -> Generator[RequestResult, None, None]:
    """Each request's result as soon as its answer is in, spec.concurrency requests in flight."""
    prompts = [
        _Prompt(index=index, text=render_text_prompt(spec, request), seed=seed)
        for index, (request, seed) in enumerate(
            zip(requests, request_seeds(params, len(requests)), strict=True)
        )
    ]
    return _stream(spec, params, prompts)


def _stream(
    spec: ModelSpec, params: SamplingParams, prompts: list[_Prompt]
) -> Generator[RequestResult, None, None]:
    with RemoteSession(spec, LABEL) as session:
        tgi = _TGIRequests(session, f"{spec.base_url}/generate", params)
        jobs = [partial(tgi.completions, prompt) for prompt in prompts]
        with closing(stream_concurrently(jobs, workers=spec.concurrency)) as results:
            for index, outcome in results:
                yield request_result(index, outcome)
