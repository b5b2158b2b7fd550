"""What the remote backends share: HTTP with short retries, seeds, text prompts, concurrency, logprob checks.

HTTP goes through httpx2, the client huggingface_hub itself depends on, imported only when a remote backend
runs. huggingface_hub's InferenceClient is not used for the requests: it sends everything through the hub's
shared session, which refuses every URL (local servers included) when HF_HUB_OFFLINE=1, and it adds the
machine's Hugging Face token to requests for any base_url.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from typing import TYPE_CHECKING, Any, TypeVar

from inference.errors import InferenceError, InferenceUnavailable
from inference.model_spec import ModelSpec, resolve_model_location
from inference.params import MAX_SEED, Completion, GenerationRequest, RequestResult, SamplingParams
from inference.prompts import chat_messages, render_chat_prompt, render_raw_prompt
from inference.stopping import find_stop

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Sleeps between the tries of one HTTP request: len + 1 tries in all. Tests set these to zero.
RETRY_DELAYS_S: tuple[float, ...] = (0.5, 2.0)
SEED_BITS = 31
SERVER_MESSAGE_LIMIT = 500
T = TypeVar("T")


class ServerRejected(InferenceError):
    """A 4xx answer other than 429: the request itself is wrong, so retrying would not help."""

    def __init__(self, message: str, *, status: int, server_message: str, error_type: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message
        self.error_type = error_type


def _server_error(response: Any) -> tuple[str, str | None]:
    """The message and error type in an error answer: TGI's {"error", "error_type"}, OpenAI's
    {"error": {"message", "type"}}, vLLM's older {"message", "type"}, FastAPI's {"detail"}, or the text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, str):
            return error, data.get("error_type")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"], error.get("type")
        if isinstance(data.get("message"), str):
            return data["message"], data.get("type")
        if data.get("detail") is not None:
            return str(data["detail"]), None
    text = response.text.strip()
    return (text[:SERVER_MESSAGE_LIMIT] or response.reason_phrase or "no message"), None


def _describe_transport_error(exc: Exception) -> str:
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip())  # "[Errno 111] Connection refused"
    return text or type(exc).__name__


class RemoteSession:
    """One generate() call's HTTP client: pooled connections, at most spec.concurrency requests in flight."""

    def __init__(self, spec: ModelSpec, label: str) -> None:
        import httpx2

        self._httpx = httpx2
        self.label = label
        self.timeout_s = spec.timeout_s
        headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}
        self._client = httpx2.Client(
            headers=headers,
            timeout=httpx2.Timeout(spec.timeout_s),
            limits=httpx2.Limits(
                max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
            ),
        )
        self._slots = threading.BoundedSemaphore(spec.concurrency)

    def __enter__(self) -> RemoteSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def post_json(self, url: str, body: dict[str, Any]) -> Any:
        """The decoded JSON answer to POST url.

        Connection failures, 429 and 5xx answers are tried again (RETRY_DELAYS_S), then raise
        InferenceUnavailable; a request that times out raises it at once (a generation that outlived the
        timeout would likely do so again). Other 4xx answers raise ServerRejected with the server's message.
        """
        httpx2 = self._httpx
        failure, cause = "", None
        for attempt in range(len(RETRY_DELAYS_S) + 1):
            if attempt:
                time.sleep(RETRY_DELAYS_S[attempt - 1])
            try:
                with self._slots:
                    response = self._client.post(url, json=body)
            except (httpx2.ReadTimeout, httpx2.WriteTimeout, httpx2.PoolTimeout) as exc:
                raise InferenceUnavailable(
                    f"{self.label} server {url} timed out after {self.timeout_s:g} s"
                ) from exc
            except httpx2.TransportError as exc:  # refused, reset, connect timeout, closed mid-answer
                failure, cause = (
                    f"{self.label} server {url} unreachable: {_describe_transport_error(exc)}",
                    exc,
                )
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                message, _ = _server_error(response)
                failure, cause = f"{self.label} server {url} unavailable: HTTP {status}: {message}", None
                continue
            if status >= 400:
                message, error_type = _server_error(response)
                raise ServerRejected(
                    f"{self.label} server {url} rejected the request: HTTP {status}: {message}",
                    status=status,
                    server_message=message,
                    error_type=error_type,
                )
            try:
                return response.json()
            except ValueError as exc:
                raise InferenceError(
                    f"{self.label} server {url} answered HTTP {status} with invalid JSON: "
                    f"{response.text[:SERVER_MESSAGE_LIMIT]!r}"
                ) from exc
        raise InferenceUnavailable(failure) from cause


