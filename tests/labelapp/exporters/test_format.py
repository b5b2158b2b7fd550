"""Every format, read back with `datasets` and checked with TRL's own data utilities."""

import pytest
from datasets import Dataset, load_dataset
from trl.data_utils import is_conversational, maybe_extract_prompt, unpair_preference_dataset

from labelapp.exporters import FORMATS
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.exporters.rm import MARGINS
from tests.labelapp.exporters.conftest import export, prompts_with_pairs, read_jsonl, texts, vote

QUESTIONS = [
    "Sum of 2 and 2?",
    "Capital of Peru?",
    "Colour of snow?",
    "Square root of 9?",
    "Boiling point of water?",
]


@pytest.fixture(params=[False, True], ids=["text", "chat"])
def labelled(request, campaign, generator, raters):
    """Five items: majority a (strong), majority b (slight), tie, both bad, and an even split."""
    items = prompts_with_pairs(campaign, generator, QUESTIONS, chat=request.param)
    first, second = raters[0], raters[1]
    vote(items[0], first, "a", "strong")
    vote(items[0], second, "a", "clear")
    vote(items[1], first, "b", "slight")
    vote(items[1], second, "b", "slight")
    vote(items[2], first, "tie")
    vote(items[2], second, "tie")
    vote(items[3], first, "both_bad")
    vote(items[3], second, "both_bad")
    vote(items[4], first, "a")
    vote(items[4], second, "b")
    return request.param, items


def dataset_of(path) -> Dataset:
    return load_dataset("json", data_files=str(path), split="train")


def test_dpo_rows_are_trl_explicit_prompt_preferences(labelled, campaign, tmp_path):
    chat, items = labelled
    export(campaign, "dpo", tmp_path / "dpo.jsonl")
    dataset = dataset_of(tmp_path / "dpo.jsonl")
    assert dataset["id"] == [f"prefs-{items[0].pk}", f"prefs-{items[1].pk}"]
    first, second = dataset[0], dataset[1]
    a, b = texts(items[0])
    assert is_conversational(first) is chat
    assert maybe_extract_prompt(first) == first  # the prompt is explicit already
    if chat:
        assert first["prompt"] == [{"role": "user", "content": QUESTIONS[0]}]
        assert first["chosen"] == [{"role": "assistant", "content": a}]
    else:
        assert (first["prompt"], first["chosen"], first["rejected"]) == (QUESTIONS[0], a, b)
    assert (first["strength"], first["agreement"], first["label_count"], first["tie"]) == (
        "strong",
        1.0,
        2,
        False,
    )
    assert second["chosen_candidate_id"] == items[1].slots.get(index=1).candidate_id  # b won the second
    assert first["chosen_generator"] == "fake-model" and first["chosen_params"]["temperature"] is None


def test_rm_rows_hold_whole_exchanges_and_a_margin_from_the_strength(labelled, campaign, tmp_path):
    chat, items = labelled
    export(campaign, "rm", tmp_path / "rm.jsonl")
    dataset = dataset_of(tmp_path / "rm.jsonl")
    assert "prompt" not in dataset.column_names
    assert [row["margin"] for row in dataset] == [MARGINS["strong"], MARGINS["slight"]]
    row = dataset[0]
    a, b = texts(items[0])
    assert is_conversational(row) is chat
    extracted = maybe_extract_prompt(row)  # TRL finds the shared prompt inside chosen and rejected
    if chat:
        assert extracted["prompt"] == [{"role": "user", "content": QUESTIONS[0]}]
        assert extracted["chosen"] == [{"role": "assistant", "content": a}]
    else:
        assert row["chosen"] == f"{QUESTIONS[0]}\n\n{a}" and row["rejected"] == f"{QUESTIONS[0]}\n\n{b}"
        assert extracted["prompt"].startswith(f"{QUESTIONS[0]}\n\n")
    unpaired = unpair_preference_dataset(dataset)
    assert sorted(unpaired["label"]) == [False, False, True, True]


def test_kto_from_pairwise_matches_trls_unpairing_of_the_dpo_rows_plus_both_bad(labelled, campaign, tmp_path):
    chat, items = labelled
    export(campaign, "dpo", tmp_path / "dpo.jsonl")
    export(campaign, "kto", tmp_path / "kto.jsonl", kto_from=["pairwise"])
    kto = dataset_of(tmp_path / "kto.jsonl")
    assert is_conversational(kto[0]) is chat
    assert set(kto.column_names) >= {"prompt", "completion", "label"}

    def triples(dataset):
        return sorted((str(r["prompt"]), str(r["completion"]), r["label"]) for r in dataset)

    unpaired = unpair_preference_dataset(dataset_of(tmp_path / "dpo.jsonl"))
    both_bad = [r for r in kto if r["item_id"] == items[3].pk]
    assert [r["label"] for r in both_bad] == [False, False]
    assert triples(r for r in kto if r["item_id"] != items[3].pk) == triples(unpaired)
    assert len({r["id"] for r in kto}) == len(kto) == 6


