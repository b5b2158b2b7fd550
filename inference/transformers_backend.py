"""Loading transformers models once per process and running batched sampling on them.

torch and transformers are imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inference.errors import InferenceError
from inference.model_spec import ModelLocation
from inference.params import SamplingParams

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    eos_token_ids: frozenset[int]


@dataclass(frozen=True)
class SampledRow:
    """One generated row: every token after the prompt (padding included) and its log-probability."""

    token_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]


_load_lock = threading.RLock()
# torch's RNG is process-global, so seeding and sampling must not interleave between threads.
_generate_lock = threading.Lock()
_tokenizers: dict[ModelLocation, PreTrainedTokenizerBase] = {}
_models: dict[ModelLocation, LoadedModel] = {}


def _describe(location: ModelLocation) -> str:
    return f"{location.path} ({location.gguf_file})" if location.gguf_file else location.path


def _gguf_kwargs(location: ModelLocation) -> dict[str, str]:
    return {"gguf_file": location.gguf_file} if location.gguf_file else {}


def load_tokenizer(location: ModelLocation) -> PreTrainedTokenizerBase:
    """The process-wide tokenizer for `location`, set up for left-padded batches."""
    with _load_lock:
        if location not in _tokenizers:
            from transformers import AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(location.path, **_gguf_kwargs(location))
            except (OSError, ValueError) as exc:
                raise InferenceError(f"cannot load tokenizer for model {_describe(location)}: {exc}") from exc
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            _tokenizers[location] = tokenizer
        return _tokenizers[location]


def _eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    return frozenset(i for i in ids if i is not None)


def load_model(location: ModelLocation) -> LoadedModel:
    """The process-wide model for `location`: CUDA bfloat16 when available, else CPU float32, in eval mode."""
    with _load_lock:
        if location not in _models:
            import torch
            from transformers import AutoModelForCausalLM

            tokenizer = load_tokenizer(location)
            on_cuda = torch.cuda.is_available()
            try:
                model = AutoModelForCausalLM.from_pretrained(
                    location.path,
                    dtype=torch.bfloat16 if on_cuda else torch.float32,
                    **_gguf_kwargs(location),
                )
            except (OSError, ValueError) as exc:
                raise InferenceError(f"cannot load model {_describe(location)}: {exc}") from exc
            model.to("cuda" if on_cuda else "cpu")  # type: ignore[arg-type]  # transformers types `to` wrongly
            model.eval()
            _models[location] = LoadedModel(model, tokenizer, _eos_token_ids(model, tokenizer))
        return _models[location]


def count_prompt_tokens(
    tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str], *, add_special_tokens: bool
) -> list[int]:
    encoded = tokenizer(list(prompts), add_special_tokens=add_special_tokens)
    return [len(ids) for ids in encoded["input_ids"]]


def _sampling_kwargs(params: SamplingParams, rows_per_prompt: int) -> dict[str, object]:
    if params.is_greedy:
        return {"do_sample": False, "num_return_sequences": rows_per_prompt}
    return {
        "do_sample": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        # Explicit 0 disables top-k; leaving it unset would apply transformers' default of 50.
        "top_k": params.top_k or 0,
        "num_return_sequences": rows_per_prompt,
    }


def _sampled_token_logprobs(logits: Sequence[torch.Tensor], generated: torch.Tensor) -> torch.Tensor:
    """log_softmax of the raw logits at each step, taken at the sampled token: shape (rows, steps)."""
    import torch

    steps = min(len(logits), generated.shape[1])
    per_step = [
        torch.log_softmax(logits[step].float(), dim=-1).gather(1, generated[:, step : step + 1]).squeeze(1)
        for step in range(steps)
    ]
    return torch.stack(per_step, dim=1)


def sample_batch(
    loaded: LoadedModel,
    *,
    prompts: Sequence[str],
    add_special_tokens: bool,
    rows_per_prompt: int,
    params: SamplingParams,
    seed: int,
) -> list[SampledRow]:
    """Generate `rows_per_prompt` rows for each prompt (prompt-major order), after torch.manual_seed(seed).

    Greedy params need rows_per_prompt == 1: transformers rejects num_return_sequences > 1 without sampling.
    """
    if params.is_greedy and rows_per_prompt != 1:
        raise ValueError("greedy decoding generates one row per prompt")
    import torch
    from transformers import StoppingCriteriaList

    from inference.stop_criteria import GeneratedTextStopCriteria

    tokenizer, model = loaded.tokenizer, loaded.model
    encoded = tokenizer(
        list(prompts), return_tensors="pt", padding=True, add_special_tokens=add_special_tokens
    ).to(model.device)
    prompt_width = encoded["input_ids"].shape[1]
    stopping = StoppingCriteriaList()
    if params.stop:
        stopping.append(
            GeneratedTextStopCriteria(tokenizer=tokenizer, stop=params.stop, prompt_width=prompt_width)
        )
    with _generate_lock, torch.inference_mode():
        torch.manual_seed(seed)
        output = model.generate(  # type: ignore[operator]  # nn.Module's __getattr__ types it a Tensor
            **encoded,
            **_sampling_kwargs(params, rows_per_prompt),
            max_new_tokens=params.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            stopping_criteria=stopping,
            return_dict_in_generate=True,
            output_logits=True,
        )
        generated = output.sequences[:, prompt_width:]
        logprobs = _sampled_token_logprobs(output.logits, generated)
    steps = logprobs.shape[1]
    return [
        SampledRow(tuple(ids[:steps]), tuple(row_logprobs))
        for ids, row_logprobs in zip(generated.tolist(), logprobs.tolist(), strict=True)
    ]
