"""The formats of the kinds beyond pairwise: raw for every kind, kto from correctness, setwise, ranking."""

import pytest
from datasets import Dataset, load_dataset, load_from_disk
from django.core.management import CommandError, call_command
from django.db.models import F
from trl.data_utils import is_conversational, maybe_extract_prompt, unpair_preference_dataset

from labelapp.errors import ApplicationError
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.kinds.base import BuildOptions
from labelapp.models import Campaign, Generator, Item, Label, Prompt
from labelapp.services.items import items_build
from tests.factories import candidates_add
from tests.labelapp.exporters.conftest import export, read_jsonl

QUESTIONS = ["Sum of 2 and 2?", "Capital of Peru?", "Colour of snow?", "Square root of 9?"]


def dataset_of(path) -> Dataset:
    return load_dataset("json", data_files=str(path), split="train")


def give(item: Item, labeller, value: dict) -> Label:
    """A stored label in canonical order, as label_submit stores it."""
    label = Label.objects.create(
        item=item,
        labeller=labeller,
        value=value,
        seconds_spent=9.0,
        idempotency_key=f"{item.pk}-{labeller.pk}",
    )
    Item.objects.filter(pk=item.pk).update(label_count=F("label_count") + 1)
    return label


def build(campaign, kind, generators, answers, *, chat=False, per_item=None) -> list[Item]:
    """One prompt per question, each generator answering it with `answers` texts; items in question order."""
    campaign.kind = kind
    campaign.save()
    for question in QUESTIONS:
        fields = {"messages": [{"role": "user", "content": question}]} if chat else {"text": question}
        prompt = Prompt.objects.create(campaign=campaign, **fields)
        for generator in generators:
            candidates_add(
                prompt, generator, [f"{generator.name} answer {n} to {question}" for n in range(answers)]
            )
    options = BuildOptions(generators=tuple(g.name for g in generators), per_item=per_item)
    items_build(campaign=campaign, kind=kind, options=options, seed=3)
    return list(Item.objects.filter(campaign=campaign).order_by("prompt_id", "id"))


def slot_texts(item: Item) -> list[str]:
    return [slot.candidate.text for slot in item.slots.order_by("index")]


def slot_ids(item: Item) -> list[int]:
    return [slot.candidate_id for slot in item.slots.order_by("index")]


def verdict(value: str, confidence: str | None = "certain") -> dict:
    return {"verdict": value, "confidence": confidence, "error_category": None, "critique": ""}


def order(indices: list[int], all_flawed: bool = False) -> dict:
    return {"order": indices, "top": indices[0], "all_flawed": all_flawed, "rationale": ""}


@pytest.fixture
def other_generator(db) -> Generator:
    return Generator.objects.create(name="other-model", model="embedded", default_params={"temperature": 0.7})


@pytest.fixture
def chat() -> bool:
    """Plain-text prompts; a test parametrizes `chat` to run on chat prompts too."""
    return False


BOTH_PROMPT_FORMS = pytest.mark.parametrize("chat", [False, True], ids=["text", "chat"])


@pytest.fixture
def correctness_items(chat, campaign, generator, raters):
    """Four answers: correct (2-0), incorrect (2-0), can't tell (2-0), split (1-1)."""
    items = build(campaign, "correctness", [generator], 1, chat=chat)
    for item, (first, second) in zip(
        items,
        [
            (verdict("correct"), verdict("correct", "probably")),
            (verdict("incorrect"), verdict("incorrect")),
            (verdict("cant_tell", None), verdict("cant_tell", None)),
            (verdict("correct"), verdict("incorrect")),
        ],
        strict=True,
    ):
        give(item, raters[0], first)
        give(item, raters[1], second)
    return chat, items


