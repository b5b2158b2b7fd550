"""The generate() entry point: dispatch on the backend; locally, render prompts, batch, sample, trim."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import cast

from inference.batching import Batch, plan_batches
from inference.errors import InferenceError
from inference.model_spec import ModelSpec, resolve_model_location
from inference.params import Completion, GenerationRequest, RequestResult, SamplingParams
from inference.prompts import render_prompt
from inference.stopping import trim_generation
from inference.transformers_backend import (
    LoadedModel,
    SampledRow,
    count_prompt_tokens,
    load_model,
    sample_batch,
)

SEED_BITS = 31
ProgressCallback = Callable[[int, int], None]


def batch_seed(base_seed: int | None, batch_number: int) -> int:
    return base_seed + batch_number if base_seed is not None else secrets.randbits(SEED_BITS)


@dataclass(frozen=True)
class GeneratedRow:
    """One sampled sequence, trimmed where it finished: the counted tokens, their logprobs and the text.

    `text` has the stop sequence (and anything after it) cut off; `full_text` is the decoded counted tokens
    (special tokens skipped), so it still contains the stop sequence, as a TGI server would return it.
    """

    request_index: int
    sample_index: int
    seed: int
    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    text: str
    full_text: str
    finish_reason: str

    @property
    def logprob_sum(self) -> float:
        return float(sum(self.token_logprobs))

    @property
    def logprob_mean(self) -> float:
        return self.logprob_sum / len(self.token_logprobs) if self.token_logprobs else 0.0


def _generated_row(
    row: SampledRow,
    *,
    loaded: LoadedModel,
    params: SamplingParams,
    request_index: int,
    sample_index: int,
    seed: int,
) -> GeneratedRow:
    def decode(ids: Sequence[int]) -> str:
        text = loaded.tokenizer.decode(list(ids), skip_special_tokens=True)
        return cast(str, text)  # one sequence of ids decodes to one text

    trimmed = trim_generation(
        row.token_ids, eos_token_ids=loaded.eos_token_ids, stop=params.stop, decode=decode
    )
    token_ids = row.token_ids[: trimmed.token_count]
    return GeneratedRow(
        request_index=request_index,
        sample_index=sample_index,
        seed=seed,
        token_ids=token_ids,
        token_logprobs=tuple(float(lp) for lp in row.token_logprobs[: trimmed.token_count]),
        text=trimmed.text,
        full_text=decode(token_ids) if trimmed.finish_reason == "stop" else trimmed.text,
        finish_reason=trimmed.finish_reason,
    )


def _batch_rows(
    batch: Batch, rows: list[SampledRow], *, loaded: LoadedModel, params: SamplingParams, seed: int
) -> list[GeneratedRow]:
    return [
        _generated_row(
            row,
            loaded=loaded,
            params=params,
            request_index=batch.request_indices[position // batch.rows_per_request],
            sample_index=batch.first_row + position % batch.rows_per_request,
            seed=seed,
        )
        for position, row in enumerate(rows)
    ]


def generate_rows(
    loaded: LoadedModel,
    *,
    prompts: Sequence[str],
    add_special_tokens: bool,
    params: SamplingParams,
    batch_tokens: int,
    on_progress: ProgressCallback | None = None,
) -> list[GeneratedRow]:
    """Sample already rendered prompts in token-budgeted batches: params.n rows per prompt (1 when greedy).

    Rows come back in batch order; on_progress(done_prompts, total_prompts) is called after each batch.
    """
    batches = plan_batches(
        prompt_token_counts=count_prompt_tokens(
            loaded.tokenizer, prompts, add_special_tokens=add_special_tokens
        ),
        rows_per_request=1 if params.is_greedy else params.n,
        max_new_tokens=params.max_new_tokens,
        batch_tokens=batch_tokens,
    )
    generated: list[GeneratedRow] = []
    for batch_number, batch in enumerate(batches):
        seed = batch_seed(params.seed, batch_number)
        rows = sample_batch(
            loaded,
            prompts=[prompts[index] for index in batch.request_indices],
            add_special_tokens=add_special_tokens,
            rows_per_prompt=batch.rows_per_request,
            params=params,
            seed=seed,
        )
        generated.extend(_batch_rows(batch, rows, loaded=loaded, params=params, seed=seed))
        if on_progress is not None:
            on_progress(batch.requests_done, len(prompts))
    return generated


def _row_completion(row: GeneratedRow, *, rendered_prompt: str, sample_index: int) -> Completion:
    return Completion(
        request_index=row.request_index,
        sample_index=sample_index,
        text=row.text,
        rendered_prompt=rendered_prompt,
        finish_reason=row.finish_reason,
        token_count=len(row.token_ids),
        logprob_sum=row.logprob_sum,
        logprob_mean=row.logprob_mean,
        seed=row.seed,
    )


def _generate_locally(
    spec: ModelSpec,
    requests: Sequence[GenerationRequest],
    params: SamplingParams,
    on_progress: ProgressCallback | None,
) -> list[Completion]:
    loaded = load_model(resolve_model_location(spec))
    prompts = [render_prompt(spec=spec, request=request, tokenizer=loaded.tokenizer) for request in requests]
    rows = generate_rows(
        loaded,
        prompts=prompts,
        # Chat templates already spell out their special tokens; only raw prompts get the tokenizer's BOS etc.
        add_special_tokens=spec.prompt_format == "raw",
        params=params,
        batch_tokens=spec.batch_tokens,
        on_progress=on_progress,
    )
    completions: list[Completion] = []
    for row in rows:
        rendered_prompt = prompts[row.request_index]
        if params.is_greedy:
            # The single greedy row stands for all n samples, which would be identical.
            completions.extend(
                _row_completion(row, rendered_prompt=rendered_prompt, sample_index=index)
                for index in range(params.n)
            )
        else:
            completions.append(
                _row_completion(row, rendered_prompt=rendered_prompt, sample_index=row.sample_index)
            )
    return completions


def preload(spec: ModelSpec) -> None:
    """Load what generate() needs into this process now, so that later calls only generate.

    Locally that is the model and tokenizer; a remote backend that renders chat prompts into text needs the
    tokenizer (for its chat template); other remote backends need nothing, and no request is sent.
    """
    if not spec.is_remote:
        load_model(resolve_model_location(spec))
        return
    from inference.remote import preload_remote

    preload_remote(spec)


def _check_requests(requests: Sequence[GenerationRequest]) -> None:
    for request in requests:
        if not isinstance(request, GenerationRequest):
            raise InferenceError(f"requests must be GenerationRequest instances, got {request!r}")


def _remote_results(
    spec: ModelSpec, requests: Sequence[GenerationRequest], params: SamplingParams
) -> Generator[RequestResult, None, None]:
    if spec.backend == "tgi":
        from inference.tgi_backend import stream_tgi

        return stream_tgi(spec=spec, requests=requests, params=params)
    from inference.openai_backend import stream_openai

    return stream_openai(spec=spec, requests=requests, params=params)


def _local_results(
    spec: ModelSpec, requests: Sequence[GenerationRequest], params: SamplingParams
) -> Generator[RequestResult, None, None]:
    by_request: dict[int, list[Completion]] = {index: [] for index in range(len(requests))}
    for completion in _generate_locally(spec, requests, params, on_progress=None):
        by_request[completion.request_index].append(completion)
    for index, completions in by_request.items():
        yield RequestResult(
            request_index=index, completions=tuple(sorted(completions, key=lambda c: c.sample_index))
        )


def _no_results() -> Generator[RequestResult, None, None]:
    yield from ()


def generate_each(
    *, spec: ModelSpec, requests: Sequence[GenerationRequest], params: SamplingParams
) -> Generator[RequestResult, None, None]:
    """Each request's params.n completions, as a RequestResult, in the order they are ready.

    A remote backend yields each request as soon as its answer is in, with spec.concurrency requests in
    flight; a request the server refuses (a 4xx answer) yields its refusal and the others go on. A transient
    server failure raises InferenceUnavailable, anything else InferenceError. The local backend yields every
    request once the whole call is done. Close the iterator (contextlib.closing) to stop early: requests not
    yet sent are dropped.
    """
    _check_requests(requests)
    if not requests:
        return _no_results()
    if spec.is_remote:
        return _remote_results(spec, requests, params)
    return _local_results(spec, requests, params)


def generate(
    *,
    spec: ModelSpec,
    requests: Sequence[GenerationRequest],
    params: SamplingParams,
    on_progress: ProgressCallback | None = None,
) -> list[Completion]:
    """len(requests) * params.n completions ordered by (request_index, sample_index).

    on_progress(done_requests, total_requests) is called after each local batch, or after each remote request.
    Remote backends raise InferenceUnavailable for transient server failures, InferenceError otherwise (a
    refused request included).
    """
    _check_requests(requests)
    if not requests:
        return []
    if not spec.is_remote:
        completions = _generate_locally(spec, requests, params, on_progress)
        return sorted(completions, key=lambda c: (c.request_index, c.sample_index))
    completions = []
    with closing(_remote_results(spec, requests, params)) as results:
        for done, result in enumerate(results, start=1):
            if result.refusal is not None:
                raise InferenceError(result.refusal)
            completions.extend(result.completions)
            if on_progress is not None:
                on_progress(done, len(requests))
    return sorted(completions, key=lambda c: (c.request_index, c.sample_index))