def test_kto_needs_a_label_source(campaign, tmp_path):
    from labelapp.errors import ApplicationError

    with pytest.raises(ApplicationError, match="--kto-from-pairwise") as raised:
        export(campaign, "kto", tmp_path / "kto.jsonl")
    assert raised.value.extra == {"field": "kto_from"}
    assert not (tmp_path / "kto.jsonl").exists()


def test_hh_rlhf_rows_are_human_assistant_transcripts(labelled, campaign, tmp_path):
    chat, items = labelled
    export(campaign, "hh-rlhf", tmp_path / "hh.jsonl")
    dataset = dataset_of(tmp_path / "hh.jsonl")
    a, b = texts(items[0])
    row = dataset[0]
    assert row["chosen"] == f"\n\nHuman: {QUESTIONS[0]}\n\nAssistant: {a}"
    assert row["rejected"] == f"\n\nHuman: {QUESTIONS[0]}\n\nAssistant: {b}"
    assert not is_conversational(row)
    # TRL finds the prompt the way HH-RLHF's users do: the transcript up to the last "Assistant:".
    assert maybe_extract_prompt(row)["prompt"] == f"\n\nHuman: {QUESTIONS[0]}\n\nAssistant:"


def test_hh_rlhf_puts_a_system_message_at_the_head_of_the_next_human_turn(
    campaign, generator, raters, tmp_path
):
    from labelapp.models import Prompt
    from labelapp.services.items import items_build
    from tests.factories import candidates_add

    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Capital of Chile?"},
    ]
    candidates_add(
        Prompt.objects.create(campaign=campaign, messages=messages), generator, ["Santiago.", "Lima."]
    )
    items_build(campaign=campaign, kind="pairwise", seed=1)
    item = campaign.items.get()
    vote(item, raters[0], "a" if texts(item)[0] == "Santiago." else "b")
    export(campaign, "hh-rlhf", tmp_path / "hh.jsonl")
    assert read_jsonl(tmp_path / "hh.jsonl")[0]["chosen"] == (
        "\n\nHuman: Be brief.\n\nHi.\n\nAssistant: Hello.\n\nHuman: Capital of Chile?\n\nAssistant: Santiago."
    )


@pytest.fixture
def mixed(campaign, generator, raters):
    """A campaign holding a plain-text prompt and a chat prompt (imported datasets often do), A winning
    each one's pair."""
    prompts_with_pairs(campaign, generator, ["Plain?"])
    items = prompts_with_pairs(campaign, generator, ["Chat?"], chat=True)
    for item in items:
        vote(item, raters[0], "a", "clear")
        vote(item, raters[1], "a")
    return items


@pytest.mark.parametrize("output", ["rows.jsonl", "rows.parquet"])
@pytest.mark.parametrize("name", ["dpo", "rm", "kto"])
def test_a_campaign_mixing_plain_and_chat_prompts_exports_every_row_in_the_conversational_form(
    mixed, campaign, tmp_path, name, output
):
    out = tmp_path / output
    export(campaign, name, out, **({"kto_from": ["pairwise"]} if name == "kto" else {}))
    reader = {"rows.jsonl": "json", "rows.parquet": "parquet"}[output]
    dataset = load_dataset(reader, data_files=str(out), split="train")
    assert len(dataset) == (4 if name == "kto" else 2)
    assert all(is_conversational(row) for row in dataset)
    plain, chat = (item.prompt_id for item in mixed)
    winners = {item.prompt_id: texts(item)[0] for item in mixed}
    for row in dataset:
        extracted = maybe_extract_prompt(row)  # rm: TRL finds the prompt shared by chosen and rejected
        question = "Plain?" if row["prompt_id"] == plain else "Chat?"
        assert extracted["prompt"] == [{"role": "user", "content": question}]
        answer = extracted["completion"] if name == "kto" else extracted["chosen"]
        assert answer[0]["role"] == "assistant" and len(answer) == 1
        if name != "kto":
            assert answer[0]["content"] == winners[row["prompt_id"]]
    assert {row["prompt_id"] for row in dataset} == {plain, chat}
    card = (tmp_path / "rows.README.md").read_text()
    assert (
        "- Prompts: 1 plain-text prompt(s) written as one user message each, because the campaign mixes "
        "plain-text and chat prompts." in card
    )
    column = "chosen" if name == "rm" else "prompt"
    assert f"| `{column}` | list of {{role, content}} messages |" in card