@BOTH_PROMPT_FORMS
def test_kto_from_correctness_makes_correct_answers_desirable_and_drops_cant_tell_and_splits(
    correctness_items, campaign, tmp_path
):
    chat, items = correctness_items
    export(campaign, "kto", tmp_path / "kto.jsonl", kto_from=["correctness"])
    dataset = dataset_of(tmp_path / "kto.jsonl")
    assert dataset["item_id"] == [items[0].pk, items[1].pk]
    assert dataset["label"] == [True, False]
    assert dataset["source"] == ["correctness", "correctness"]
    first = dataset[0]
    assert is_conversational(first) is chat
    assert maybe_extract_prompt(first) == first
    answer = slot_texts(items[0])[0]
    if chat:
        assert first["prompt"] == [{"role": "user", "content": QUESTIONS[0]}]
        assert first["completion"] == [{"role": "assistant", "content": answer}]
    else:
        assert (first["prompt"], first["completion"]) == (QUESTIONS[0], answer)
    assert (first["candidate_id"], first["generator"], first["label_count"]) == (
        slot_ids(items[0])[0],
        "fake-model",
        2,
    )


def test_kto_from_correctness_applies_the_aggregation_options(correctness_items, campaign, raters, tmp_path):
    _, items = correctness_items
    give(items[3], raters[2], verdict("correct"))  # 2 of 3 now say correct
    export(campaign, "kto", tmp_path / "all.jsonl", kto_from=["correctness"])
    assert [row["item_id"] for row in read_jsonl(tmp_path / "all.jsonl")] == [
        items[0].pk,
        items[1].pk,
        items[3].pk,
    ]
    export(campaign, "kto", tmp_path / "three.jsonl", kto_from=["correctness"], min_labels=3)
    assert [row["item_id"] for row in read_jsonl(tmp_path / "three.jsonl")] == [items[3].pk]
    export(campaign, "kto", tmp_path / "agreeing.jsonl", kto_from=["correctness"], min_agreement=0.9)
    assert [row["item_id"] for row in read_jsonl(tmp_path / "agreeing.jsonl")] == [items[0].pk, items[1].pk]
    items[0].is_gold = True
    items[0].save()
    export(campaign, "kto", tmp_path / "no_gold.jsonl", kto_from=["correctness"])
    assert items[0].pk not in {row["item_id"] for row in read_jsonl(tmp_path / "no_gold.jsonl")}


def test_a_kto_source_that_is_not_the_campaigns_kind_is_named(correctness_items, campaign, tmp_path):
    with pytest.raises(
        CommandError, match="--kto-from-pairwise reads pairwise labels.*use --kto-from-correctness"
    ):
        call_command(
            "export_dataset",
            campaign=campaign.name,
            format="kto",
            out=str(tmp_path / "k.jsonl"),
            kto_from=["pairwise"],
        )
    campaign.kind = "pairwise"
    campaign.save()
    with pytest.raises(ApplicationError, match="--kto-from-correctness reads correctness labels") as raised:
        export(campaign, "kto", tmp_path / "k.jsonl", kto_from=["correctness"])
    assert raised.value.extra["field"] == "kto_from"
    assert not (tmp_path / "k.jsonl").exists()


def test_a_format_that_does_not_read_the_campaigns_kind_says_which_do(correctness_items, campaign, tmp_path):
    with pytest.raises(ApplicationError, match="setwise format reads setwise campaigns.*kto, raw") as raised:
        export(campaign, "setwise", tmp_path / "s.jsonl")
    assert raised.value.extra["field"] == "format"


@pytest.fixture
def setwise_items(campaign, generator, raters):
    """Sets of three samples: the first rated 2 and 4 with A and C duplicates; the second rated 5 by both."""
    items = build(campaign, "setwise", [generator], 3, per_item=3)
    give(items[0], raters[0], {"diversity": 2, "duplicates": [[0, 2]], "best": 1, "worst": 0})
    give(items[0], raters[1], {"diversity": 4, "duplicates": [[0, 2]], "best": 1, "worst": None})
    give(items[1], raters[0], {"diversity": 5, "duplicates": [], "best": None, "worst": None})
    give(items[1], raters[1], {"diversity": 5, "duplicates": [[1, 2]], "best": 2, "worst": 0})
    return items


