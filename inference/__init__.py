"""Batched text generation, locally with transformers or on a TGI / OpenAI-compatible server.

Kept free of Django, and of eager torch and HTTP-client imports."""

from inference.errors import InferenceError, InferenceUnavailable
from inference.generation import generate, generate_each, preload
from inference.model_spec import BACKENDS, EMBEDDED_MODEL, ModelSpec
from inference.params import Completion, GenerationRequest, RequestResult, SamplingParams
from inference.prompts import render_prompt

__all__ = [
    "BACKENDS",
    "EMBEDDED_MODEL",
    "Completion",
    "GenerationRequest",
    "InferenceError",
    "InferenceUnavailable",
    "ModelSpec",
    "RequestResult",
    "SamplingParams",
    "generate",
    "generate_each",
    "preload",
    "render_prompt",
]
