"""Continuing conversations from the preferred reply: the whole chain, from the label that completes an item
through the continuation and generation jobs (run eagerly, generation faked at the inference boundary) to
the next turn's item and its export."""

import json

import pytest
from django.core.management import call_command
from trl.data_utils import is_conversational, maybe_extract_prompt

from inference.user_simulator import USER_SIMULATOR_INSTRUCTION
from labelapp.errors import ApplicationError
from labelapp.models import (
    Campaign,
    Continuation,
    ContinuationStop,
    GenerationJob,
    Generator,
    Item,
    JobStatus,
    Prompt,
)
from labelapp.services.continuations import continuation_run
from labelapp.services.generation import generation_job_run
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import candidates_add, item_shown_indices

QUESTION = "What is the capital of France?"
PARAMS = {"temperature": 0.7, "top_p": 1.0, "max_new_tokens": 8, "seed": 11, "n": 1}


@pytest.fixture
def eager(settings, django_capture_on_commit_callbacks):
    """Tasks queued after commit run at once, in this process, as a worker would run them."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def chat(db) -> Campaign:
    return Campaign.objects.create(name="chat", labels_per_item=1, continue_turns=2)


@pytest.fixture
def two_generators(db) -> tuple[Generator, Generator]:
    # The fake model answers a raw template differently, as two real models would answer differently.
    return (
        Generator.objects.create(name="model-a", model="embedded"),
        Generator.objects.create(name="model-b", model="embedded", prompt_format="raw"),
    )


def conversation_start(campaign, generators, question=QUESTION, texts=("Paris.", "Lyon.")) -> Item:
    """A prompt answered once by each generator (with PARAMS), built into a pairwise item."""
    prompt = Prompt.objects.create(campaign=campaign, text=question)
    for generator, text in zip(generators, texts, strict=True):
        [candidate] = candidates_add(prompt, generator, [text])
        candidate.params = PARAMS
        candidate.save()
    items_build(campaign=campaign, kind="pairwise", seed=3)
    return prompt.items.get()


def label(labeller, item, choice, message=None, key=None):
    """The labeller's label of an item leased to them: `choice` in canonical order ("a" is the candidate of
    index 0), turned into the position it was shown at, as the page sends it."""
    if choice in ("a", "b"):
        choice = "ab"[item_shown_indices(item=item, labeller=labeller).index("ab".index(choice))]
    value = {"choice": choice} | ({"next_message": message} if message is not None else {})
    return label_submit(
        labeller=labeller,
        campaign=item.campaign.name,
        item_id=item.pk,
        value=value,
        idempotency_key=key or f"{item.pk}-{labeller.pk}",
        lease_next=True,
    )


def text_of(item, index):
    return item.slots.get(index=index).candidate.text


def test_the_labellers_message_continues_the_conversation_from_the_preferred_reply(
    chat, two_generators, labeller, fake_generate, eager
):
    item = conversation_start(chat, two_generators)
    assert lease_next(labeller=labeller, campaign=chat) == item
    preferred = "a" if text_of(item, 0) == "Lyon." else "b"  # Lyon, whatever the order it was built in
    with eager():
        label(labeller, item, preferred, message="Are you sure? I thought it was Paris.")

    continuation = Continuation.objects.get(item=item)
    assert (continuation.status, continuation.stopped, continuation.message_source) == (
        JobStatus.SUCCEEDED,
        "",
        "labeller",
    )
    following = Prompt.objects.get(continues=item)
    assert following.messages == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Lyon."},
        {"role": "user", "content": "Are you sure? I thought it was Paris."},
    ]
    assert (following.turn, following.conversation_id) == (2, item.prompt_id)
    # Each compared reply's generator answers once, with that reply's params.
    jobs = GenerationJob.objects.filter(prompt=following)
    assert sorted(job.generator.name for job in jobs) == ["model-a", "model-b"]
    for job in jobs:
        assert job.status == JobStatus.SUCCEEDED and job.progress_total == 1
        assert {k: job.params[k] for k in PARAMS} == PARAMS
    assert fake_generate.calls[-1]["requests"][0].messages[-1]["content"].startswith("Are you sure?")
    # The pair is the next item of the conversation, one priority above the one it continues.
    next_turn = Item.objects.get(prompt=following)
    assert next_turn.priority == item.priority + 1
    assert sorted(next_turn.slots.values_list("candidate__generator__name", flat=True)) == [
        "model-a",
        "model-b",
    ]


def test_the_next_turn_is_served_before_untouched_conversations(
    chat, two_generators, labeller, fake_generate, eager
):
    for number in range(4):
        conversation_start(chat, two_generators, question=f"Question {number}?")
    first = lease_next(labeller=labeller, campaign=chat)
    with eager():
        # The labeller's next item is leased in the label's own transaction, before the next turn exists.
        meanwhile = label(labeller, first, "a", message="Why?").next_item
    assert meanwhile is not None and meanwhile.prompt.turn == 1
    with eager():
        served = label(labeller, meanwhile, "b").next_item  # no message, no simulator: it stops there
    assert served == Item.objects.get(prompt__continues=first)
    assert Continuation.objects.get(item=meanwhile).stopped == ContinuationStop.NO_MESSAGE
    assert not Prompt.objects.filter(continues=meanwhile).exists()


def test_a_retried_submit_and_rerun_jobs_continue_the_conversation_once(
    chat, two_generators, labeller, fake_generate, eager
):
    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="Tell me more.", key="same")
        retried = label(labeller, item, "a", message="Tell me more.", key="same")
    assert not retried.created
    continuation = Continuation.objects.get(item=item)
    continuation_run(continuation_id=continuation.pk)  # a redelivered task
    for job in GenerationJob.objects.filter(prompt__continues=item):
        generation_job_run(job_id=job.pk)
    assert Prompt.objects.filter(continues=item).count() == 1
    assert GenerationJob.objects.filter(prompt__continues=item).count() == 2
    assert Item.objects.filter(prompt__continues=item).count() == 1
    assert len(fake_generate.calls) == 2


@pytest.mark.parametrize(
    ("choices", "stop"),
    [
        (["tie"], ContinuationStop.TIE),
        (["both_bad"], ContinuationStop.BOTH_BAD),
        (["a", "b"], ContinuationStop.SPLIT),
    ],
)
def test_a_tie_both_bad_or_an_even_split_ends_the_conversation(
    chat, two_generators, raters, fake_generate, eager, choices, stop
):
    chat.labels_per_item = len(choices)
    chat.save()
    item = conversation_start(chat, two_generators)
    for rater, choice in zip(raters, choices, strict=False):
        lease_next(labeller=rater, campaign=chat)
        with eager():
            label(rater, item, choice, message="Go on.")
    continuation = Continuation.objects.get(item=item)
    assert (continuation.status, continuation.stopped) == (JobStatus.SUCCEEDED, stop)
    assert continuation.outcome == f"stopped: {stop.label}"
    assert not Prompt.objects.filter(continues=item).exists() and not fake_generate.calls


def test_an_item_is_continued_only_once_its_k_labels_are_in_with_the_first_agreeing_message(
    chat, two_generators, raters, fake_generate, eager
):
    chat.labels_per_item = 3
    chat.save()
    item = conversation_start(chat, two_generators)
    given = [("b", "From the minority."), ("a", ""), ("a", "From the majority."), ("a", "Too late.")]
    for rater, (choice, message) in zip(raters[:3], given, strict=False):
        assert not Continuation.objects.filter(item=item).exists()
        lease_next(labeller=rater, campaign=chat)
        with eager():
            label(rater, item, choice, message=message)
    continuation = Continuation.objects.get(item=item)
    assert continuation.message_label.labeller == raters[2]
    following = Prompt.objects.get(continues=item)
    assert following.messages[-2:] == [
        {"role": "assistant", "content": text_of(item, 0)},
        {"role": "user", "content": "From the majority."},
    ]


def test_conversations_stop_after_the_set_number_of_turns(
    chat, two_generators, labeller, fake_generate, eager
):
    chat.continue_turns = 1
    chat.save()
    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        second = label(labeller, item, "a", message="And then?").next_item
    assert second is None  # nothing else to label while the next turn is generated
    second = lease_next(labeller=labeller, campaign=chat)
    assert second.prompt.turn == 2
    with eager():
        label(labeller, second, "a", message="And after that?")
    assert not Continuation.objects.filter(item=second).exists()
    assert Prompt.objects.filter(campaign=chat).count() == 2


def test_the_user_simulator_writes_the_message_nobody_wrote(
    chat, two_generators, labeller, fake_generate, eager
):
    chat.user_simulator = Generator.objects.create(name="simulator", model="embedded")
    chat.save()
    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="   ")

    continuation = Continuation.objects.get(item=item)
    assert continuation.message_source == "user-simulator" and continuation.message_label is None
    asked = fake_generate.calls[0]["requests"][0].messages
    assert asked[0] == {"role": "system", "content": USER_SIMULATOR_INSTRUCTION}
    assert asked[1]["content"].startswith(f"User: {QUESTION}\n\nAssistant: {text_of(item, 0)}")
    following = Prompt.objects.get(continues=item)
    # The fake model's answer to the simulator's request is the user's next message.
    assert following.messages[-1] == {"role": "user", "content": f"Answer 0 to: {asked[1]['content']}"}
    assert Item.objects.filter(prompt=following).exists()


def test_two_identical_answers_end_the_conversation(chat, labeller, fake_generate, eager):
    twins = [Generator.objects.create(name=f"twin-{n}", model="embedded") for n in range(2)]
    item = conversation_start(chat, twins)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="Again?")
    assert Prompt.objects.get(continues=item).candidates.count() == 2
    assert not Item.objects.filter(prompt__continues=item).exists()
    assert (
        Continuation.objects.get(item=item).outcome == f"stopped: {ContinuationStop.IDENTICAL_ANSWERS.label}"
    )


def test_a_reply_imported_from_a_file_ends_the_conversation(
    chat, two_generators, labeller, fake_generate, eager
):
    imported = Generator.objects.create(name="hh-chosen", model="hh-chosen", backend="external")
    item = conversation_start(chat, [two_generators[0], imported])
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="And then?")
    continuation = Continuation.objects.get(item=item)
    assert (continuation.status, continuation.stopped) == (
        JobStatus.SUCCEEDED,
        ContinuationStop.IMPORTED_REPLY,
    )
    assert not Prompt.objects.filter(continues=item).exists() and not fake_generate.calls


def test_two_replies_of_one_generator_are_answered_by_one_job_of_two_samples(
    chat, generator, labeller, fake_generate, eager
):
    item = conversation_start(chat, [generator, generator])
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "b", message="Shorter, please.")
    [job] = GenerationJob.objects.filter(prompt__continues=item)
    assert job.params["n"] == 2 and job.generator == generator
    next_turn = Item.objects.get(prompt__continues=item)
    assert {slot.candidate.text for slot in next_turn.slots.all()} == {
        "Answer 0 to: Shorter, please.",
        "Answer 1 to: Shorter, please.",
    }


def test_campaign_wide_generation_leaves_the_next_turns_to_their_continuation(
    chat, two_generators, labeller, fake_generate, eager
):
    from labelapp.services.generation import generation_jobs_create, sampling_params_for

    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="Why?")
    [job] = generation_jobs_create(
        campaign=chat,
        generator=two_generators[0],
        params_list=[sampling_params_for(generator=two_generators[0], overrides={"temperature": 1.0})],
    )
    assert job.progress_total == 1  # the first prompt only
    generation_job_run(job_id=job.pk)
    assert Prompt.objects.get(continues=item).candidates.count() == 2


def test_a_next_message_is_refused_where_the_campaign_does_not_continue(campaign, pairwise_items, labeller):
    item = lease_next(labeller=labeller, campaign=campaign)
    with pytest.raises(ApplicationError) as refused:
        label_submit(
            labeller=labeller,
            campaign=campaign.name,
            item_id=item.pk,
            value={"choice": "a", "next_message": "Hello"},
            idempotency_key="k",
            lease_next=True,
        )
    assert refused.value.extra["field"] == "next_message"


def test_only_a_pairwise_campaign_continues_conversations(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Only a pairwise campaign can continue conversations"):
        Campaign(name="sets", kind="setwise", continue_turns=1).full_clean()


def test_every_turn_exports_as_a_conversational_pair_joined_by_conversation_and_turn(
    chat, two_generators, labeller, fake_generate, eager, tmp_path
):
    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="In one word?")
    second = lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, second, "b")

    out = tmp_path / "dpo.jsonl"
    call_command("export_dataset", campaign=chat.name, format="dpo", out=str(out))
    rows = sorted((json.loads(line) for line in out.read_text().splitlines()), key=lambda r: r["turn"])
    assert [(r["conversation_id"], r["turn"]) for r in rows] == [(item.prompt_id, 1), (item.prompt_id, 2)]
    assert rows[1]["prompt"] == Prompt.objects.get(continues=item).messages
    assert rows[1]["prompt"][1] == {"role": "assistant", "content": text_of(item, 0)}
    assert rows[1]["chosen"] == [{"role": "assistant", "content": text_of(second, 1)}]
    for row in rows:
        assert is_conversational(row)
        assert maybe_extract_prompt(row)["prompt"] == row["prompt"]

    raw = tmp_path / "raw.jsonl"
    call_command("export_dataset", campaign=chat.name, format="raw", out=str(raw))
    raw_rows = [json.loads(line) for line in raw.read_text().splitlines()]
    assert sorted((r["conversation_id"], r["turn"]) for r in raw_rows) == [
        (item.prompt_id, 1),
        (item.prompt_id, 2),
    ]


def test_a_campaign_with_continued_conversations_is_deleted_whole(
    chat, two_generators, labeller, fake_generate, eager, staff, client_for
):
    item = conversation_start(chat, two_generators)
    lease_next(labeller=labeller, campaign=chat)
    with eager():
        label(labeller, item, "a", message="More?")
    assert Item.objects.filter(prompt__continues=item).exists()

    page = client_for(staff).post(f"/admin/labelapp/campaign/{chat.pk}/delete/", {"post": "yes"})

    assert page.status_code == 302 and not Campaign.objects.exists()
    assert (Prompt.objects.count(), Item.objects.count(), Continuation.objects.count()) == (0, 0, 0)
    assert GenerationJob.objects.count() == 0
