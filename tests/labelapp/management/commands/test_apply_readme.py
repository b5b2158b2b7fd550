"""Every recipe of `experiments/` runs by the `apply` command the README gives, on a fresh database, with
the embedded model; applied again it changes nothing; once its items are labelled (through the label
service, as a labeller's submit), each `report` command the README gives after it answers with numbers.

The README is the source: a recipe it shows that fails here fails before a reader runs it, and a recipe
file it does not show fails `test_the_readme_shows_every_recipe`.
"""

import json
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

from labelapp.models import Campaign
from labelapp.services.labels import label_submit
from labelapp.services.leases import lease_next

ROOT = Path(__file__).resolve().parents[4]
README = ROOT / "README.md"
APPLY = "python manage.py apply experiments/"
REPORT = "python manage.py report "
# What a labeller submits for every item (shown positions): verdicts that make each report's rows.
LABELS = {
    "pairwise": {"choice": "a", "strength": "clear"},
    "correctness": {"verdict": "incorrect", "confidence": "certain"},
    "coherence": {"verdict": "coherent"},
    "setwise": {"diversity": 3},
}


def readme_recipes() -> dict[str, list[str]]:
    """Each recipe the README applies -> the report commands it gives after it, until the next recipe."""
    recipes: dict[str, list[str]] = {}
    recipe = None
    for line in README.read_text().splitlines():
        if line.startswith(APPLY):
            recipe = line.removeprefix("python manage.py apply ").strip()
            recipes[recipe] = []
        elif line.startswith(REPORT) and recipe is not None:
            recipes[recipe].append(line)
        elif line.startswith("```"):
            recipe = None
    return recipes


def test_the_readme_shows_every_recipe():
    shown = set(readme_recipes())
    assert shown == {f"experiments/{path.name}" for path in (ROOT / "experiments").glob("*.toml")}
    assert all(readme_recipes().values()), "each recipe needs a report command that answers its question"


def answers(kind: str, report: dict) -> bool:
    """Whether the report says something: comparisons, verdicts joined, rated sets, judged items."""
    if kind == "leaderboard":
        # By config: answers against revisions are one generator, two configs.
        return report["by_config"]["comparisons"] > 0 and len(report["by_config"]["players"]) >= 2
    if kind == "coherent-but-wrong":
        return sum(row["judged"] for row in report["generators"]) > 0
    if kind == "diversity":
        return report["sets_judged"] > 0 and any(
            g["human_diversity"] is not None for g in report["metrics"]["groups"]
        )
    if kind == "judge":
        return bool(report["judges"])
    raise AssertionError(f"no check for the {kind} report")


def label_everything(labeller) -> int:
    labelled = 0
    for campaign in Campaign.objects.all():
        while (item := lease_next(labeller=labeller, campaign=campaign)) is not None:
            value = LABELS[campaign.kind]
            label_submit(
                labeller=labeller,
                campaign=campaign.name,
                item_id=item.pk,
                value=value,
                idempotency_key=f"k{item.pk}",
                lease_next=False,
            )
            labelled += 1
    return labelled


def run(command: str, capsys) -> str:
    call_command(*shlex.split(command)[2:])
    return capsys.readouterr().out


@pytest.mark.embedded_model
@pytest.mark.parametrize("recipe", sorted(readme_recipes()))
def test_a_recipe_applies_once_and_its_report_answers_once_labelled(
    recipe, labeller, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(ROOT)  # the README's paths are the repository's
    first = run(f"python manage.py apply {recipe}", capsys)
    assert f"Applied {Path(recipe).name}." in first and "created" in first

    again = run(f"python manage.py apply {recipe}", capsys).splitlines()
    assert all(line.startswith("unchanged") for line in again[:-1]), again
    assert again[-1] == f"{Path(recipe).name}: nothing to change."

    assert label_everything(labeller) > 0
    for command in readme_recipes()[recipe]:
        words = shlex.split(command)
        kind = words[words.index("--kind") + 1]
        out = tmp_path / f"{kind}.json"
        words[words.index("--out") + 1] = str(out)
        call_command(*words[2:])
        assert answers(kind, json.loads(out.read_text())), f"{command}: {out.read_text()[:2000]}"
