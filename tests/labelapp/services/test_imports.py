"""dataset_import and the import command: all or nothing, idempotent by content, streaming in batches, and
source labels kept apart from everything that reads human labels."""

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labelapp.errors import ApplicationError
from labelapp.exporters import FORMATS
from labelapp.importers.rows import PromptSpec
from labelapp.models import Candidate, Generator, GeneratorBackend, Label, Prompt, SourceLabel
from labelapp.selectors.dashboard import campaign_dashboard
from labelapp.services import imports
from labelapp.services.generation import generation_job_run, generation_jobs_create, sampling_params_for
from labelapp.services.items import items_build
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next
from tests.factories import export_rows, shown_order
from tests.labelapp.importers.conftest import FILES, import_file, imported_items

REPO = Path(__file__).resolve().parents[3]


def answers_file(path: Path, rows: int, bad_line: int | None = None) -> Path:
    with path.open("w") as out:
        for number in range(1, rows + 1):
            row = {"prompt": f"Question {number // 2}?", "response": f"Answer {number}.", "model": "acme"}
            if number == bad_line:
                row.pop("model")
            out.write(json.dumps(row) + "\n")
    return path


def test_a_bad_row_in_a_later_batch_leaves_nothing_from_the_batches_before(campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 10)
    path = answers_file(tmp_path / "answers.jsonl", 45, bad_line=37)
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign, "candidates")
    assert (
        str(refused.value)
        == "answers.jsonl, line 37, field 'model': is required with 'response': the model that wrote it"
    )
    assert not Prompt.objects.exists() and not Candidate.objects.exists() and not Generator.objects.exists()
    said = import_file(answers_file(path, 45), campaign, "candidates")
    assert (
        "45 rows; new: 23 prompts, 45 candidates; seen before: 4 prompts; new external generators: acme."
        in said
    )


def test_a_database_refusal_midway_leaves_nothing(campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 10)
    calls = []
    run = imports.CANDIDATE_INSERT.run

    def refuse_the_third_batch(rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise ApplicationError("The database refused the batch.")
        return run(rows)

    monkeypatch.setattr(imports.CANDIDATE_INSERT, "run", refuse_the_third_batch)
    with pytest.raises(CommandError, match="The database refused the batch."):
        import_file(answers_file(tmp_path / "answers.jsonl", 45), campaign, "candidates")
    assert len(calls) == 3 and not Prompt.objects.exists() and not Candidate.objects.exists()


def test_importing_again_adds_nothing_and_says_so(campaign, tmp_path):
    path = answers_file(tmp_path / "answers.jsonl", 6)
    import_file(path, campaign, "candidates")
    again = import_file(path, campaign, "candidates")
    assert again.strip() == (
        "Imported into campaign 'prefs': answers.jsonl: 6 rows; 0 new; seen before: 4 prompts, 6 candidates."
    )
    assert Candidate.objects.count() == 6


def test_lookups_in_short_lists_find_every_item_again(campaign, monkeypatch):
    """However many answers a batch holds, what is there already is found (SQLite takes at most 32,766
    parameters in one statement: lookups go in lists of IN_LIST_MAX)."""
    monkeypatch.setattr(imports, "IN_LIST_MAX", 2)
    first = import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    assert "new: 2 prompts, 7 candidates, 9 items, 9 source labels" in first
    again = import_file(FILES / "ultrafeedback.jsonl", campaign, "ultrafeedback")
    assert "0 new; seen before: 2 prompts, 7 candidates, 9 items, 9 source labels." in again


def test_import_prompts_and_import_dataset_share_prompts(campaign, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Question 0?"}\n{"prompt": "Question 1?", "reference_answer": "1"}\n')
    call_command("import_prompts", str(prompts), campaign=campaign.name, stdout=io.StringIO())
    said = import_file(answers_file(tmp_path / "answers.jsonl", 3), campaign, "candidates")
    assert "3 rows; new: 3 candidates; seen before: 2 prompts" in said
    assert Prompt.objects.get(text="Question 1?").candidates.count() == 2


def test_a_prompt_given_another_reference_answer_is_refused(campaign, tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(
        '{"prompt": "2 + 2?", "reference_answer": "4"}\n{"prompt": "3 + 3?"}\n{"prompt": "2 + 2?", "reference_answer": "5"}\n'
    )
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign, "candidates")
    assert str(refused.value) == (
        "answers.jsonl, line 3, field 'reference_answer': the same prompt has another reference answer "
        "(from answers.jsonl:1); a prompt has one"
    )


def test_answers_may_not_pass_for_a_generator_that_runs(campaign, generator, tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"prompt": "Hi?", "response": "Hello.", "model": generator.name}) + "\n")
    with pytest.raises(CommandError) as refused:
        import_file(path, campaign, "candidates")
    assert str(refused.value) == (
        "answers.jsonl, line 1, field 'model': 'fake-model' is a transformers generator of this app; imported "
        "answers need a model name of their own"
    )


def test_imported_and_generated_answers_are_built_into_items_against_each_other(
    campaign, generator, fake_generate, tmp_path
):
    path = tmp_path / "answers.jsonl"
    path.write_text(
        json.dumps({"prompt": "Name a colour.", "response": "Teal.", "model": "their-model"}) + "\n"
    )
    import_file(path, campaign, "candidates")
    params = sampling_params_for(generator=generator, overrides={"n": 2, "seed": 1})
    (job,) = generation_jobs_create(campaign=campaign, generator=generator, params_list=[params])
    generation_job_run(job_id=job.pk)
    assert items_build(campaign=campaign, kind="pairwise", seed=3).created == 3
    pairs = {tuple(sorted(item.models)) for item in imported_items(campaign)}
    assert pairs == {("fake-model", "fake-model"), ("fake-model", "their-model")}