def test_setwise_rows_hold_the_set_its_mean_rating_duplicates_best_and_worst(
    setwise_items, campaign, tmp_path
):
    items = setwise_items
    export(campaign, "setwise", tmp_path / "sets.jsonl")
    rows = dataset_of(tmp_path / "sets.jsonl").to_list()
    assert [row["item_id"] for row in rows] == [items[0].pk, items[1].pk]  # sets without labels left out
    first, second = rows
    assert first["completions"] == slot_texts(items[0]) and first["candidate_ids"] == slot_ids(items[0])
    assert (first["prompt"], first["diversity"], first["diversity_median"]) == (QUESTIONS[0], 3.0, 2)
    assert (first["duplicate_groups"], first["best"], first["worst"]) == ([[0, 2]], 1, 0)
    assert (first["generator"], first["params"]["max_new_tokens"], first["label_count"]) == (
        "fake-model",
        None,
        2,
    )
    assert first["agreement"] == 0.5  # one rating of two within 1 of the median
    # A pair marked by one labeller of two is no majority; a tied best is none.
    assert (second["diversity"], second["duplicate_groups"], second["best"], second["worst"]) == (
        5.0,
        [],
        2,
        0,
    )
    export(campaign, "setwise", tmp_path / "agreeing.jsonl", min_agreement=0.75)
    assert [row["item_id"] for row in read_jsonl(tmp_path / "agreeing.jsonl")] == [items[1].pk]


@pytest.fixture
def ranking_items(chat, campaign, generator, other_generator, raters):
    """Items of three answers: the first ranked 2>0>1 by two of three; the second flagged all flawed."""
    items = build(campaign, "ranking", [generator, other_generator], 2, chat=chat, per_item=3)
    give(items[0], raters[0], order([2, 0, 1]))
    give(items[0], raters[1], order([2, 0, 1]))
    give(items[0], raters[2], order([0, 2, 1]))
    give(items[1], raters[0], order([1, 0, 2], all_flawed=True))
    give(items[1], raters[1], order([1, 2, 0], all_flawed=True))
    return chat, items


@BOTH_PROMPT_FORMS
def test_ranking_rows_order_completions_best_first_with_the_consensus_pairs(
    ranking_items, campaign, tmp_path
):
    chat, items = ranking_items
    export(campaign, "ranking", tmp_path / "ranked.jsonl")
    rows = dataset_of(tmp_path / "ranked.jsonl").to_list()
    assert [row["item_id"] for row in rows] == [items[0].pk, items[1].pk]
    first = rows[0]
    texts, ids = slot_texts(items[0]), slot_ids(items[0])
    assert first["completions"] == [texts[2], texts[0], texts[1]]
    assert first["candidate_ids"] == [ids[2], ids[0], ids[1]]
    # Positions in `completions`: 2 over 0 by 2-1, 2 over 1 by 3-0, 0 over 1 by 3-0.
    assert first["pairs"] == [
        {"chosen": 0, "rejected": 1, "margin": 1},
        {"chosen": 0, "rejected": 2, "margin": 3},
        {"chosen": 1, "rejected": 2, "margin": 3},
    ]
    assert (first["all_flawed"], first["label_count"], first["agreement"]) == (False, 3, round(8 / 9, 4))
    assert rows[1]["all_flawed"] is True
    # 1 beats 0 and 2 by 2-0 each; 0 and 2 split 1-1: no pair between them.
    assert rows[1]["completions"] == [slot_texts(items[1])[i] for i in (1, 0, 2)]
    assert rows[1]["pairs"] == [
        {"chosen": 0, "rejected": 1, "margin": 2},
        {"chosen": 0, "rejected": 2, "margin": 2},
    ]
    assert first["prompt"] == ([{"role": "user", "content": QUESTIONS[0]}] if chat else QUESTIONS[0])


