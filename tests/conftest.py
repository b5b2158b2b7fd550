import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

import inference  # noqa: E402
from labelapp.models import Campaign, Generator, Prompt  # noqa: E402
from labelapp.services.items import items_build  # noqa: E402
from labelapp.services.labellers import user_upsert  # noqa: E402
from tests.factories import candidates_add  # noqa: E402

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def empty_cache():
    """Throttle counters live in the cache: each test starts with none (user ids repeat across tests)."""
    cache.clear()


@pytest.fixture
def campaign(db) -> Campaign:
    return Campaign.objects.create(
        name="prefs", title="Preferences", labels_per_item=2, instructions="Be *fair*."
    )


@pytest.fixture
def generator(db) -> Generator:
    return Generator.objects.create(name="fake-model", model="embedded", default_params={"max_new_tokens": 8})


@pytest.fixture
def labeller(db) -> User:
    return user_upsert(username="labeller1", password=PASSWORD)


@pytest.fixture
def other_labeller(db) -> User:
    return user_upsert(username="labeller2", password=PASSWORD)


@pytest.fixture
def raters(db) -> list[User]:
    """Four labellers, rater0 to rater3, for tests that store their labels directly."""
    return [user_upsert(username=f"rater{n}", password=PASSWORD) for n in range(4)]


@pytest.fixture
def staff(db) -> User:
    return user_upsert(username="admin", password=PASSWORD, staff=True)


@pytest.fixture
def client_for():
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


class FakeGenerate:
    """Stands in for inference.generate and inference.generate_each: deterministic texts, with the real
    Completion shape; a request whose prompt text is in `refuse` is refused as a model server refuses it.
    Every sample's mean logprob is -0.5, or logprobs[sample index] when set."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.fail_on_call: int | None = None
        self.refuse: dict[str, str] = {}
        self.logprobs: tuple[float, ...] | None = None

    def each(self, *, spec, requests, params):
        completions = self(spec=spec, requests=requests, params=params)
        for index, request in enumerate(requests):
            refusal = self.refuse.get(request.prompt if request.prompt is not None else "")
            if refusal is not None:
                yield inference.RequestResult(request_index=index, refusal=refusal)
                continue
            yield inference.RequestResult(
                request_index=index, completions=tuple(c for c in completions if c.request_index == index)
            )

    def __call__(self, *, spec, requests, params, on_progress=None):
        self.calls.append({"spec": spec, "requests": list(requests), "params": params})
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise RuntimeError("GPU fell over")
        completions = []
        # A raw template puts the question another way, so the answers differ, as a real model's would.
        form = " (raw)" if spec.prompt_format == "raw" else ""
        for index, request in enumerate(requests):
            question = request.prompt if request.prompt is not None else request.messages[-1]["content"]
            for sample in range(params.n):
                completions.append(
                    inference.Completion(
                        request_index=index,
                        sample_index=sample,
                        text=f"Answer {sample}{form} to: {question}",
                        rendered_prompt=f"Q: {question}\nA:",
                        finish_reason="eos",
                        token_count=4,
                        logprob_sum=-2.0,
                        logprob_mean=-0.5 if self.logprobs is None else self.logprobs[sample],
                        seed=params.seed if params.seed is not None else 7,
                    )
                )
        return completions


@pytest.fixture
def fake_generate(monkeypatch) -> FakeGenerate:
    fake = FakeGenerate()
    monkeypatch.setattr(inference, "generate", fake)
    monkeypatch.setattr(inference, "generate_each", fake.each)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    return fake


@pytest.fixture
def pairwise_items(campaign, generator):
    """Three prompts, two candidates each, built into three pairwise items."""
    for number in range(3):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        candidates_add(prompt, generator, [f"first answer {number}", f"second answer {number}"])
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return list(campaign.items.order_by("id"))


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
