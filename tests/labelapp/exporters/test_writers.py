"""Splits, dataset cards, and the promise that a failed export leaves nothing half-written."""

import dataclasses
import itertools
import os
import signal
import subprocess
import sys
import time

import pytest
from datasets import load_dataset, load_from_disk
from django.core.management import call_command

from labelapp import export_parts, exporters
from labelapp.models import Export, JobStatus, Prompt
from labelapp.services.items import items_build
from tests.factories import candidates_add
from tests.labelapp.exporters.conftest import export, read_jsonl, vote


@pytest.fixture
def many(campaign, generator, raters):
    """40 prompts, each asked twice (duplicate content) with 3 answers: 240 items, each labelled once."""
    for number in range(40):
        for _copy in range(2):
            prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
            candidates_add(prompt, generator, [f"answer {n} to {number}" for n in range(3)])
    items_build(campaign=campaign, kind="pairwise", seed=5)
    for item in campaign.items.all():
        vote(item, raters[item.pk % 3], "ab"[item.pk % 2], "clear")
    return campaign


def split_rows(campaign, tmp_path, name, **options):
    export(campaign, "dpo", tmp_path / f"{name}.jsonl", **options)
    return read_jsonl(tmp_path / f"{name}-train.jsonl"), read_jsonl(tmp_path / f"{name}-test.jsonl")


def test_a_split_keeps_every_prompt_content_in_one_split_and_repeats_for_a_seed(many, tmp_path):
    train, test = split_rows(many, tmp_path, "one", test_fraction=0.25, seed=7)
    again_train, again_test = split_rows(many, tmp_path, "two", test_fraction=0.25, seed=7)
    other_train, other_test = split_rows(many, tmp_path, "three", test_fraction=0.25, seed=8)
    assert len(train) + len(test) == 240 and 0 < len(test) < 120
    assert (train, test) == (again_train, again_test)  # same seed, same data: the same rows in order
    assert {r["id"] for r in test} != {r["id"] for r in other_test}
    train_prompts, test_prompts = {r["prompt"] for r in train}, {r["prompt"] for r in test}
    assert not train_prompts & test_prompts  # no leakage, even of prompts imported twice
    assert len(train_prompts) + len(test_prompts) == 40
    assert not (tmp_path / "one.jsonl").exists()
    card = (tmp_path / "one.README.md").read_text()
    assert (
        f"| train | {len(train)} | {len(train)} |" in card and f"| test | {len(test)} | {len(test)} |" in card
    )
    dataset = load_dataset(
        "json", data_dir=str(tmp_path), data_files={"train": "one-train.jsonl", "test": "one-test.jsonl"}
    )
    assert (dataset["train"].num_rows, dataset["test"].num_rows) == (len(train), len(test))


def test_a_split_folder_is_a_dataset_dict_with_train_and_test(many, tmp_path):
    export(many, "rm", tmp_path / "rm", test_fraction=0.25, seed=7)
    dataset = load_from_disk(str(tmp_path / "rm"))
    _, test = split_rows(many, tmp_path, "dpo", test_fraction=0.25, seed=7)
    assert sorted(dataset) == ["test", "train"]
    assert sorted(dataset["test"]["id"]) == sorted(r["id"] for r in test)  # formats agree on the split
    assert (tmp_path / "rm" / "README.md").read_text().startswith("---\npretty_name:")


def test_a_jsonl_export_never_imports_pyarrow(many, tmp_path, monkeypatch):
    # Importing pyarrow (and numpy) cost each export worker 0.2-0.3 s of CPU and tens of MB for nothing.
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # any `import pyarrow` now raises ImportError
    train, test = split_rows(many, tmp_path, "plain", test_fraction=0.25, seed=7)
    assert len(train) + len(test) == 240


def test_a_prompt_keeps_its_split_as_the_campaign_grows(many, generator, raters, tmp_path):
    _, before = split_rows(many, tmp_path, "before", test_fraction=0.3, seed=1)
    for number in range(40, 60):
        prompt = Prompt.objects.create(campaign=many, text=f"Question {number}?")
        candidates_add(prompt, generator, ["yes", "no"])
    items_build(campaign=many, kind="pairwise", seed=9)
    for item in many.items.filter(label_count=0):
        vote(item, raters[0], "a")
    _, after = split_rows(many, tmp_path, "after", test_fraction=0.3, seed=1)
    assert {r["id"] for r in before} <= {r["id"] for r in after}