def stream_concurrently(
    jobs: Sequence[Callable[[], T]], *, workers: int
) -> Generator[tuple[int, T | ServerRejected], None, None]:
    """Run jobs on up to `workers` threads and yield (job index, result) as each one finishes.

    A job the server refused yields its ServerRejected in place of a result, and the other jobs go on; any
    other failure is raised. A raised failure, or closing the iterator early, cancels the jobs not yet started.
    """
    if not jobs:
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="inference-http")
    futures = {pool.submit(job): index for index, job in enumerate(jobs)}
    try:
        for future in as_completed(futures):
            try:
                result: T | ServerRejected = future.result()
            except ServerRejected as exc:
                result = exc
            yield futures[future], result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_concurrently(jobs: Sequence[Callable[[], T]], *, workers: int) -> list[T]:
    """Run jobs on up to `workers` threads; results in completion order. The first failure, a refusal
    included, cancels the jobs not yet started and is raised."""
    results: list[T] = []
    with closing(stream_concurrently(jobs, workers=workers)) as stream:
        for _, result in stream:
            if isinstance(result, ServerRejected):
                raise result
            results.append(result)
    return results


def request_result(index: int, outcome: Sequence[Completion] | ServerRejected) -> RequestResult:
    if isinstance(outcome, ServerRejected):
        return RequestResult(request_index=index, refusal=str(outcome))
    return RequestResult(request_index=index, completions=tuple(outcome))


def request_seeds(params: SamplingParams, count: int) -> list[int]:
    """A base seed per request: params.seed + index * n (so no two samples share a seed), else random."""
    if params.seed is None:
        return [secrets.randbits(SEED_BITS) for _ in range(count)]
    return [offset_seed(params.seed, index * params.n) for index in range(count)]


def offset_seed(seed: int, offset: int) -> int:
    return (seed + offset) % (MAX_SEED + 1)


def _chat_tokenizer(spec: ModelSpec) -> PreTrainedTokenizerBase:
    from inference.transformers_backend import load_tokenizer

    try:
        return load_tokenizer(resolve_model_location(spec))
    except InferenceError as exc:
        raise InferenceError(
            f"backend {spec.backend!r} sends the server a text prompt, so chat messages are rendered here with "
            f"the chat template of model {spec.model!r}, but its tokenizer cannot be loaded ({exc}); set model "
            "to a local model folder (or a hub id in the offline cache), or use prompt_format='raw'"
        ) from exc


def _without_leading_bos(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """Drop a chat template's leading BOS text when the server's tokenizer will add the BOS token itself.

    TGI's /generate and vLLM's /completions tokenize prompts with special tokens added, so a template that
    spells out BOS would otherwise give the model two.
    """
    bos = tokenizer.bos_token
    if not bos or not prompt.startswith(bos) or tokenizer.bos_token_id is None:
        return prompt
    ids = tokenizer("x", add_special_tokens=True)["input_ids"]
    return prompt[len(bos) :] if ids and ids[0] == tokenizer.bos_token_id else prompt


def render_text_prompt(spec: ModelSpec, request: GenerationRequest) -> str:
    """The prompt text sent to a server that takes text (TGI, OpenAI /completions)."""
    if spec.prompt_format == "raw":
        return render_raw_prompt(spec.raw_template, request)
    tokenizer = _chat_tokenizer(spec)
    return _without_leading_bos(tokenizer, render_chat_prompt(tokenizer, chat_messages(request)))


def preload_remote(spec: ModelSpec) -> None:
    """Load the tokenizer a remote backend renders chat prompts with, if it needs one; sends no request."""
    if spec.backend in ("tgi", "openai-completions") and spec.prompt_format == "chat":
        _chat_tokenizer(spec)


def logprob_totals(logprobs: Sequence[object], *, where: str) -> tuple[float, float]:
    """(sum, mean) of sampled-token logprobs, which must all be finite numbers; (0, 0) for no tokens."""
    total = 0.0
    for logprob in logprobs:
        if isinstance(logprob, bool) or not isinstance(logprob, int | float) or not math.isfinite(logprob):
            raise InferenceError(f"{where}: token logprob {logprob!r} is not a finite number")
        total += float(logprob)
    return total, (total / len(logprobs) if logprobs else 0.0)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """The text before the earliest stop sequence, and whether one was found."""
    cut = find_stop(text, stop) if stop else None
    return (text, False) if cut is None else (text[:cut], True)
