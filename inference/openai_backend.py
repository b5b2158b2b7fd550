"""The "openai-chat" and "openai-completions" backends: any OpenAI-compatible server (vLLM, SGLang, llama.cpp's
server, TGI's /v1, OpenAI itself).

One request per prompt asks for all n samples (`n`) with token logprobs: POST {base_url}/chat/completions with
{"model", "messages", "n", "temperature", "top_p", "max_tokens", "stop", "seed", "logprobs": true,
"top_logprobs": 0}, or POST {base_url}/completions with {"model", "prompt", "n", "max_tokens", "temperature",
"top_p", "stop", "seed", "logprobs": 1}; "top_k" is added only when set (OpenAI itself has no top_k). A server
that returns fewer than n choices (llama.cpp ignores n) is asked again for the rest, with seed + choices so far.
Greedy sampling (temperature 0) asks for one choice and repeats it n times, as the local backend does.

Each choice's token_count is its number of logprob entries (usage.completion_tokens is not per choice); a
server that returns no logprobs is an error.

finish_reason: "length" is "length". "stop" means the model emitted an end-of-sequence token or a stop
sequence, and OpenAI does not say which. Rule: it is "stop" when params.stop is non-empty and the choice names
one of those strings in vLLM's `stop_reason` or SGLang's `matched_stop`; otherwise "eos". TGI's /v1 spells
them "eos_token" and "stop_sequence", which map directly. Servers cut the stop sequence off the text; should one
leave it in, the text is cut at it here and the reason is "stop".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from inference.errors import InferenceError
from inference.model_spec import ModelSpec
from inference.params import Completion, GenerationRequest, SamplingParams
from inference.prompts import chat_messages
from inference.remote import (
    RemoteSession,
    cut_at_stop,
    logprob_totals,
    offset_seed,
    render_text_prompt,
    request_seeds,
    run_concurrently,
)

LABEL = "OpenAI-compatible"
DIRECT_FINISH_REASONS = {"length": "length", "eos_token": "eos", "stop_sequence": "stop"}


@dataclass(frozen=True)
class _Prompt:
    index: int
    rendered: str  # the prompt text sent, or for chat the messages sent, as JSON
    payload: dict[str, Any]  # {"messages": [...]} or {"prompt": "..."}
    seed: int


def _body(spec: ModelSpec, params: SamplingParams, prompt: _Prompt, *, n: int, seed: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec.model,
        **prompt.payload,
        "n": n,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_new_tokens,
        "stop": list(params.stop),
        "seed": seed,
    }
    if spec.backend == "openai-chat":
        body.update(logprobs=True, top_logprobs=0)
    else:
        body["logprobs"] = 1
    if params.top_k is not None:
        body["top_k"] = params.top_k
    return body


def _token_logprobs(logprobs: object) -> list[object] | None:
    """Sampled-token logprobs in chat shape ({"content": [{"logprob"}]}) or completions shape
    ({"token_logprobs": [...]}); servers differ in which endpoint answers with which."""
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if isinstance(content, list):
        return [entry.get("logprob") if isinstance(entry, dict) else entry for entry in content]
    token_logprobs = logprobs.get("token_logprobs")
    if isinstance(token_logprobs, list):
        return list(token_logprobs)
    return None


def finish_reason_of(choice: dict[str, Any], stop: Sequence[str], *, where: str) -> str:
    reason = choice.get("finish_reason")
    if reason in DIRECT_FINISH_REASONS:
        return DIRECT_FINISH_REASONS[reason]
    if reason == "stop":
        matched = choice.get("stop_reason", choice.get("matched_stop"))
        return "stop" if stop and isinstance(matched, str) and matched in stop else "eos"
    raise InferenceError(f"{where} returned finish_reason {reason!r}, which is not one of stop, length")


class _OpenAIRequests:
    def __init__(self, session: RemoteSession, spec: ModelSpec, params: SamplingParams) -> None:
        self.session = session
        self.spec = spec
        self.params = params
        self.chat = spec.backend == "openai-chat"
        self.url = f"{spec.base_url}/chat/completions" if self.chat else f"{spec.base_url}/completions"

    def _choices(self, prompt: _Prompt, *, n: int, seed: int) -> list[dict[str, Any]]:
        data = self.session.post_json(self.url, _body(self.spec, self.params, prompt, n=n, seed=seed))
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
            raise InferenceError(f"{LABEL} server {self.url} answered without choices: {str(data)[:300]}")
        return sorted(choices, key=lambda choice: choice.get("index") or 0)[:n]

    def _completion(
        self, choice: dict[str, Any], *, prompt: _Prompt, sample_index: int, seed: int
    ) -> Completion:
        where = f"{LABEL} server {self.url}"
        if self.chat:
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else None
        else:
            text = choice.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise InferenceError(f"{where} returned a choice whose text is not a string: {text!r}")
        finish_reason = finish_reason_of(choice, self.params.stop, where=where)
        text, stopped = cut_at_stop(text, self.params.stop)
        if stopped:
            finish_reason = "stop"
        logprobs = _token_logprobs(choice.get("logprobs"))
        if logprobs is None:
            raise InferenceError(
                f"{where} returned no token logprobs for choice {choice.get('index')}; this backend needs them "
                "(vLLM, SGLang, llama.cpp, TGI and OpenAI all return them when asked)"
            )
        logprob_sum, logprob_mean = logprob_totals(logprobs, where=where)
        return Completion(
            request_index=prompt.index,
            sample_index=sample_index,
            text=text,
            rendered_prompt=prompt.rendered,
            finish_reason=finish_reason,
            token_count=len(logprobs),
            logprob_sum=logprob_sum,
            logprob_mean=logprob_mean,
            seed=seed,
        )

    def completions(self, prompt: _Prompt) -> list[Completion]:
        wanted = 1 if self.params.is_greedy else self.params.n
        completions: list[Completion] = []
        while len(completions) < wanted:
            seed = offset_seed(prompt.seed, len(completions))
            for choice in self._choices(prompt, n=wanted - len(completions), seed=seed):
                completions.append(
                    self._completion(choice, prompt=prompt, sample_index=len(completions), seed=seed)
                )
        if self.params.is_greedy:
            completions.extend(
                replace(completions[0], sample_index=index) for index in range(1, self.params.n)
            )
        return completions


def _prompt(spec: ModelSpec, index: int, request: GenerationRequest, seed: int) -> _Prompt:
    if spec.backend == "openai-chat":
        messages = chat_messages(request)
        return _Prompt(index, json.dumps(messages, ensure_ascii=False), {"messages": messages}, seed)
    text = render_text_prompt(spec, request)
    return _Prompt(index, text, {"prompt": text}, seed)


def generate_openai(
    *,
    spec: ModelSpec,
    requests: Sequence[GenerationRequest],
    params: SamplingParams,
    on_progress: Callable[[int, int], None] | None,
) -> list[Completion]:
    if spec.backend == "openai-chat" and spec.prompt_format == "raw":
        raise InferenceError(
            "backend 'openai-chat' sends chat messages and the server applies its own chat template; "
            "use prompt_format='chat', or backend 'openai-completions' for a raw prompt"
        )
    seeds = request_seeds(params, len(requests))
    prompts = [
        _prompt(spec, index, request, seed)
        for index, (request, seed) in enumerate(zip(requests, seeds, strict=True))
    ]
    with RemoteSession(spec, LABEL) as session:
        openai = _OpenAIRequests(session, spec, params)
        jobs = [partial(openai.completions, prompt) for prompt in prompts]
        results = run_concurrently(jobs, workers=spec.concurrency, on_progress=on_progress)
    return [completion for completions in results for completion in completions]
