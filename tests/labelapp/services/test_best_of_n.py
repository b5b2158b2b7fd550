"""Best-of-N generation: n samples per prompt, all stored, one selected by logprob, a reward model or a judge,
with every sample's score and why the selected one won."""

import copy
import json

import pytest

import inference
from labelapp.errors import ApplicationError
from labelapp.kinds.base import BuildOptions
from labelapp.models import Candidate, Generator, Item, JobStatus, Label, Prompt
from labelapp.selectors.reports import leaderboard_report_for
from labelapp.services.best_of_n import judge_choice
from labelapp.services.generation import generation_job_run, generation_jobs_create
from labelapp.services.items import items_build
from tests.conftest import FakeGenerate
from tests.inference.recorded import OPENAI_CHAT_EXAMPLE
from tests.inference.servers import ReceivedRequest, ScriptedServer

REAL_GENERATE = inference.generate
# Sample i's mean token logprob: sample 2 is the model's most confident.
LOGPROBS = (-1.2, -0.8, -0.1, -0.6)


class ScoredSamples(FakeGenerate):
    """The fake model of conftest with a distinct mean logprob per sample; a remote judge is asked for real."""

    def __call__(self, *, spec, requests, params, on_progress=None):
        if spec.is_remote:
            return REAL_GENERATE(spec=spec, requests=requests, params=params)
        return super().__call__(spec=spec, requests=requests, params=params)


@pytest.fixture
def samples(monkeypatch) -> ScoredSamples:
    fake = ScoredSamples()
    fake.logprobs = LOGPROBS
    monkeypatch.setattr(inference, "generate", fake)
    monkeypatch.setattr(inference, "generate_each", fake.each)
    monkeypatch.setattr(inference, "preload", lambda spec: None)
    return fake


@pytest.fixture
def prompts(campaign):
    return [
        Prompt.objects.create(campaign=campaign, text="Name a colour."),
        Prompt.objects.create(campaign=campaign, messages=[{"role": "user", "content": "Name a fruit."}]),
    ]


def best_of_n_job(campaign, generator, select, n=4):
    (job,) = generation_jobs_create(
        campaign=campaign,
        generator=generator,
        params_list=[inference.SamplingParams(n=n, seed=1)],
        strategy="best-of-n",
        selection=select,
    )
    return job


def by_sample(prompt):
    return list(Candidate.objects.filter(prompt=prompt).order_by("sample_index"))


def test_logprob_keeps_all_n_and_selects_the_most_confident(campaign, generator, prompts, samples):
    job = generation_job_run(job_id=best_of_n_job(campaign, generator, "logprob").pk)

    assert job.status == JobStatus.SUCCEEDED and job.selection == "logprob"
    for prompt in prompts:
        answers = by_sample(prompt)
        assert len(answers) == 4
        assert [a.selection["selected"] for a in answers] == [False, False, True, False]
        assert [a.selection["score"] for a in answers] == list(LOGPROBS)
        best = answers[2].selection
        assert best["scores"] == list(LOGPROBS) and best["method"] == "logprob" and best["n"] == 4
        assert best["why"] == "mean token logprob -0.1, the highest of 4 samples"
        assert "why" not in answers[0].selection


def judge_server(answer: str) -> ScriptedServer:
    def respond(request: ReceivedRequest) -> tuple[int, object]:
        payload = copy.deepcopy(OPENAI_CHAT_EXAMPLE)
        payload["choices"][0]["message"]["content"] = answer
        return 200, payload

    return ScriptedServer(respond)


def judge_generator(server: ScriptedServer) -> Generator:
    return Generator.objects.create(
        name="judge", backend="openai-chat", model="m", base_url=f"{server.url}/v1"
    )


def test_a_judge_picks_the_best_of_the_numbered_answers(campaign, generator, prompts, samples):
    with judge_server("Best: 2") as server:
        job = best_of_n_job(campaign, generator, f"judge:{judge_generator(server).name}")
        job = generation_job_run(job_id=job.pk)

    assert job.status == JobStatus.SUCCEEDED
    for prompt in prompts:
        answers = by_sample(prompt)
        assert [a.selection["score"] for a in answers] == [0.0, 1.0, 0.0, 0.0]
        assert answers[1].selection["selected"] and answers[1].selection["method"] == "judge:judge"
        assert answers[1].selection["why"] == "judge judge chose response 2 of 4: 'Best: 2'"
    # The judge saw each prompt with its four answers numbered in sample order, and answered greedily.
    asked = [request.body for request in server.received]
    assert len(asked) == 2 and all(body["temperature"] == 0.0 for body in asked)
    fruit = next(body["messages"][0]["content"] for body in asked if "Name a fruit." in str(body))
    assert "[Response 1]\nAnswer 0 to: Name a fruit.\n" in fruit
    assert "[Response 4]\nAnswer 3 to: Name a fruit.\n" in fruit
    assert '"Best: K", where K is a number from 1 to 4' in fruit


