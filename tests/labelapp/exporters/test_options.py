"""One declaration per export option: the command's flags, the API, the manage page's form and the dataset
card's command all take every option, from the same declaration."""

import shlex
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from labelapp.errors import ApplicationError
from labelapp.exporters import FORMATS, kto
from labelapp.exporters.columns import Shape
from labelapp.exporters.options import CAMPAIGN_KIND, OPTIONS, ExportOptions, export_options_parse
from labelapp.exporters.pseudonyms import labeller_pseudonym
from labelapp.management.commands.export_dataset import Command
from labelapp.models import Campaign, Export
from labelapp.selectors.exports import ExportPlan
from labelapp.selectors.records import Selection

# A value other than the default for every option: a new option needs one here.
ASKED = {
    "min_labels": 2,
    "min_agreement": 0.5,
    "exclude_labellers": ("rater1", "rater2"),
    "exclude_below_gold_accuracy": 0.8,
    "include_ties": True,
    "generators": ("fake-model",),
    "since": "2026-11-01",
    "test_fraction": 0.2,
    "seed": 3,
    "labels": "source",
    "kto_from": ("pairwise",),
    "expand_pairs": True,
    "judges": ("big",),
    "judge_inconsistent": True,
}
# Source labels have no labeller: an export asking for them and for labellers' options at once is refused.
HUMAN_LABELS = {"labels": "human"}


def test_every_option_has_a_value_asked_here():
    assert set(ASKED) == {option.name for option in OPTIONS}
    assert all(ASKED[option.name] != option.default for option in OPTIONS)


def plan_of(campaign: Campaign, options: ExportOptions, raters) -> ExportPlan:
    return ExportPlan(
        campaign=campaign,
        format=FORMATS["kto"],
        options=options,
        out=Path("/data/prefs.jsonl"),
        selection=Selection(),
        shape=Shape(conversational=False, kind=campaign.kind),
        excluded={},
        labeller_ids={rater.username: rater.pk for rater in raters},
    )


def flags_parsed(command: str) -> ExportOptions:
    """The options the export_dataset command line gives (its own parser, as a shell splits the line)."""
    words = shlex.split(command)
    assert words[:3] == ["python", "manage.py", "export_dataset"]
    parsed = vars(Command().create_parser("manage.py", "export_dataset").parse_args(words[3:]))
    return export_options_parse({option.name: parsed[option.name] for option in OPTIONS})


def test_the_cards_command_gives_back_every_option_asked(campaign, raters):
    asked = ExportOptions(**ASKED)
    plan = plan_of(campaign, asked, raters)

    assert flags_parsed(plan.command(redact=False)) == asked
    assert flags_parsed(plan.command(redact=True)) == ExportOptions(
        **{**ASKED, "exclude_labellers": tuple(labeller_pseudonym(r.pk) for r in raters[1:3])}
    )
    assert "rater1" not in plan.command(redact=True)
    assert flags_parsed(plan_of(campaign, ExportOptions(), raters).command(redact=False)) == ExportOptions()


def test_the_api_takes_every_option(campaign, generator, raters, staff, settings, tmp_path):
    settings.LABELAPP_EXPORT_DIR = tmp_path
    client = APIClient()
    client.force_authenticate(staff)
    json_options = {name: list(value) if isinstance(value, tuple) else value for name, value in ASKED.items()}
    del json_options["expand_pairs"]  # a ranking campaign's option: refused for this pairwise one
    del json_options["judges"], json_options["judge_inconsistent"]  # --labels judge's: refused with human
    json_options.update(HUMAN_LABELS)
    response = client.post(
        "/api/v1/campaigns/prefs/exports/", {"format": "kto", "options": json_options}, format="json"
    )
    assert response.status_code == 202, response.json()
    assert Export.objects.get().options == {
        **json_options,
        "expand_pairs": False,
        "judges": [],
        "judge_inconsistent": False,
    }

    refused = client.post(
        "/api/v1/campaigns/prefs/exports/",
        {"format": "kto", "options": {**json_options, "labels": "source"}},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["extra"] == {"field": "exclude_labellers"}


def form_fields(page: str) -> set[str]:
    start = page.index('action="/manage/prefs/export/"')
    form = page[start : page.index("</form>", start)]
    return {option.name for option in OPTIONS if f'name="{option.name}"' in form}


@pytest.mark.parametrize(
    ("kind", "not_asked"),
    [
        ("pairwise", {"expand_pairs"}),  # ranking format only
        ("ranking", {"include_ties"}),  # pairwise campaigns only (a ranking's pairs have no ties)
        ("setwise", {"include_ties", "expand_pairs"}),
    ],
)
def test_the_manage_page_asks_for_each_option_that_applies_to_the_campaign(
    campaign, staff, client_for, kind, not_asked
):
    campaign.kind = kind
    campaign.save()
    page = client_for(staff).get("/manage/prefs/").content.decode()
    on_the_form = {option.name for option in OPTIONS if option.form != CAMPAIGN_KIND} - not_asked
    assert form_fields(page) == on_the_form


def test_the_manage_page_form_posts_every_option_it_asks_for(
    campaign, generator, raters, staff, client_for, settings, tmp_path
):
    settings.LABELAPP_EXPORT_DIR = tmp_path
    posted = {
        "format": "kto",
        "min_labels": "2",
        "min_agreement": "0.5",
        "exclude_labellers": "rater1, rater2",
        "exclude_below_gold_accuracy": "0.8",
        "include_ties": "on",
        "generators": ["fake-model"],
        "since": "2026-11-01",
        "test_fraction": "0.2",
        "seed": "3",
    }
    page = client_for(staff).post("/manage/prefs/export/", posted, follow=True).content.decode()

    assert "Queued export" in page
    expected = {name: list(value) if isinstance(value, tuple) else value for name, value in ASKED.items()}
    # kto_from is not asked: a kto export reads the campaign's own kind; the judge options go with
    # --labels judge only
    assert Export.objects.get().options == {
        **expected,
        **HUMAN_LABELS,
        "expand_pairs": False,
        "judges": [],
        "judge_inconsistent": False,
    }


def test_kto_sources_are_the_choices_of_kto_from():
    (kto_from,) = [option for option in OPTIONS if option.name == "kto_from"]
    assert set(kto_from.choices) == set(kto.SOURCES) == set(kto.FORMAT.kinds)
    with pytest.raises(ApplicationError, match="Field 'kto_from' takes pairwise, correctness, not ranking"):
        export_options_parse({"kto_from": ["ranking"]})
