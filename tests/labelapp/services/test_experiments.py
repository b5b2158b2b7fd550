import json
from pathlib import Path

import pytest

from labelapp.errors import ApplicationError
from labelapp.experiments.schema import experiment_read
from labelapp.models import Campaign, Candidate, GenerationJob, Generator, Item, JudgeJob, JudgeLabel, Prompt
from labelapp.selectors.campaigns import campaigns_for_user
from labelapp.services.experiments import Change, experiment_apply
from labelapp.services.generation import generation_job_run
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next

GENERATORS = """
[[generator]]
name = "chat"
model = "embedded"
params = {max_new_tokens = 8}

[[generator]]
name = "base"
model = "embedded"
prompt_format = "raw"
raw_template = "Q: {prompt}\\nA:"
"""

CAMPAIGN = """
[[campaign]]
name = "versus"
kind = "pairwise"
labels_per_item = 1
instructions = "Pick the better answer."
"""

STEPS = """
[[step]]
action = "import"
campaign = "versus"
file = "prompts.jsonl"

[[step]]
action = "generate"
campaign = "versus"
generators = ["chat", "base"]
n = 2

[[step]]
action = "build_items"
campaign = "versus"
pairing = "cross-generator"
"""


def write(folder: Path, text: str, name: str = "exp.toml") -> Path:
    prompts = [{"prompt": "Name a colour."}, {"prompt": "What is 2 + 2?", "reference_answer": "4"}]
    (folder / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    path = folder / name
    path.write_text(text)
    return path


def apply(path: Path, **options):
    return experiment_apply(experiment=experiment_read(path), **options)


def changes(applied) -> list[tuple[str, str]]:
    return [(entry.change.value, entry.subject) for entry in applied.entries]


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Generator, Campaign, Prompt, GenerationJob, Candidate, Item))


@pytest.fixture
def experiment(tmp_path, db) -> Path:
    return write(tmp_path, GENERATORS + CAMPAIGN + STEPS)


def test_applying_creates_generators_campaign_candidates_and_cross_generator_items(experiment, fake_generate):
    applied = apply(experiment)

    assert changes(applied) == [
        ("created", "generator 'chat'"),
        ("created", "generator 'base'"),
        ("created", "campaign 'versus'"),
        ("created", "step 1: import prompts.jsonl into 'versus'"),
        ("created", "step 2: generate with 'chat' on 'versus' (T=0.7, n=2, sample)"),
        ("created", "step 2: generate with 'base' on 'versus' (T=0.7, n=2, sample)"),
        ("created", "step 3: build pairwise items of 'versus'"),
    ]
    assert Generator.objects.get(name="base").raw_template == "Q: {prompt}\nA:"
    assert Campaign.objects.get(name="versus").instructions == "Pick the better answer."
    assert Candidate.objects.count() == 2 * 2 * 2
    # Two answers of each generator per prompt: 2 x 2 cross pairs per prompt, no same-model pair.
    assert Item.objects.count() == 2 * 4
    for item in Item.objects.all():
        assert item.candidates.values("generator").distinct().count() == 2


def test_applying_again_changes_nothing(experiment, fake_generate):
    apply(experiment)
    before, calls = counts(), len(fake_generate.calls)

    again = apply(experiment)

    assert {change for change, _ in changes(again)} == {"unchanged"}
    assert not again.changed
    assert counts() == before and len(fake_generate.calls) == calls


def test_a_dry_run_prints_the_plan_and_stores_nothing(experiment, fake_generate):
    applied = apply(experiment, dry_run=True)

    assert [change for change, _ in changes(applied)] == ["created"] * 6 + ["unchanged"]
    assert "2 prompts to answer (not run: dry run)" in str(applied.entries[4])
    assert counts() == (0, 0, 0, 0, 0, 0)
    assert not fake_generate.calls


def test_a_temperature_sweep_makes_one_job_per_temperature(tmp_path, db, fake_generate):
    steps = STEPS.replace("n = 2", "n = 1\ntemperatures = [0.3, 1.2]").replace('["chat", "base"]', '["chat"]')
    apply(write(tmp_path, GENERATORS + CAMPAIGN + steps))
    temperatures = sorted(job.params["temperature"] for job in GenerationJob.objects.all())
    assert temperatures == [0.3, 1.2]
    assert Candidate.objects.count() == 2 * 2


def label_one_item(campaign_name: str, labeller) -> None:
    item = lease_next(labeller=labeller, campaign=Campaign.objects.get(name=campaign_name))
    label_submit(
        labeller=labeller,
        campaign=campaign_name,
        item_id=item.pk,
        value={"choice": "a"},
        idempotency_key="k1",
        lease_next=False,
    )


