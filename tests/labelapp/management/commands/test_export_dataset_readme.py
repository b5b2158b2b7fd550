"""Every `export_dataset` example the README shows runs on the demo that `make run` seeds, once labelled.

The examples name the demo's own campaigns, one per task kind: `demo` (pairwise), `demo-correctness`,
`demo-coherence`, `demo-setwise` and `demo-ranking`. So each example runs against the campaign it names
(an example for a ranking campaign names demo-ranking); only its `--out` is moved into a temporary folder.
An example naming a campaign the demo lacks fails here rather than on a reader's machine. Options shown in
brackets are optional: such an example runs without them and with them.
"""

import re
import shlex
from pathlib import Path

import pytest
from datasets import Dataset, Json, load_dataset, load_from_disk
from django.core.management import CommandError, call_command

import inference
from labelapp.exporters import FORMATS
from labelapp.exporters.options import OPTIONS
from labelapp.models import Campaign, Export, Generator, JobStatus
from labelapp.services.demo import DEMO_KIND_CAMPAIGNS, DEMO_LABELLERS, EMBEDDED_GENERATOR, demo_seed
from labelapp.services.judge import items_judge
from labelapp.services.labellers import user_upsert
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next

README = Path(__file__).resolve().parents[4] / "README.md"
COMMAND = "python manage.py export_dataset"
SYNOPSIS = f"{COMMAND} --campaign demo --format FORMAT --out PATH [options]"  # the form, not an example
DEMO_CAMPAIGNS = {"demo", *(demo.name for demo in DEMO_KIND_CAMPAIGNS)}
# What two labellers agree on for every item, as a labeller submits it (shown positions).
LABELS = {
    "pairwise": {"choice": "a", "strength": "clear"},
    "correctness": {"verdict": "correct", "confidence": "certain"},
    "coherence": {"verdict": "coherent"},
    "setwise": {"diversity": 3},
    "ranking": {"order": "A,B,C"},
}


def readme_commands() -> list[str]:
    """Each `export_dataset` command of the README's code blocks, continuation lines joined."""
    commands, lines = [], iter(README.read_text().splitlines())
    for line in lines:
        if line.startswith(COMMAND):
            while line.endswith("\\"):
                line = line[:-1].rstrip() + " " + next(lines).strip()
            commands.append(line)
    return commands


def readme_formats() -> set[str]:
    """The formats the README's `--format` table lists."""
    return set(re.findall(r"^\| `([a-z-]+)` \|", README.read_text(), re.MULTILINE)) & set(FORMATS)


def examples() -> list[str]:
    """The runnable examples: optional parts in brackets left out, and kept."""
    runs = []
    for command in readme_commands():
        if command == SYNOPSIS:
            continue
        runs.append(re.sub(r"\s*\[[^]]*\]", "", command))
        if "[" in command:
            runs.append(command.replace("[", "").replace("]", ""))
    return runs


def judge_by_text(*, spec, requests, params, on_progress=None):
    """An AI judge preferring the answer whose text sorts first, wherever it is shown: order-consistent."""
    completions = []
    for index, request in enumerate(requests):
        a, b = re.findall(r"\[Response [AB]\]\n(.*)", request.messages[0]["content"])
        text = "Verdict: A" if a < b else "Verdict: B"
        completions.append(inference.Completion(index, 0, text, "", "eos", 3, -0.1, None, 0))
    return completions


@pytest.fixture
def labelled_demo(db, fake_generate, monkeypatch):
    """The demo as `make run` seeds it (with the test suite's fake generation), every item labelled alike
    by two labellers through the labelling services, and the pairwise demo judged by its model (for
    `--labels judge`)."""
    demo_seed(password="demo password")
    monkeypatch.setattr(inference, "generate", judge_by_text)
    items_judge(
        campaign=Campaign.objects.get(name="demo"), generator=Generator.objects.get(name=EMBEDDED_GENERATOR)
    )
    for campaign in Campaign.objects.filter(name__in=DEMO_CAMPAIGNS):
        for name in DEMO_LABELLERS[:2]:
            labeller = user_upsert(username=name, password="demo password")
            while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
                label_submit(
                    labeller=labeller,
                    campaign=campaign.name,
                    item_id=item.pk,
                    value=LABELS[campaign.kind],
                    idempotency_key=f"{item.pk}-{name}",
                    lease_next=False,
                )


def exported_datasets(export: Export) -> list[Dataset]:
    """Every file (or split of a folder) the export wrote, read back with `datasets` as a user would."""
    read: list[Dataset] = []
    for written in map(Path, export.files):
        if written.suffix in {".jsonl", ".parquet"}:
            kind = "json" if written.suffix == ".jsonl" else "parquet"
            read.append(load_dataset(kind, data_files=str(written), split="train"))
        elif written.is_dir():
            read.extend(load_from_disk(str(written)).values())
    return read


def test_the_readme_shows_an_example_of_every_format_it_lists():
    shown = {shlex.split(command)[shlex.split(command).index("--format") + 1] for command in examples()}
    assert readme_formats() - shown == set()
    assert SYNOPSIS in readme_commands()


def test_the_readme_options_table_lists_every_export_option():
    text = README.read_text()
    table = text[text.index("| option | effect |") :].split("\n\n", 1)[0]
    assert [flag for option in OPTIONS for flag in option.flags if f"`{flag}" not in table] == []


def example_run(example: str, folder: Path) -> None:
    """Run one README example as `manage.py` would (a CommandError is its exit status 1), its output in
    `folder`; check that `datasets` reads what it wrote, rows and all."""
    words = shlex.split(example)[3:]  # after "python manage.py export_dataset"
    campaign = words[words.index("--campaign") + 1]
    assert campaign in DEMO_CAMPAIGNS, "it names a campaign the demo does not have"
    out = words.index("--out") + 1
    words[out] = str(folder / words[out])

    call_command("export_dataset", *words, "--no-progress")

    export = Export.objects.latest("pk")
    assert (export.campaign.name, export.status) == (campaign, JobStatus.SUCCEEDED)
    read = exported_datasets(export)
    assert export.rows > 0 and sum(map(len, read)) == export.rows
    # One type per column (`datasets` reads a column of mixed strings and lists as Json): what Parquet
    # and TRL's trainers need.
    assert [
        name for dataset in read for name, type in dataset.features.items() if isinstance(type, Json)
    ] == []


def test_every_readme_export_example_runs_on_the_labelled_demo(labelled_demo, tmp_path):
    failures = {}
    for number, example in enumerate(examples()):
        try:
            example_run(example, tmp_path / str(number))
        except (CommandError, AssertionError) as failure:
            failures[example] = f"{type(failure).__name__}: {failure}"
    assert failures == {}
    assert len(examples()) >= 10
