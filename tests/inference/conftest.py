import os

os.environ["HF_HUB_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "embedded_model: runs the real embedded SmolLM2-135M-Instruct model (slow)"
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama with the embedded model's tokenizer, saved to a local folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from inference import EMBEDDED_MODEL
    from inference.model_spec import resolve_model_location
    from inference.transformers_backend import load_tokenizer

    folder = tmp_path_factory.mktemp("tiny_llama")
    # The process-wide cached tokenizer, so the embedded-model test does not parse the GGUF file again.
    tokenizer = load_tokenizer(resolve_model_location(EMBEDDED_MODEL))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