def test_hh_rlhf_writes_a_mixed_campaigns_transcripts_as_text(mixed, campaign, tmp_path):
    export(campaign, "hh-rlhf", tmp_path / "hh.parquet")
    dataset = load_dataset("parquet", data_files=str(tmp_path / "hh.parquet"), split="train")
    assert [row["chosen"] for row in dataset] == [
        f"\n\nHuman: {question}\n\nAssistant: {texts(item)[0]}"
        for question, item in zip(["Plain?", "Chat?"], mixed, strict=True)
    ]
    assert "Prompts:" not in (tmp_path / "hh.README.md").read_text()


def test_raw_rows_are_every_label_with_a_pseudonym_never_the_username(labelled, campaign, raters, tmp_path):
    chat, items = labelled
    items[0].is_gold = True
    items[0].save()
    export(campaign, "raw", tmp_path / "raw.jsonl")
    dataset = dataset_of(tmp_path / "raw.jsonl")
    assert len(dataset) == 8  # five items of two labels, less the gold item
    assert {row["item_id"] for row in dataset} == {item.pk for item in items[1:]}
    text = (tmp_path / "raw.jsonl").read_text()
    assert "rater0" not in text and "rater1" not in text
    assert set(dataset["labeller"]) == {labeller_pseudonym(raters[0].pk), labeller_pseudonym(raters[1].pk)}
    row = next(r for r in dataset if r["item_id"] == items[1].pk)
    assert row["value"] == {"choice": "b", "strength": "slight", "rationale": ""}
    assert row["completions"] == list(texts(items[1])) and row["generators"] == ["fake-model", "fake-model"]
    assert row["candidate_ids"] == [s.candidate_id for s in items[1].slots.order_by("index")]
    assert (row["seconds_spent"], row["aggregate"], row["kind"]) == (12.5, "b", "pairwise")
    assert row["labelled_at"].endswith("+00:00") and row["item_created_at"].endswith("+00:00")
    assert row["prompt"] == ([{"role": "user", "content": QUESTIONS[1]}] if chat else QUESTIONS[1])


def test_a_pseudonym_is_stable_and_does_not_reveal_the_id(settings):
    assert labeller_pseudonym(7) == labeller_pseudonym(7) != labeller_pseudonym(8)
    before = labeller_pseudonym(7)
    settings.SECRET_KEY = "another key"
    assert labeller_pseudonym(7) != before and "7" not in before.removeprefix("labeller-")[:1]


@pytest.mark.parametrize(
    "name", sorted(n for n, f in FORMATS.items() if not f.kinds or "pairwise" in f.kinds)
)
def test_every_format_writes_the_same_rows_to_jsonl_parquet_and_a_dataset_folder(
    labelled, campaign, tmp_path, name
):
    from datasets import load_from_disk

    options = {"kto_from": ["pairwise"]} if name == "kto" else {}
    export(campaign, name, tmp_path / "rows.jsonl", **options)
    export(campaign, name, tmp_path / "rows.parquet", **options)
    export(campaign, name, tmp_path / "folder", **options)
    from_jsonl = dataset_of(tmp_path / "rows.jsonl").to_list()
    from_parquet = load_dataset("parquet", data_files=str(tmp_path / "rows.parquet"), split="train").to_list()
    from_folder = load_from_disk(str(tmp_path / "folder"))["train"].to_list()
    assert from_jsonl and from_parquet == from_folder
    assert list(from_parquet[0]) == list(FORMATS[name].columns)  # every column, in the declared order
    # JSON leaves out nothing but the struct fields pyarrow fills with None when a key is missing.
    assert [row["id"] for row in from_jsonl] == [row["id"] for row in from_parquet]
    for jsonl_row, parquet_row in zip(from_jsonl, from_parquet, strict=True):
        assert {k: v for k, v in jsonl_row.items() if k != "value"} == {
            k: v for k, v in parquet_row.items() if k != "value"
        }


def test_raw_keeps_per_criterion_choices_in_every_output(campaign, generator, raters, tmp_path):
    from datasets import load_from_disk

    campaign.criteria = ["helpfulness", "honesty"]
    campaign.save()
    items = prompts_with_pairs(campaign, generator, ["Q?"])
    label = vote(items[0], raters[0], "a")
    label.value["criteria"] = {"helpfulness": "a", "honesty": "tie"}
    label.save()
    export(campaign, "raw", tmp_path / "raw.jsonl")
    export(campaign, "raw", tmp_path / "raw")
    assert read_jsonl(tmp_path / "raw.jsonl")[0]["value"]["criteria"] == {
        "helpfulness": "a",
        "honesty": "tie",
    }
    assert load_from_disk(str(tmp_path / "raw"))["train"][0]["value"]["criteria"] == {
        "helpfulness": "a",
        "honesty": "tie",
    }
    assert "criteria: {helpfulness: string, honesty: string}" in (tmp_path / "raw" / "README.md").read_text()