@BOTH_PROMPT_FORMS
def test_expand_pairs_writes_dpo_rows_one_per_consensus_pair(ranking_items, campaign, tmp_path):
    chat, items = ranking_items
    call_command(
        "export_dataset",
        campaign=campaign.name,
        format="ranking",
        out=str(tmp_path / "pairs.jsonl"),
        expand_pairs=True,
    )
    dataset = dataset_of(tmp_path / "pairs.jsonl")
    texts, ids = slot_texts(items[0]), slot_ids(items[0])
    # The all-flawed item gives no pairs, as a both-bad pairwise item gives none.
    assert dataset["item_id"] == [items[0].pk] * 3
    assert dataset["chosen_candidate_id"] == [ids[2], ids[2], ids[0]]
    assert dataset["rejected_candidate_id"] == [ids[0], ids[1], ids[1]]
    assert len(set(dataset["id"])) == 3
    first = dataset[0]
    assert is_conversational(first) is chat
    assert maybe_extract_prompt(first) == first
    if chat:
        assert first["chosen"] == [{"role": "assistant", "content": texts[2]}]
    else:
        assert (first["prompt"], first["chosen"], first["rejected"]) == (QUESTIONS[0], texts[2], texts[0])
    unpaired = unpair_preference_dataset(dataset)
    assert len(unpaired) == 6 and unpaired["label"] == [True] * 3 + [False] * 3
    card = (tmp_path / "pairs.README.md").read_text()
    assert (
        "--format ranking" in card
        and "--expand-pairs" in card
        and "items the majority flagged all flawed" in card
    )
    # dpo on a ranking campaign is the same rows.
    export(campaign, "dpo", tmp_path / "dpo.jsonl")
    assert read_jsonl(tmp_path / "dpo.jsonl") == read_jsonl(tmp_path / "pairs.jsonl")
    export(campaign, "rm", tmp_path / "rm.jsonl")
    assert [row["margin"] for row in read_jsonl(tmp_path / "rm.jsonl")] == [0.0] * 3


def test_expand_pairs_on_another_format_is_named(ranking_items, campaign, tmp_path):
    with pytest.raises(CommandError, match="--expand-pairs: --expand-pairs applies to --format ranking only"):
        call_command(
            "export_dataset",
            campaign=campaign.name,
            format="dpo",
            out=str(tmp_path / "p.jsonl"),
            expand_pairs=True,
        )


@pytest.fixture
def set_vs_set_items(campaign, generator, other_generator, raters):
    items = build(campaign, "set-vs-set", [generator, other_generator], 2, per_item=2)
    give(items[0], raters[0], {"preferred": "x", "more_diverse": "y"})
    give(items[0], raters[1], {"preferred": "x", "more_diverse": "tie"})
    give(items[1], raters[0], {"preferred": "tie", "more_diverse": "tie"})
    return items