def test_a_judge_answer_out_of_format_selects_nothing_and_says_so(campaign, generator, prompts, samples):
    with judge_server("Response 2 is the best.") as server:
        job = generation_job_run(
            job_id=best_of_n_job(campaign, generator, "judge:" + judge_generator(server).name).pk
        )

    assert job.status == JobStatus.SUCCEEDED
    answers = by_sample(prompts[0])
    assert len(answers) == 4 and not any(a.selection["selected"] for a in answers)
    assert answers[0].selection["why"] == (
        "judge judge answered 'Response 2 is the best.', not \"Best: K\" with K from 1 to 4: nothing selected"
    )


@pytest.mark.parametrize(
    ("raw", "chosen"),
    [("Best: 1", 0), (" Best: 4\n", 3), ("Best: 5", None), ("Best: 0", None), ("best: 2", None), ("2", None)],
)
def test_judge_choice_is_parsed_strictly(raw, chosen):
    assert judge_choice(raw, 4) == chosen


def tiny_reward_model(folder, *, chat_template: str | None = None):
    """A randomly initialised one-layer BERT with one label and a word-level tokenizer, built here: no
    download. Its weights are drawn wide (initializer_range) so that the answers' scores differ clearly."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        *["answer", "to", "name", "a", "colour", "fruit", "0", "1", "2", "3", ":", ".", "user", "assistant"],
    ]
    vocabulary = Tokenizer(models.WordLevel({word: i for i, word in enumerate(words)}, unk_token="[UNK]"))
    vocabulary.normalizer = normalizers.Lowercase()
    vocabulary.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocabulary.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=vocabulary,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    if chat_template:
        tokenizer.chat_template = chat_template
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
        initializer_range=0.5,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def scores_by_hand(folder, prompt: str, answers: list[str]) -> list[float]:
    """The reward model's scores as transformers computes them, the prompt and answer as a text pair."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        return [float(model(**tokenizer(prompt, a, return_tensors="pt")).logits[0, 0]) for a in answers]


def test_a_reward_model_selects_its_highest_scored_answer(campaign, generator, prompts, samples, tmp_path):
    folder = tiny_reward_model(tmp_path)
    texts = [f"Answer {i} to: Name a colour." for i in range(4)]
    expected = scores_by_hand(folder, "Name a colour.", texts)
    best = max(range(4), key=lambda i: expected[i])
    assert len({round(s, 3) for s in expected}) == 4
    # The model's own confidence would pick another sample, so the test tells the methods apart.
    samples.logprobs = tuple(-0.01 if i == (best + 1) % 4 else -2.0 for i in range(4))
    job = generation_job_run(job_id=best_of_n_job(campaign, generator, f"reward-model:{folder}").pk)

    assert job.status == JobStatus.SUCCEEDED
    answers = by_sample(prompts[0])
    assert [a.selection["score"] for a in answers] == pytest.approx(expected, abs=1e-4)
    assert [a.selection["selected"] for a in answers] == [i == best for i in range(4)]
    assert answers[best].selection["why"] == (
        f"reward model {folder} score {answers[best].selection['score']:.4g}, the highest of 4 samples"
    )
    assert sum(a.selection["selected"] for a in by_sample(prompts[1])) == 1


def test_a_reward_model_with_a_chat_template_scores_the_rendered_conversation(tmp_path):
    from inference.reward_model import reward_scores

    template = "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} . {% endfor %}"
    folder = tiny_reward_model(tmp_path, chat_template=template)
    request = inference.GenerationRequest(messages=({"role": "user", "content": "name a colour"},))
    scores = reward_scores(path=str(folder), request=request, answers=["answer 0", "answer 1"])

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        by_hand = [
            float(
                model(
                    **tokenizer(f"user : name a colour . assistant : answer {i} . ", return_tensors="pt")
                ).logits[0, 0]
            )
            for i in range(2)
        ]
    assert scores == pytest.approx(by_hand, abs=1e-4)


def causal_lm_folder(folder):
    (folder / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    )
    return folder


