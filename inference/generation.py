"""The generate() entry point: render prompts, batch them, sample, and turn rows into completions."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

from inference.batching import Batch, plan_batches
from inference.errors import InferenceError
from inference.model_spec import ModelSpec, resolve_model_location
from inference.params import Completion, GenerationRequest, SamplingParams
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


def batch_seed(base_seed: int | None, batch_number: int) -> int:
    return base_seed + batch_number if base_seed is not None else secrets.randbits(SEED_BITS)


def _row_completion(
    row: SampledRow,
    *,
    loaded: LoadedModel,
    params: SamplingParams,
    request_index: int,
    sample_index: int,
    rendered_prompt: str,
    seed: int,
) -> Completion:
    trimmed = trim_generation(
        row.token_ids,
        eos_token_ids=loaded.eos_token_ids,
        stop=params.stop,
        decode=lambda ids: loaded.tokenizer.decode(list(ids), skip_special_tokens=True),
    )
    logprob_sum = float(sum(row.token_logprobs[: trimmed.token_count]))
    return Completion(
        request_index=request_index,
        sample_index=sample_index,
        text=trimmed.text,
        rendered_prompt=rendered_prompt,
        finish_reason=trimmed.finish_reason,
        token_count=trimmed.token_count,
        logprob_sum=logprob_sum,
        logprob_mean=logprob_sum / trimmed.token_count if trimmed.token_count else 0.0,
        seed=seed,
    )


def _batch_completions(
    batch: Batch,
    rows: list[SampledRow],
    *,
    loaded: LoadedModel,
    params: SamplingParams,
    prompts: Sequence[str],
    seed: int,
) -> list[Completion]:
    completions = []
    for position, row in enumerate(rows):
        request_index = batch.request_indices[position // batch.rows_per_request]
        sample_index = batch.first_row + position % batch.rows_per_request
        completion = _row_completion(
            row,
            loaded=loaded,
            params=params,
            request_index=request_index,
            sample_index=sample_index,
            rendered_prompt=prompts[request_index],
            seed=seed,
        )
        if params.is_greedy:
            # The single greedy row stands for all n samples, which would be identical.
            completions.extend(replace(completion, sample_index=index) for index in range(params.n))
        else:
            completions.append(completion)
    return completions


def preload(spec: ModelSpec) -> None:
    """Load the model and tokenizer into this process now, so that later generate() calls only generate."""
    load_model(resolve_model_location(spec))


def generate(
    *,
    spec: ModelSpec,
    requests: Sequence[GenerationRequest],
    params: SamplingParams,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Completion]:
    """len(requests) * params.n completions ordered by (request_index, sample_index).

    on_progress(done_requests, total_requests) is called after each batch.
    """
    for request in requests:
        if not isinstance(request, GenerationRequest):
            raise InferenceError(f"requests must be GenerationRequest instances, got {request!r}")
    if not requests:
        return []
    loaded = load_model(resolve_model_location(spec))
    prompts = [render_prompt(spec=spec, request=request, tokenizer=loaded.tokenizer) for request in requests]
    # Chat templates already spell out their special tokens; only raw prompts get the tokenizer's BOS etc.
    add_special_tokens = spec.prompt_format == "raw"
    batches = plan_batches(
        prompt_token_counts=count_prompt_tokens(
            loaded.tokenizer, prompts, add_special_tokens=add_special_tokens
        ),
        rows_per_request=1 if params.is_greedy else params.n,
        max_new_tokens=params.max_new_tokens,
        batch_tokens=spec.batch_tokens,
    )
    completions: list[Completion] = []
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
        completions.extend(
            _batch_completions(batch, rows, loaded=loaded, params=params, prompts=prompts, seed=seed)
        )
        if on_progress is not None:
            on_progress(batch.requests_done, len(requests))
    return sorted(completions, key=lambda c: (c.request_index, c.sample_index))