CASES = {
    "correctness": ("correctness_items", {"verdict": "correct", "confidence": "certain"}),
    "setwise": ("setwise_items", {"diversity": 2, "duplicates": [[0, 2]], "best": 1, "worst": 0}),
    "set-vs-set": ("set_vs_set_items", {"preferred": "x", "more_diverse": "y"}),
    "ranking": ("ranking_items", {"order": [2, 0, 1], "top": 2, "all_flawed": False}),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_raw_exports_every_label_of_every_kind_without_gold(request, kind, campaign, raters, tmp_path):
    fixture, expected = CASES[kind]
    request.getfixturevalue(fixture)
    items = list(Item.objects.filter(campaign=campaign, label_count__gt=0).order_by("id"))
    Item.objects.filter(pk=items[-1].pk).update(is_gold=True)
    labels = Label.objects.filter(item__in=items[:-1]).count()
    for out in ("raw.jsonl", "raw.parquet", "raw"):
        export(campaign, "raw", tmp_path / out)
    rows = dataset_of(tmp_path / "raw.jsonl").to_list()
    from_parquet = load_dataset("parquet", data_files=str(tmp_path / "raw.parquet"), split="train").to_list()
    from_folder = load_from_disk(str(tmp_path / "raw"))["train"].to_list()
    assert len(rows) == labels and from_parquet == from_folder and rows == from_parquet
    assert items[-1].pk not in {row["item_id"] for row in rows} and {row["kind"] for row in rows} == {kind}
    first = rows[0]
    assert first["value"].items() >= expected.items()
    assert (
        first["labeller"] == labeller_pseudonym(raters[0].pk)
        and "rater0" not in (tmp_path / "raw.jsonl").read_text()
    )
    assert first["candidate_ids"] == slot_ids(items[0]) and first["completions"] == slot_texts(items[0])
    assert first["seconds_spent"] == 9.0


@pytest.mark.parametrize("kind", ["setwise", "ranking"])
def test_setwise_and_ranking_write_the_same_rows_to_jsonl_parquet_and_a_folder(
    request, kind, campaign, tmp_path
):
    request.getfixturevalue(CASES[kind][0])
    for out in ("rows.jsonl", "rows.parquet", "rows"):
        export(campaign, kind, tmp_path / out)
    from_jsonl = dataset_of(tmp_path / "rows.jsonl").to_list()
    from_parquet = load_dataset("parquet", data_files=str(tmp_path / "rows.parquet"), split="train").to_list()
    from_folder = load_from_disk(str(tmp_path / "rows"))["train"].to_list()
    assert from_jsonl and from_jsonl == from_parquet == from_folder


@pytest.mark.parametrize("kind", ["setwise", "ranking"])
def test_a_campaign_judging_another_campaigns_mixed_prompts_writes_each_as_messages(
    kind, campaign, generator, raters, tmp_path
):
    """As the demo's set-wise and ranking campaigns judge the answers of its pairwise campaign, whose
    prompts are plain text but one."""
    plain = Prompt.objects.create(campaign=campaign, text=QUESTIONS[0])
    chat = Prompt.objects.create(campaign=campaign, messages=[{"role": "user", "content": QUESTIONS[1]}])
    for prompt in (plain, chat):
        candidates_add(prompt, generator, [f"answer {n} to prompt {prompt.pk}" for n in range(3)])
    judging = Campaign.objects.create(name="judging", kind=kind, labels_per_item=2)
    items_build(
        campaign=judging, kind=kind, options=BuildOptions(per_item=3), seed=3, source_campaign=campaign
    )
    value = (
        order([0, 1, 2])
        if kind == "ranking"
        else {"diversity": 3, "duplicates": [], "best": None, "worst": None}
    )
    for item in judging.items.all():
        give(item, raters[0], value)
    export(judging, kind, tmp_path / "rows.parquet")
    rows = load_dataset("parquet", data_files=str(tmp_path / "rows.parquet"), split="train").to_list()
    assert {row["prompt_id"]: row["prompt"] for row in rows} == {
        plain.pk: [{"role": "user", "content": QUESTIONS[0]}],
        chat.pk: [{"role": "user", "content": QUESTIONS[1]}],
    }
    assert (
        "- Prompts: 1 plain-text prompt(s) written as one user message each"
        in (tmp_path / "rows.README.md").read_text()
    )


def test_trls_dpo_trainer_trains_on_expanded_ranking_pairs(ranking_items, campaign, tmp_path, tiny_model_dir):
    import copy

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    out = tmp_path / "pairs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="ranking", out=str(out), expand_pairs=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    args = DPOConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        per_device_train_batch_size=2,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=args,
        train_dataset=dataset_of(out),
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_pairwise_criteria_are_a_column_relative_to_the_pair_as_written(
    campaign, generator, raters, tmp_path
):
    from tests.labelapp.exporters.conftest import prompts_with_pairs, vote

    campaign.criteria = ["helpfulness", "honesty"]
    campaign.save()
    items = prompts_with_pairs(campaign, generator, ["Q1?", "Q2?"])
    for item, choice, criteria in [
        (items[0], "a", [{"helpfulness": "a", "honesty": "tie"}, {"helpfulness": "a", "honesty": "b"}]),
        (items[1], "b", [{"helpfulness": "b", "honesty": "a"}, {"helpfulness": "b", "honesty": "a"}]),
    ]:
        for rater, given in zip(raters, criteria, strict=False):
            label = vote(item, rater, choice)
            label.value["criteria"] = given
            label.save()
    for out in ("dpo.jsonl", "dpo.parquet", "dpo"):
        export(campaign, "dpo", tmp_path / out)
    rows = read_jsonl(tmp_path / "dpo.jsonl")
    # B was chosen in the second item: its "a" answers are about the rejected answer.
    assert [row["criteria"] for row in rows] == [
        {"helpfulness": "chosen", "honesty": None},
        {"helpfulness": "chosen", "honesty": "rejected"},
    ]
    from_parquet = load_dataset("parquet", data_files=str(tmp_path / "dpo.parquet"), split="train")[
        "criteria"
    ]
    assert (
        from_parquet
        == load_from_disk(str(tmp_path / "dpo"))["train"]["criteria"]
        == [r["criteria"] for r in rows]
    )
    assert (
        "| `criteria` | {helpfulness: string, honesty: string} |" in (tmp_path / "dpo.README.md").read_text()
    )