def two_label_classifier(folder):
    config = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "bad", "1": "good"}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("", "The best-of-n strategy needs option 'select': logprob, reward-model:PATH or judge:GENERATOR."),
        ("highest", "Option 'select': 'highest' is not a selection method; use logprob, reward-model:PATH"),
        ("reward-model:", "Option 'select': 'reward-model:' is not a selection method"),
        (
            "reward-model:/no/such/folder",
            "Option 'select': reward-model:/no/such/folder: no folder at /no/such/folder.",
        ),
        (
            "judge:nobody",
            "Option 'select': judge:nobody: Generator 'nobody' does not exist (known: fake-model).",
        ),
    ],
)
def test_a_bad_selection_is_refused_naming_the_option(campaign, generator, prompts, select, message):
    with pytest.raises(ApplicationError, match=message.replace("(", r"\(").replace(")", r"\)")) as refused:
        best_of_n_job(campaign, generator, select)
    assert refused.value.extra == {"field": "select"}
    assert not campaign.generation_jobs.exists()


def test_a_folder_that_is_no_reward_model_is_refused_naming_why(campaign, generator, prompts, tmp_path):
    (tmp_path / "lm").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "empty").mkdir()
    refusals = {}
    for name, folder in [
        ("lm", causal_lm_folder(tmp_path / "lm")),
        ("two", two_label_classifier(tmp_path / "two")),
        ("empty", tmp_path / "empty"),
    ]:
        with pytest.raises(ApplicationError) as refused:
            best_of_n_job(campaign, generator, f"reward-model:{folder}")
        refusals[name] = refused.value.message
    assert refusals["lm"] == (
        f"Option 'select': reward-model:{tmp_path / 'lm'}: {tmp_path / 'lm'} is not a sequence-classification "
        "model (architectures: LlamaForCausalLM); a reward model is an AutoModelForSequenceClassification "
        "with num_labels=1."
    )
    assert refusals["two"].endswith("has 2 labels; a reward model has one (num_labels=1).")
    assert refusals["empty"].endswith("has no config.json: it is not a transformers model folder.")


def test_an_external_judge_and_other_strategies_are_refused(campaign, generator, prompts):
    Generator.objects.create(name="imported", backend="external", model="from a file")
    with pytest.raises(ApplicationError, match="Option 'select': Generator 'imported' is external"):
        best_of_n_job(campaign, generator, "judge:imported")
    with pytest.raises(ApplicationError, match="Best-of-n needs n of at least 2 samples per prompt."):
        best_of_n_job(campaign, generator, "logprob", n=1)
    with pytest.raises(ApplicationError, match="Option 'select' applies to the best-of-n strategy only"):
        generation_jobs_create(
            campaign=campaign,
            generator=generator,
            params_list=[inference.SamplingParams(n=4)],
            strategy="sample",
            selection="logprob",
        )


def single_sample_job(campaign, generator):
    (job,) = generation_jobs_create(
        campaign=campaign, generator=generator, params_list=[inference.SamplingParams(n=1, seed=2)]
    )
    return generation_job_run(job_id=job.pk)


def test_a_campaign_pits_the_best_of_n_against_a_single_sample(campaign, generator, prompts, samples, raters):
    generation_job_run(job_id=best_of_n_job(campaign, generator, "logprob").pk)
    single_sample_job(campaign, generator)

    built = items_build(
        campaign=campaign, kind="pairwise", options=BuildOptions(pairing="best-of-n-vs-sample"), seed=1
    )

    # One item per prompt: the selected answer (sample 2) against the single sample; the three samples the
    # selection passed over are in no item.
    assert built.created == 2
    for prompt in prompts:
        (item,) = Item.objects.filter(prompt=prompt)
        best, single = (slot.candidate for slot in item.slots.order_by("index"))
        assert best.selection["selected"] and best.sample_index == 2
        assert single.selection is None and single.job.strategy == "sample"
        for rater in raters[:2]:
            Label.objects.create(
                item=item, labeller=rater, value={"choice": "a"}, idempotency_key=f"{item.pk}{rater.pk}"
            )
    report = leaderboard_report_for(campaign=campaign, bootstrap_samples=20, seed=1)
    names = [report.config_names[key] for key in report.by_config.keys]
    assert names == ["fake-model · temperature 0.7 · best-of-4 by logprob", "fake-model · temperature 0.7"]
    assert [(p.wins, p.losses) for p in report.by_config.players] == [(2, 0), (0, 2)]
    # One generator: its own board has nothing to compare, as for two temperatures of one model.
    assert report.generator_counts.same_player == 2


def test_best_of_n_after_plain_samples_with_the_same_params_samples_and_selects_its_own(
    campaign, generator, prompts, samples
):
    (plain,) = generation_jobs_create(
        campaign=campaign, generator=generator, params_list=[inference.SamplingParams(n=4, seed=1)]
    )
    generation_job_run(job_id=plain.pk)

    job = generation_job_run(job_id=best_of_n_job(campaign, generator, "logprob").pk)

    assert job.status == JobStatus.SUCCEEDED and job.candidates.count() == 8
    assert Candidate.objects.filter(selection__selected=True).count() == 2
    assert plain.candidates.filter(selection__isnull=False).count() == 0
