"""Batched text generation with transformers models, kept free of Django and of eager torch imports."""

from inference.errors import InferenceError
from inference.generation import generate, preload
from inference.model_spec import EMBEDDED_MODEL, ModelSpec
from inference.params import Completion, GenerationRequest, SamplingParams
from inference.prompts import render_prompt

__all__ = [
    "EMBEDDED_MODEL",
    "Completion",
    "GenerationRequest",
    "InferenceError",
    "ModelSpec",
    "SamplingParams",
    "generate",
    "preload",
    "render_prompt",
]
