"""The "openai-chat" and "openai-completions" backends: any OpenAI-compatible server (vLLM, SGLang, llama.cpp's
server, TGI's /v1, OpenAI itself).

One request per prompt asks for all n samples (`n`) with token logprobs: POST {base_url}/chat/completions with
{"model", "messages", "n", "temperature", "top_p", "max_tokens", "stop", "seed", "logprobs": true,
"top_logprobs": 1}, or POST {base_url}/completions with {"model", "prompt", "n", "max_tokens", "temperature",
"top_p", "stop", "seed", "logprobs": 1}; "top_k" is added only when set (OpenAI itself has no top_k).
"top_logprobs" is 1, not 0: llama.cpp's server takes 0 as "no logprobs" (vLLM and OpenAI accept either).
A server that returns fewer than n choices (older llama.cpp servers ignore n) is asked again for the rest, with
seed + choices so far; one that refuses n (llama.cpp refuses n above its --parallel) is asked for one choice
per request from then on. Greedy sampling (temperature 0) asks for one choice and repeats it n times, as the
local backend does. Each choice records the seed of the request that returned it.

Each choice's token_count is its number of logprob entries (`usage` is not per choice, and llama.cpp reports
only the first choice's). A choice with text but no logprobs is an error; an empty choice without logprobs
(llama.cpp, for a sample that stopped at its first token, drops the stop sequence's tokens) is a sample of
0 tokens with no logprobs.

finish_reason: "length" is "length". "stop" means the model emitted an end-of-sequence token or a stop
sequence, and OpenAI does not say which. With no stop sequences it is "eos". Otherwise vLLM's `stop_reason`
and SGLang's `matched_stop` name what stopped it: "stop" when that is one of params.stop, else "eos". llama.cpp
names neither, but gives its logprob entries token ids, keeps the end-of-sequence token (with no text) as the
last entry and drops a stop sequence's tokens: "eos" when the last entry has no text, else "stop" (and "stop"
for an empty sample without logprobs). OpenAI itself does not say: "eos". TGI's /v1 spells them "eos_token"
and "stop_sequence", which map directly. Servers cut the stop sequence off the text; should one leave it in, the
text is cut at it here and the reason is "stop".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from inference.errors import InferenceError
from inference.model_spec import ModelSpec
from inference.params import Completion, GenerationRequest, RequestResult, SamplingParams
from inference.prompts import chat_messages
from inference.remote import (
    RemoteSession,
    ServerRejected,
    cut_at_stop,
    logprob_totals,
    offset_seed,
    render_text_prompt,
    request_result,
    request_seeds,
    stream_concurrently,
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
        body.update(logprobs=True, top_logprobs=1)
    else:
        body["logprobs"] = 1
    if params.top_k is not None:
        body["top_k"] = params.top_k
    return body


@dataclass(frozen=True)
class _Token:
    text: object  # the token's text, where the server gives it
    logprob: object
    token_id: object = None  # llama.cpp alone gives it


def _tokens(logprobs: object) -> list[_Token] | None:
    """Sampled tokens in chat shape ({"content": [{"token", "logprob"}]}, also llama.cpp's /completions) or
    completions shape ({"tokens": [...], "token_logprobs": [...]}); None when the choice has no logprobs."""
    if not isinstance(logprobs, dict):
        return None
    content = logprobs.get("content")
    if isinstance(content, list):
        return [
            _Token(entry.get("token"), entry.get("logprob"), entry.get("id"))
            if isinstance(entry, dict)
            else _Token(None, entry)
            for entry in content
        ]
    token_logprobs = logprobs.get("token_logprobs")
    if isinstance(token_logprobs, list):
        texts = logprobs.get("tokens")
        if not isinstance(texts, list) or len(texts) != len(token_logprobs):
            texts = [None] * len(token_logprobs)
        return [_Token(text, logprob) for text, logprob in zip(texts, token_logprobs, strict=True)]
    return None


def finish_reason_of(
    choice: dict[str, Any], tokens: Sequence[_Token] | None, stop: Sequence[str], *, where: str
) -> str:
    reason = choice.get("finish_reason")
    if reason in DIRECT_FINISH_REASONS:
        return DIRECT_FINISH_REASONS[reason]
    if reason != "stop":
        raise InferenceError(f"{where} returned finish_reason {reason!r}, which is not one of stop, length")
    if not stop:
        return "eos"
    if "stop_reason" in choice or "matched_stop" in choice:  # vLLM, SGLang
        matched = choice.get("stop_reason", choice.get("matched_stop"))
        return "stop" if isinstance(matched, str) and matched in stop else "eos"
    # llama.cpp names neither, but gives each logprob entry its token id, keeps the end-of-sequence token (with no
    # text) as the last entry and drops a stop sequence's tokens: all of them when it was the first token.
    if tokens is None:
        return "stop"
    if tokens and tokens[-1].token_id is not None:
        return "eos" if tokens[-1].text == "" else "stop"
    return "eos"  # OpenAI itself does not say which


def _refuses_n(exc: ServerRejected) -> bool:
    """llama.cpp's answer to n above its --parallel: "Field 'n': Value must be between 1 <= value <= 4"."""
    return exc.status == 400 and ("'n'" in exc.server_message or "n_cmpl" in exc.server_message)


class _OpenAIRequests:
    def __init__(self, session: RemoteSession, spec: ModelSpec, params: SamplingParams) -> None:
        self.session = session
        self.spec = spec
        self.params = params
        self.chat = spec.backend == "openai-chat"
        self.url = f"{spec.base_url}/chat/completions" if self.chat else f"{spec.base_url}/completions"
        self.one_choice_per_request = threading.Event()  # set once the server refuses n > 1

    def _choices(self, prompt: _Prompt, *, n: int, seed: int) -> list[dict[str, Any]]:
        if self.one_choice_per_request.is_set():
            n = 1
        try:
            data = self.session.post_json(self.url, _body(self.spec, self.params, prompt, n=n, seed=seed))
        except ServerRejected as exc:
            if n == 1 or not _refuses_n(exc):
                raise
            self.one_choice_per_request.set()
            return self._choices(prompt, n=1, seed=seed)
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
        tokens = _tokens(choice.get("logprobs"))
        finish_reason = finish_reason_of(choice, tokens, self.params.stop, where=where)
        text, stopped = cut_at_stop(text, self.params.stop)
        if stopped:
            finish_reason = "stop"
        if not tokens and (text or finish_reason == "length"):
            raise InferenceError(
                f"{where} returned no token logprobs for choice {choice.get('index')}; this backend needs them "
                "(vLLM, SGLang, llama.cpp, TGI and OpenAI all return them when asked)"
            )
        logprobs = [token.logprob for token in tokens or []]
        logprob_sum, logprob_mean = logprob_totals(logprobs, where=where) if tokens else (None, None)
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


def stream_openai(
    *, spec: ModelSpec, requests: Sequence[GenerationRequest], params: SamplingParams
) -> Generator[RequestResult, None, None]:
    """Each request's result as soon as its answer is in, spec.concurrency requests in flight."""
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
    return _stream(spec, params, prompts)


def _stream(
    spec: ModelSpec, params: SamplingParams, prompts: list[_Prompt]
) -> Generator[RequestResult, None, None]:
    with RemoteSession(spec, LABEL) as session:
        openai = _OpenAIRequests(session, spec, params)
        jobs = [partial(openai.completions, prompt) for prompt in prompts]
        with closing(stream_concurrently(jobs, workers=spec.concurrency)) as results:
            for index, outcome in results:
                yield request_result(index, outcome)
