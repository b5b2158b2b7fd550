"""`export_dataset`: the rows un-shuffle what labellers saw, and TRL and `datasets` read the files as they are."""

import json

import pytest
from datasets import load_dataset
from django.core.management import call_command
from trl.data_utils import is_conversational, maybe_extract_prompt

from labelapp.models import Export, Item, Prompt
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add, item_shown_indices


def label_all(campaign, labeller, choices):
    """Label items in lease order; `choices` are what the labeller pressed (shown positions)."""
    pressed = {}
    for choice in choices:
        item = lease_next(labeller=labeller, campaign=campaign)
        label_submit(
            item_id=item.pk,
            labeller=labeller,
            value={"choice": choice},
            idempotency_key=f"k{item.pk}",
            campaign=None,
            lease_next=False,
        )
        pressed[item.pk] = choice
    return pressed


def shown_text(item, labeller, position_letter):
    index = item_shown_indices(item=item, labeller=labeller)["ab".index(position_letter)]
    return item.slots.get(index=index).candidate.text


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_dpo_rows_unshuffle_the_shown_order(campaign, pairwise_items, labeller, tmp_path):
    pressed = label_all(campaign, labeller, ["a", "b", "a"])
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))
    rows = {row["id"]: row for row in read_jsonl(out)}
    assert len(rows) == 3
    for item in pairwise_items:
        row = rows[f"prefs-{item.pk}"]
        winner = pressed[item.pk]
        assert row["chosen"] == shown_text(item, labeller, winner)
        assert row["rejected"] == shown_text(item, labeller, "b" if winner == "a" else "a")
        assert row["prompt"] == item.prompt.text
        assert (row["chosen_generator"], row["agreement"], row["label_count"]) == ("fake-model", 1.0, 1)
    export = Export.objects.get()
    assert (export.rows, export.format, export.path, export.status) == (
        3,
        "dpo",
        str(out.resolve()),
        "succeeded",
    )
    assert export.files == [str(out.resolve()), str(out.with_name("prefs.README.md").resolve())]


def test_ties_both_bad_and_split_votes_are_not_pairs(
    campaign, pairwise_items, labeller, other_labeller, tmp_path
):
    label_all(campaign, labeller, ["tie", "both_bad", "a"])
    label_all(campaign, other_labeller, ["tie", "both_bad"])
    # The third item now has one "a" vote from labeller; a "b" from other_labeller splits it evenly.
    third = lease_next(labeller=other_labeller, campaign=campaign)
    shown_a_is_canonical_a = item_shown_indices(item=third, labeller=other_labeller)[0] == 0
    first_vote = third.labels.get().value["choice"]
    opposite_shown = "b" if (first_vote == "a") == shown_a_is_canonical_a else "a"
    label_submit(
        item_id=third.pk,
        labeller=other_labeller,
        value={"choice": opposite_shown},
        idempotency_key="x",
        campaign=None,
        lease_next=False,
    )
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))
    assert read_jsonl(out) == []


def test_min_labels_drops_items_with_fewer_labels(campaign, pairwise_items, labeller, tmp_path):
    label_all(campaign, labeller, ["a", "a", "a"])
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out), min_labels=2)
    assert read_jsonl(out) == []


def test_chat_prompts_export_in_trl_conversational_form(campaign, generator, labeller, tmp_path):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    prompt = Prompt.objects.create(campaign=campaign, messages=messages)
    candidates_add(prompt, generator, ["Paris.", "Lyon."])
    items_build(campaign=campaign, kind="pairwise", seed=2)
    item = lease_next(labeller=labeller, campaign=campaign)
    preferred_position = "a" if shown_text(item, labeller, "a") == "Paris." else "b"
    label_submit(
        item_id=item.pk,
        labeller=labeller,
        value={"choice": preferred_position},
        idempotency_key="k",
        campaign=None,
        lease_next=False,
    )
    out = tmp_path / "chat.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))

    row = load_dataset("json", data_files=str(out), split="train")[0]
    assert row["prompt"] == messages
    assert row["chosen"] == [{"role": "assistant", "content": "Paris."}]
    assert row["rejected"] == [{"role": "assistant", "content": "Lyon."}]
    assert is_conversational(row)
    assert maybe_extract_prompt(row)["prompt"] == messages


def test_text_rows_load_with_datasets_and_pass_trls_checks(campaign, pairwise_items, labeller, tmp_path):
    label_all(campaign, labeller, ["a", "b", "a"])
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))
    dataset = load_dataset("json", data_files=str(out), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(dataset.column_names) and len(dataset) == 3
    for row in dataset:
        assert not is_conversational(row)
        assert maybe_extract_prompt(row)["prompt"] == row["prompt"]


@pytest.fixture(scope="module")
def tiny_policy(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize("conversational", [False, True])
def test_trls_dpo_trainer_trains_on_the_export_as_it_is(
    campaign, generator, labeller, tmp_path, tiny_policy, conversational
):
    import copy

    from trl import DPOConfig, DPOTrainer

    for number in range(2):
        question = f"What is {number} plus {number}?"
        prompt = Prompt.objects.create(
            campaign=campaign,
            **(
                {"messages": [{"role": "user", "content": question}]}
                if conversational
                else {"text": question}
            ),
        )
        candidates_add(prompt, generator, [f"It is {2 * number}.", "No idea."])
    items_build(campaign=campaign, kind="pairwise", seed=4)
    label_all(campaign, labeller, ["a", "b"])
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))

    model, tokenizer = tiny_policy
    dataset = load_dataset("json", data_files=str(out), split="train")
    assert is_conversational(dataset[0]) == conversational
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
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_gold_items_never_reach_the_export(campaign, pairwise_items, labeller, tmp_path):
    label_all(campaign, labeller, ["a", "a", "a"])
    Item.objects.filter(pk=pairwise_items[0].pk).update(is_gold=True, gold_value={"choice": "a"})
    out = tmp_path / "prefs.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="dpo", out=str(out))
    assert sorted(row["id"] for row in read_jsonl(out)) == [f"prefs-{i.pk}" for i in pairwise_items[1:]]


@pytest.mark.parametrize("conversational", [False, True])
def test_trls_reward_trainer_trains_on_the_rm_export_as_it_is(
    campaign, generator, labeller, tmp_path, tiny_model_dir, conversational
):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    for number in range(2):
        question = f"What is {number} times {number}?"
        prompt = Prompt.objects.create(
            campaign=campaign,
            **(
                {"messages": [{"role": "user", "content": question}]}
                if conversational
                else {"text": question}
            ),
        )
        candidates_add(prompt, generator, [f"It is {number * number}.", "Seven, probably."])
    items_build(campaign=campaign, kind="pairwise", seed=4)
    for item, pressed in zip(campaign.items.order_by("id"), ["a", "b"], strict=True):
        leased = lease_next(labeller=labeller, campaign=campaign)
        label_submit(
            item_id=leased.pk,
            labeller=labeller,
            value={"choice": pressed, "strength": "strong"},
            idempotency_key=f"k{item.pk}",
            campaign=None,
            lease_next=False,
        )
    out = tmp_path / "rm.jsonl"
    call_command("export_dataset", campaign=campaign.name, format="rm", out=str(out))

    dataset = load_dataset("json", data_files=str(out), split="train")
    assert is_conversational(dataset[0]) == conversational and dataset["margin"] == [1.0, 1.0]
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    args = RewardConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        per_device_train_batch_size=2,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    )
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0