def test_an_external_generator_cannot_generate(campaign, tmp_path):
    import_file(answers_file(tmp_path / "answers.jsonl", 2), campaign, "candidates")
    external = Generator.objects.get(name="acme")
    assert external.backend == GeneratorBackend.EXTERNAL and external.base_url == ""
    with pytest.raises(
        ApplicationError, match="Generator 'acme' is external: its answers were imported from a file"
    ):
        generation_jobs_create(
            campaign=campaign,
            generator=external,
            params_list=[sampling_params_for(generator=external, overrides={})],
        )


def test_the_migration_fills_the_keys_of_prompts_imported_before_with_the_importers_key():
    migration = importlib.import_module("labelapp.migrations.0011_imports_source_labels")
    chat = [
        {"role": "system", "content": "Sé breve.\u2028"},
        {"role": "user", "content": 'Say "hi"\n\t\x01/😀'},
    ]
    for text, messages in (("What is 2 + 2?\n", None), ("", chat), ("café \\ \u00e9", None)):
        assert migration.prompt_content_key(text, messages) == PromptSpec(text=text, messages=messages).key


# --- source labels: beside human labels, never one --------------------------------------------------------


@pytest.fixture
def hh_campaign(campaign):
    campaign.labels_per_item = 1
    campaign.save()
    import_file(FILES / "hh-rlhf.jsonl", campaign, "hh-rlhf")
    assert SourceLabel.objects.count() == 3
    return campaign


def test_items_with_source_labels_are_served_and_counted_as_unlabelled(hh_campaign, labeller, other_labeller):
    served = {lease_next(labeller=labeller, campaign=hh_campaign)}
    assert served.pop() is not None  # with one label wanted per item, a source label would have filled it
    dashboard = campaign_dashboard(campaign=hh_campaign)
    assert (dashboard.labels_total, dashboard.items_complete, dashboard.items_untouched) == (0, 0, 2)
    assert all(agreement.result.labels == 0 for agreement in dashboard.agreements)


def test_the_label_page_and_api_never_show_a_source_label(campaign, labeller, client_for):
    campaign.labels_per_item = 1
    campaign.save()
    import_file(FILES / "arena.jsonl", campaign, "arena")
    client = client_for(labeller)
    for _ in range(4):
        page = client.get(f"/label/{campaign.name}/").content.decode()
        api = client.post(f"/api/v1/campaigns/{campaign.name}/next-item/").content.decode()
        for shown in (page, api):
            assert "arena_user" not in shown and "model_a" not in shown and "tie (bothbad)" not in shown
            assert "koala" not in shown and "chatglm" not in shown  # nor which model wrote an answer
        item_id = json.loads(api)["item"]["id"]
        label_submit(
            campaign=None,
            lease_next=False,
            item_id=item_id,
            labeller=labeller,
            value={"choice": "tie"},
            idempotency_key=f"k{item_id}",
        )


EXPORT_OPTIONS = {"kto": {"kto_from": ["pairwise"]}}


def _export(campaign, format_name, out: Path) -> list[dict]:
    return export_rows(campaign, format_name, out, **EXPORT_OPTIONS.get(format_name, {}))


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_no_export_format_writes_a_source_label(hh_campaign, labeller, tmp_path, format_name):
    """Before any human label, no row in any format; after one, its rows carry the human's verdict, which
    here is the opposite of the dataset's, and the raw format lists that one label."""
    try:
        assert _export(hh_campaign, format_name, tmp_path / "before.jsonl") == []
    except CommandError as refused:  # a format for another kind of campaign (set-wise, ranking)
        assert "pairwise" in str(refused) or "campaign" in str(refused)
        return
    item = lease_next(labeller=labeller, campaign=hh_campaign)
    dataset_choice = SourceLabel.objects.get(item=item).value["choice"]
    human = "b" if dataset_choice == "a" else "a"
    shown = shown_order(item, labeller).positions
    label_submit(
        campaign=None,
        lease_next=False,
        item_id=item.pk,
        labeller=labeller,
        value={"choice": "ab"[shown["ab".index(human)]]},
        idempotency_key="h1",
    )
    rows = _export(hh_campaign, format_name, tmp_path / "after.jsonl")
    assert rows, format_name
    texts = {slot.index: slot.candidate.text for slot in item.slots.select_related("candidate")}
    if format_name == "raw":
        assert len(rows) == 1 and rows[0]["value"]["choice"] == human  # one row per label: the human's
    elif format_name in {"dpo", "rm"}:
        chosen = rows[0]["chosen"]
        assert texts["ab".index(human)] in json.dumps(chosen)
    assert Label.objects.count() == 1


def test_the_command_line_exits_non_zero_with_one_line_naming_file_line_and_field(tmp_path):
    env = {"LABELAPP_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from labelapp.models import Campaign; Campaign.objects.create(name='c')",
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    bad = tmp_path / "hh.jsonl"
    bad.write_text(
        (FILES / "hh-rlhf.jsonl").read_text() + '{"chosen": "\\n\\nHuman: Hi\\n\\nAssistant: Hello"}\n'
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "import_dataset", str(bad), "--campaign", "c", "--format", "hh-rlhf"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert (
        done.stderr.strip().splitlines()[-1]
        == "CommandError: hh.jsonl, line 4, field 'rejected': is required"
    )
