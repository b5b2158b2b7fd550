"""A reward model: a local transformers sequence-classification folder that scores a prompt and an answer.

The folder must hold a `*ForSequenceClassification` model with one label (the reward). Where the tokenizer
has a chat template, the conversation with the answer as the assistant's turn is rendered through it;
otherwise the prompt and the answer go in as a text pair. It runs on CPU (the worker that runs the
generation job scores its own samples), loaded once per process. torch and transformers are imported
inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inference.errors import InferenceError
from inference.params import GenerationRequest

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CLASSIFIER_SUFFIX = "ForSequenceClassification"
MAX_TOKENS = 2048


@dataclass(frozen=True)
class RewardModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase


_load_lock = threading.Lock()
_models: dict[str, RewardModel] = {}


def reward_model_check(path: str) -> None:
    """Refuse, naming the problem, a folder that is not a one-label sequence-classification model; reads
    only its config.json, so it is cheap enough to check before a job is queued."""
    config_file = Path(path) / "config.json"
    if not Path(path).is_dir():
        raise InferenceError(f"no folder at {path}")
    if not config_file.is_file():
        raise InferenceError(f"{path} has no config.json: it is not a transformers model folder")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise InferenceError(f"cannot read {config_file}: {exc}") from exc
    architectures = config.get("architectures") or []
    if not any(name.endswith(CLASSIFIER_SUFFIX) for name in architectures):
        shown = ", ".join(architectures) or "none"
        raise InferenceError(
            f"{path} is not a sequence-classification model (architectures: {shown}); a reward model is "
            f"an AutoModelForSequenceClassification with num_labels=1"
        )
    labels = len(config.get("id2label") or {}) or config.get("num_labels", 2)
    if labels != 1:
        raise InferenceError(f"{path} has {labels} labels; a reward model has one (num_labels=1)")


def load_reward_model(path: str) -> RewardModel:
    """The process-wide reward model at `path`, on CPU in eval mode."""
    with _load_lock:
        if path not in _models:
            reward_model_check(path)
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(path)
                model = AutoModelForSequenceClassification.from_pretrained(path)
            except (OSError, ValueError) as exc:
                raise InferenceError(f"cannot load reward model {path}: {exc}") from exc
            model.eval()
            _models[path] = RewardModel(model, tokenizer)
        return _models[path]


def _messages(request: GenerationRequest) -> list[dict[str, str]]:
    if request.messages is not None:
        return [dict(message) for message in request.messages]
    return [{"role": "user", "content": request.prompt or ""}]


def _encoded(loaded: RewardModel, request: GenerationRequest, answer: str) -> dict:
    tokenizer = loaded.tokenizer
    if tokenizer.chat_template:
        conversation = [*_messages(request), {"role": "assistant", "content": answer}]
        text = tokenizer.apply_chat_template(conversation, tokenize=False)
        return tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    prompt = "\n".join(message["content"] for message in _messages(request))
    return tokenizer(prompt, answer, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")


def reward_scores(*, path: str, request: GenerationRequest, answers: Sequence[str]) -> list[float]:
    """The reward model's score of each answer to `request`, one forward pass per answer (no padding, so a
    tokenizer without a pad token scores as well as one with)."""
    import torch

    loaded = load_reward_model(path)
    scores = []
    with torch.inference_mode():
        for answer in answers:
            logits = loaded.model(**_encoded(loaded, request, answer)).logits
            scores.append(float(logits[0, 0]))
    return scores