def test_changing_a_campaigns_kind_once_it_has_labels_is_refused_and_nothing_applied(
    experiment, fake_generate, labeller
):
    apply(experiment)
    label_one_item("versus", labeller)
    changed = experiment.read_text().replace('kind = "pairwise"', 'kind = "correctness"')
    experiment.write_text(changed + '\n[[campaign]]\nname = "later"\n')

    with pytest.raises(ApplicationError) as refused:
        apply(experiment)

    assert refused.value.message.startswith(
        "exp.toml: [[campaign]] 1 ('versus'), key 'kind': Campaign 'versus'"
    )
    assert "has labels: changing kind would make them mean something else" in refused.value.message
    assert Campaign.objects.get(name="versus").kind == "pairwise"
    assert not Campaign.objects.filter(name="later").exists()


def test_instructions_may_change_once_labels_exist(experiment, fake_generate, labeller):
    apply(experiment)
    label_one_item("versus", labeller)
    experiment.write_text(
        experiment.read_text().replace("Pick the better answer.", "Pick the kinder answer.")
    )

    applied = apply(experiment)

    assert ("updated", "campaign 'versus'") in changes(applied)
    assert "campaign 'versus': instructions" in [f"{e.subject}: {e.detail}" for e in applied.entries]
    assert Campaign.objects.get(name="versus").instructions == "Pick the kinder answer."


def test_a_generator_with_candidates_keeps_its_model_but_may_change_its_default_params(
    experiment, fake_generate
):
    apply(experiment)
    experiment.write_text(experiment.read_text().replace("{max_new_tokens = 8}", "{max_new_tokens = 16}"))
    assert ("updated", "generator 'chat'") in changes(apply(experiment))

    experiment.write_text(experiment.read_text().replace('prompt_format = "raw"', 'prompt_format = "chat"'))
    with pytest.raises(
        ApplicationError, match=r"\[\[generator\]\] 2 \('base'\), key 'prompt_format': .*has outputs"
    ):
        apply(experiment)
    assert Generator.objects.get(name="base").prompt_format == "raw"


def test_a_step_naming_an_undeclared_campaign_is_refused(tmp_path, db):
    path = write(tmp_path, GENERATORS + STEPS)
    with pytest.raises(ApplicationError, match=r"\[\[step\]\] 1, key 'campaign': no campaign 'versus'"):
        apply(path)
    assert not Generator.objects.exists()


def test_a_bad_prompt_file_names_its_line_and_applies_nothing(experiment, fake_generate):
    (experiment.parent / "prompts.jsonl").write_text('{"prompt": "fine"}\n{"prompt": 3}\n')
    with pytest.raises(ApplicationError, match=r"\[\[step\]\] 1, key 'file': prompts.jsonl, line 2"):
        apply(experiment)
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_a_self_critique_step_and_an_ai_judge_step_run_once(tmp_path, db, fake_generate):
    steps = """
[[generator]]
name = "judge"
model = "embedded"

[[step]]
action = "import"
campaign = "versus"
file = "prompts.jsonl"

[[step]]
action = "generate"
campaign = "versus"
generators = ["chat"]
strategy = "self-critique"

[[step]]
action = "build_items"
campaign = "versus"
pairing = "answer-vs-revision"

[[step]]
action = "judge"
campaign = "versus"
generator = "judge"
limit = 1
"""
    path = write(tmp_path, GENERATORS + CAMPAIGN + steps)
    apply(path)
    assert set(Candidate.objects.values_list("step", flat=True)) == {"answer", "critique", "revision"}
    assert Item.objects.count() == 2
    assert JudgeLabel.objects.count() == 2  # one item, in both orders

    again = apply(path)
    assert {change for change, _ in changes(again)} == {"unchanged"}
    assert JudgeJob.objects.count() == 1 and JudgeLabel.objects.count() == 2

    # A raised limit counts the items judged so far, not their verdicts (two each): one more item.
    path.write_text(path.read_text().replace("limit = 1", "limit = 2"))
    apply(path)
    assert (JudgeJob.objects.count(), JudgeLabel.objects.values("item").distinct().count()) == (2, 2)


