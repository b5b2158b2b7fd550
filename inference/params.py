"""Value objects exchanged with callers: sampling parameters, generation requests and completions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from inference.errors import InferenceError

MAX_SEED = 2**63 - 1


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InferenceError(f"{name} must be an integer, got {value!r}")
    return value


def _require_finite_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InferenceError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _require_stop_sequences(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InferenceError(f"stop must be a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise InferenceError(f"stop sequences must be non-empty strings, got {item!r}")
    return tuple(value)


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int | None = None
    max_new_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1

    def __post_init__(self) -> None:
        temperature = _require_finite_number("temperature", self.temperature)
        if temperature < 0:
            raise InferenceError(f"temperature must be >= 0 (0 means greedy), got {temperature}")
        top_p = _require_finite_number("top_p", self.top_p)
        if not 0 < top_p <= 1:
            raise InferenceError(f"top_p must be in (0, 1], got {top_p}")
        if self.top_k is not None and _require_int("top_k", self.top_k) < 1:
            raise InferenceError(f"top_k must be >= 1 or null, got {self.top_k}")
        if _require_int("max_new_tokens", self.max_new_tokens) < 1:
            raise InferenceError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.seed is not None and not 0 <= _require_int("seed", self.seed) <= MAX_SEED:
            raise InferenceError(f"seed must be between 0 and {MAX_SEED} or null, got {self.seed}")
        if _require_int("n", self.n) < 1:
            raise InferenceError(f"n must be >= 1, got {self.n}")
        object.__setattr__(self, "temperature", temperature)
        object.__setattr__(self, "top_p", top_p)
        object.__setattr__(self, "stop", _require_stop_sequences(self.stop))

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplingParams:
        if not isinstance(data, Mapping):
            raise InferenceError(f"sampling parameters must be a mapping, got {data!r}")
        allowed = [field.name for field in fields(cls)]
        unknown = [key for key in data if key not in allowed]
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            raise InferenceError(f"unknown sampling parameter {names}; allowed: {', '.join(allowed)}")
        return cls(**data)


def _require_message(message: object) -> dict[str, str]:
    if not isinstance(message, Mapping):
        raise InferenceError(
            f"each chat message must be a mapping with 'role' and 'content', got {message!r}"
        )
    role, content = message.get("role"), message.get("content")
    if not isinstance(role, str) or not isinstance(content, str):
        raise InferenceError(f"chat messages need string 'role' and 'content', got {dict(message)!r}")
    return dict(message)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str | None = None
    messages: tuple[dict, ...] | None = None

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise InferenceError("a GenerationRequest needs exactly one of prompt or messages")
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise InferenceError(f"prompt must be a string, got {self.prompt!r}")
        if self.messages is not None:
            if isinstance(self.messages, str | Mapping) or not isinstance(self.messages, list | tuple):
                raise InferenceError(f"messages must be a list of chat messages, got {self.messages!r}")
            if not self.messages:
                raise InferenceError("messages must not be empty")
            object.__setattr__(self, "messages", tuple(_require_message(m) for m in self.messages))


@dataclass(frozen=True)
class Completion:
    """One sample. logprob_sum and logprob_mean are None only for an empty sample whose server returned no
    logprobs (llama.cpp, for a sample that stopped at its first token); its token_count is then 0."""

    request_index: int
    sample_index: int
    text: str
    rendered_prompt: str
    finish_reason: str
    token_count: int
    logprob_sum: float | None
    logprob_mean: float | None
    seed: int


@dataclass(frozen=True)
class RequestResult:
    """One request's n completions, or, when the server refused that request (a 4xx answer: a prompt too long
    for its context, say), the server's message and no completions."""

    request_index: int
    completions: tuple[Completion, ...] = ()
    refusal: str | None = None