def test_the_card_reports_counts_agreement_generators_instructions_and_the_command(many, tmp_path):
    many.instructions = "Prefer *correct* answers.\n\n# Safety\nFlag harm."
    many.save()
    export(many, "kto", tmp_path / "kto.jsonl", kto_from=["pairwise"], min_agreement=0.5)
    card = (tmp_path / "kto.README.md").read_text()
    rows = read_jsonl(tmp_path / "kto.jsonl")
    assert "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: kto.jsonl" in card
    assert f"| train | {len(rows)} | {len(rows) // 2} | {len(rows) // 2} |" in card  # desirable, undesirable
    assert "Majority outcome of those items: a: 120, b: 120." in card
    assert (
        "Mean agreement (fraction of an item's labels agreeing with its majority) over the rows: 1.000"
        in card
    )
    assert '| `fake-model` | `{"max_new_tokens": null, "n": null' in card
    assert "> Prefer *correct* answers.\n> \n> # Safety" in card  # quoted, so its headings stay inside
    assert "python manage.py export_dataset --campaign prefs --format kto --out " in card
    assert "--min-agreement 0.5 --kto-from-pairwise" in card
    assert "labelapp 0.1.0" in card or "labelapp (version unknown)" in card


class Boom(Exception):
    pass


def broken(format, after_rows: int):
    """The format, failing once it has yielded `after_rows` rows, counted over the parts made here."""
    yielded = itertools.count()

    def rows(records, options):
        for row in format.rows(records, options):
            if next(yielded) == after_rows:
                raise Boom("disk full")
            yield row

    return dataclasses.replace(format, rows=rows)


@pytest.mark.parametrize("out_name", ["prefs.jsonl", "prefs.parquet", "prefs"])
@pytest.mark.parametrize("test_fraction", [0, 0.3])
def test_a_crash_mid_export_leaves_no_file_and_keeps_the_previous_export(
    many, tmp_path, monkeypatch, out_name, test_fraction
):
    out = tmp_path / out_name
    export(many, "dpo", out, test_fraction=test_fraction, seed=2)
    monkeypatch.setattr(export_parts, "PART_ITEMS", 20)  # the crash comes after 5 parts were joined
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setitem(exporters.FORMATS, "dpo", broken(exporters.FORMATS["dpo"], after_rows=100))
    with pytest.raises(Boom):
        export(many, "dpo", out, test_fraction=test_fraction, seed=2, min_labels=1)
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    failed = Export.objects.order_by("-id").first()
    assert failed.status == JobStatus.FAILED and "Boom: disk full" in failed.error


def test_a_first_export_that_crashes_leaves_nothing_at_all(many, tmp_path, monkeypatch):
    monkeypatch.setitem(exporters.FORMATS, "dpo", broken(exporters.FORMATS["dpo"], after_rows=0))
    with pytest.raises(Boom):
        call_command("export_dataset", campaign="prefs", format="dpo", out=str(tmp_path / "prefs.jsonl"))
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_an_earlier_export_is_never_replaced(many, tmp_path):
    from labelapp.errors import ApplicationError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ApplicationError, match="is not an earlier dataset export"):
        export(many, "dpo", tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


KILLED_EXPORT = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("shell", command='''
from labelapp.models import Campaign, Generator, Prompt, Item, Label
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from tests.factories import candidates_add
c = Campaign.objects.create(name="k")
g = Generator.objects.create(name="g", model="embedded")
u = user_upsert(username="r", password="correct horse battery")
for n in range(300):
    candidates_add(Prompt.objects.create(campaign=c, text=f"Q{n}"), g, ["x" * 2000, "y" * 2000])
items_build(campaign=c, kind="pairwise", seed=1)
for item in Item.objects.all():
    Label.objects.create(item=item, labeller=u, value={"choice": "a"}, idempotency_key=str(item.pk))
''')
from labelapp import export_parts, exporters
import dataclasses, time
slow = exporters.FORMATS["dpo"]
def rows(records, options):
    for row in slow.rows(records, options):
        time.sleep(0.01)
        yield row
exporters.FORMATS["dpo"] = dataclasses.replace(slow, rows=rows)
call_command("export_dataset", campaign="k", format="dpo", out=sys.argv[1], no_progress=True)
"""


def test_a_killed_export_leaves_no_file_and_the_next_export_clears_its_staging(tmp_path):
    out = tmp_path / "out" / "prefs.jsonl"
    env = {**os.environ, "LABELAPP_VAR_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXPORT, str(out)],
        cwd=os.path.dirname(exporters.__file__) + "/../..",
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not any(out.parent.glob(".prefs.jsonl.partial-*/parts/*.jsonl")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    staged = list(out.parent.glob(".prefs.jsonl.partial-*"))
    assert len(staged) == 1 and any(staged[0].glob("parts/*.jsonl"))  # killed while writing
    assert not out.exists()

    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "export_dataset",
            "--campaign",
            "k",
            "--format",
            "dpo",
            "--out",
            str(out),
            "--no-progress",
        ],
        cwd=os.path.dirname(exporters.__file__) + "/../..",
        env=env,
        check=True,
        capture_output=True,
    )
    assert len(read_jsonl(out)) == 300
    assert sorted(p.name for p in out.parent.iterdir()) == ["prefs.README.md", "prefs.jsonl"]