def test_an_import_step_takes_a_public_dataset_and_a_second_apply_adds_nothing(tmp_path, db):
    rows = [
        {
            "chosen": f"\n\nHuman: Question {n}?\n\nAssistant: A good answer {n}.",
            "rejected": f"\n\nHuman: Question {n}?\n\nAssistant: A poor answer {n}.",
        }
        for n in range(3)
    ]
    (tmp_path / "hh.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    steps = '[[step]]\naction = "import"\ncampaign = "versus"\nfile = "hh.jsonl"\nformat = "hh-rlhf"\n'
    path = write(tmp_path, CAMPAIGN + steps)

    first = apply(path)
    assert ("created", "step 1: import hh.jsonl into 'versus'") in changes(first)
    assert Item.objects.count() == 3 and Candidate.objects.count() == 6

    again = apply(path)
    assert ("unchanged", "step 1: import hh.jsonl into 'versus'") in changes(again)
    assert "0 new" in again.entries[-1].detail and Item.objects.count() == 3


def test_an_unknown_import_format_is_named(tmp_path, db):
    steps = '[[step]]\naction = "import"\ncampaign = "versus"\nfile = "x.jsonl"\nformat = "alpaca"\n'
    with pytest.raises(
        ApplicationError,
        match="exp.toml: \\[\\[step\\]\\] 1, key 'format': 'alpaca' is not one of candidates,",
    ):
        apply(write(tmp_path, CAMPAIGN + steps))


def test_labellers_named_are_the_only_ones_served_until_the_list_is_left_out(
    tmp_path, db, labeller, other_labeller
):
    path = write(tmp_path, CAMPAIGN + 'labellers = ["labeller1"]\n')
    apply(path)
    campaign = Campaign.objects.get(name="versus")
    assert campaigns_for_user(user=labeller).filter(pk=campaign.pk).exists()
    assert not campaigns_for_user(user=other_labeller).filter(pk=campaign.pk).exists()
    assert {change for change, _ in changes(apply(path))} == {"unchanged"}

    path.write_text(CAMPAIGN)
    assert "campaign 'versus': labellers" in [f"{e.subject}: {e.detail}" for e in apply(path).entries]
    assert campaigns_for_user(user=other_labeller).filter(pk=campaign.pk).exists()


def test_an_unknown_labeller_is_named(tmp_path, db):
    with pytest.raises(
        ApplicationError, match=r"\[\[campaign\]\] 1 \('versus'\), key 'labellers': No user named nobody"
    ):
        apply(write(tmp_path, CAMPAIGN + 'labellers = ["nobody"]\n'))
    assert not Campaign.objects.exists()


def test_changes_are_reported_as_plan_lines(experiment, fake_generate):
    lines = []
    apply(experiment, on_entry=lambda entry: lines.append(str(entry)))
    assert lines[0] == "created    generator 'chat': embedded (chat)"
    assert lines[-1] == "created    step 3: build pairwise items of 'versus': 8 new items, 0 built already"
    assert Change.UNCHANGED == "unchanged"


def test_enqueued_jobs_are_left_to_workers_and_a_later_apply_builds_from_their_answers(
    experiment, fake_generate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as sent:
        first = apply(experiment, enqueue=True)
    assert len(sent) == 2 and not fake_generate.calls  # one job per generator, sent to the queue on commit
    assert "queued for a worker on queue 'inference'" in str(first.entries[4])
    assert ("unchanged", "step 3: build pairwise items of 'versus'") in changes(first)

    again = apply(experiment, enqueue=True)
    assert [e.detail for e in again.entries if "generate" in e.subject] == [
        f"job {job.pk} is queued already" for job in GenerationJob.objects.order_by("id")
    ]
    assert GenerationJob.objects.count() == 2

    for job in GenerationJob.objects.all():  # what the workers do
        generation_job_run(job_id=job.pk)
    done = apply(experiment)
    assert ("created", "step 3: build pairwise items of 'versus'") in changes(done)
    assert Item.objects.count() == 8 and GenerationJob.objects.count() == 2


def test_a_check_across_keys_names_the_table(tmp_path, db):
    path = write(tmp_path, '[[generator]]\nname = "remote"\nmodel = "m"\nbackend = "tgi"\n')
    with pytest.raises(ApplicationError) as refused:
        apply(path)
    assert refused.value.message == "exp.toml: [[generator]] 1 ('remote'): Remote backends need a base URL."


def test_a_campaign_continues_conversations_with_a_user_simulator_named_by_the_file(tmp_path, db):
    simulator = '[[generator]]\nname = "simulator"\nmodel = "embedded"\n'
    path = write(tmp_path, simulator + CAMPAIGN + 'continue_turns = 2\nuser_simulator = "simulator"\n')
    apply(path)
    campaign = Campaign.objects.get(name="versus")
    assert (campaign.continue_turns, campaign.user_simulator.name) == (2, "simulator")
    assert ("unchanged", "campaign 'versus'") in changes(apply(path))

    path.write_text(simulator + CAMPAIGN + "continue_turns = 1\n")
    assert any(
        e.subject == "campaign 'versus'" and e.detail == "continue_turns, user_simulator"
        for e in apply(path).entries
    )
    campaign.refresh_from_db()
    assert (campaign.continue_turns, campaign.user_simulator) == (1, None)


def test_a_campaign_declares_its_selection_and_a_wrong_one_is_named(tmp_path, db):
    path = write(tmp_path, CAMPAIGN + 'selection = "active"\n')
    apply(path)
    assert Campaign.objects.get(name="versus").selection == "active"
    path.write_text(CAMPAIGN + 'selection = "uniform"\n')
    assert any(e.subject == "campaign 'versus'" and e.detail == "selection" for e in apply(path).entries)
    assert Campaign.objects.get(name="versus").selection == "uniform"
    with pytest.raises(
        ApplicationError, match=r"\('versus'\), key 'selection': 'smart' is not one of uniform, active"
    ):
        apply(write(tmp_path, CAMPAIGN + 'selection = "smart"\n'))


def test_a_campaign_sends_its_disagreements_to_reviewers_as_the_file_says(tmp_path, db):
    path = write(tmp_path, CAMPAIGN + "review_below = 0.7\n")
    apply(path)
    assert Campaign.objects.get(name="versus").review_below == 0.7
    assert ("unchanged", "campaign 'versus'") in changes(apply(path))
    path.write_text(CAMPAIGN)
    assert any(e.subject == "campaign 'versus'" and e.detail == "review_below" for e in apply(path).entries)
    assert Campaign.objects.get(name="versus").review_below is None


def test_a_review_threshold_out_of_range_is_named(tmp_path, db):
    with pytest.raises(ApplicationError, match=r"\('versus'\), key 'review_below'"):
        apply(write(tmp_path, CAMPAIGN + "review_below = 2\n"))
    assert not Campaign.objects.exists()


def test_an_unknown_user_simulator_is_named(tmp_path, db):
    with pytest.raises(
        ApplicationError, match=r"\('versus'\), key 'user_simulator': no generator named 'nobody'"
    ):
        apply(write(tmp_path, CAMPAIGN + 'continue_turns = 1\nuser_simulator = "nobody"\n'))
    assert not Campaign.objects.exists()


def test_a_campaign_declares_adaptive_overlap(tmp_path, db):
    text = CAMPAIGN.replace("labels_per_item = 1", "labels_per_item = 3")
    path = write(tmp_path, text + "min_labels = 2\nagreement_to_stop = 0.75\njudge_prelabel = true\n")
    apply(path)
    campaign = Campaign.objects.get(name="versus")
    assert (campaign.min_labels, campaign.agreement_to_stop, campaign.judge_prelabel) == (2, 0.75, True)
    path.write_text(text)
    assert any(
        e.subject == "campaign 'versus'" and e.detail == "min_labels, agreement_to_stop, judge_prelabel"
        for e in apply(path).entries
    )


def test_min_labels_above_labels_per_item_is_refused_naming_the_key(tmp_path, db):
    with pytest.raises(
        ApplicationError, match=r"\('versus'\), key 'min_labels': Field 'min_labels' must be from 1"
    ):
        apply(write(tmp_path, CAMPAIGN + "min_labels = 2\n"))
    assert not Campaign.objects.exists()


def test_continuing_a_campaign_of_another_kind_is_refused_naming_the_table(tmp_path, db):
    text = '[[campaign]]\nname = "facts"\nkind = "correctness"\ncontinue_turns = 1\n'
    with pytest.raises(ApplicationError, match=r"\[\[campaign\]\] 1 \('facts'\)"):
        apply(write(tmp_path, text))
    assert not Campaign.objects.exists()


BEST_OF_N_STEPS = """
[[step]]
action = "import"
campaign = "versus"
file = "prompts.jsonl"

[[step]]
action = "generate"
campaign = "versus"
generators = ["chat"]
n = 3
strategy = "best-of-n"
select = "{select}"

[[step]]
action = "generate"
campaign = "versus"
generators = ["chat"]
n = 1

[[step]]
action = "build_items"
campaign = "versus"
pairing = "best-of-n-vs-sample"
"""


def test_a_best_of_n_step_against_a_single_sample_runs_once(tmp_path, db, fake_generate):
    fake_generate.logprobs = (-0.9, -0.1, -0.5)  # the selected answer is sample 1, the single sample sample 0
    path = write(tmp_path, GENERATORS + CAMPAIGN + BEST_OF_N_STEPS.format(select="logprob"))
    first = apply(path)
    assert (
        "created",
        "step 2: generate with 'chat' on 'versus' (T=0.7, n=3, best-of-n by logprob)",
    ) in changes(first)
    assert Candidate.objects.filter(selection__selected=True).count() == 2
    assert Item.objects.count() == 2  # per prompt: the selected answer against the single sample

    again = apply(path)
    assert {change for change, _ in changes(again)} == {"unchanged"}


def test_a_bad_selection_in_a_step_names_its_place_in_the_file(tmp_path, db, fake_generate):
    path = write(tmp_path, GENERATORS + CAMPAIGN + BEST_OF_N_STEPS.format(select="judge:nobody"))
    with pytest.raises(
        ApplicationError, match=r"\[\[step\]\] 2, key 'select': .*Generator 'nobody' does not exist"
    ):
        apply(path)
    assert not GenerationJob.objects.exists()
