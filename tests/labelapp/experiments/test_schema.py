from pathlib import Path

import pytest

from labelapp.errors import ApplicationError
from labelapp.experiments.schema import CHOICES, GenerateStep, ImportStep, experiment_parse
from labelapp.models import CampaignKind, GenerationStrategy, GeneratorBackend, PromptFormat

SMALLEST = """
[[campaign]]
name = "hh"
kind = "pairwise"
labels_per_item = 1
"""


def parse(text: str):
    return experiment_parse(text=text, file="exp.toml", folder=Path("/data"))


def test_the_smallest_file_declares_one_campaign():
    experiment = parse(SMALLEST)
    (campaign,) = experiment.campaigns
    assert (campaign.name, campaign.kind, campaign.labels_per_item) == ("hh", "pairwise", 1)
    assert campaign.labellers is None and not experiment.generators and not experiment.steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SMALLEST + "colour = 'red'\n",
            "exp.toml: [[campaign]] 1 ('hh'), key 'colour': unknown key; allowed: name, kind,",
        ),
        (
            SMALLEST.replace("labels_per_item = 1", "labels_per_item = '1'"),
            "exp.toml: [[campaign]] 1 ('hh'), key 'labels_per_item': must be an integer, not a text",
        ),
        (
            SMALLEST.replace("pairwise", "pairs"),
            "key 'kind': 'pairs' is not one of pairwise, correctness,",
        ),
        (SMALLEST + "skills = 'math'\n", "key 'skills': must be a list of texts, not a text"),
        ("[[campaign]]\nkind = 'pairwise'\n", "exp.toml: [[campaign]] 1, key 'name': is required"),
        ("[campaign]\nname = 'hh'\n", "exp.toml: 'campaign' must be written as [[campaign]] tables"),
        ("[[experiment]]\nname = 'x'\n", "exp.toml: unknown key 'experiment'; allowed: description,"),
        ("name = 'x'\n[[campaign]\n", "exp.toml: not valid TOML"),
        ("description = 'nothing'\n", "exp.toml: declares nothing"),
        (
            "[[generator]]\nname = 'g'\nmodel = 'embedded'\nparams = {temprature = 0.5}\n",
            "exp.toml: [[generator]] 1 ('g'), key 'params': unknown sampling parameter 'temprature'",
        ),
        (
            "[[generator]]\nname = 'g'\nmodel = 'embedded'\nprompt_format = 'base'\n",
            "key 'prompt_format': 'base' is not one of chat, raw",
        ),
        (SMALLEST + SMALLEST, "[[campaign]] 2 ('hh'), key 'name': the name is declared already by"),
        (
            "[[step]]\naction = 'train'\ncampaign = 'hh'\n",
            "exp.toml: [[step]] 1, key 'action': 'train'; a step's action is one of import, generate,",
        ),
        (
            "[[step]]\naction = 'generate'\ncampaign = 'hh'\ngenerators = ['g']\ntemperatures = 0.7\n",
            "[[step]] 1, key 'temperatures': must be a list of numbers, not a number",
        ),
        (
            "[[step]]\naction = 'build_items'\ncampaign = 'hh'\npairing = 'all'\n",
            "key 'pairing': 'all' is not one of within-prompt, answer-vs-revision, cross-generator",
        ),
        ("[[step]]\naction = 'generate'\ncampaign = 'hh'\n", "[[step]] 1, key 'generators': is required"),
        (
            "[[step]]\naction = 'judge'\ncampaign = 'hh'\ngenerator = 'g'\nn = 2\n",
            "[[step]] 1, key 'n': unknown key; allowed: campaign, generator, limit",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_file_table_and_key(text, message):
    with pytest.raises(ApplicationError) as refused:
        parse(text)
    assert message in refused.value.message


def test_steps_read_in_order_with_files_relative_to_the_experiment_file():
    experiment = parse(
        SMALLEST
        + """
[[step]]
action = "import"
campaign = "hh"
file = "prompts.jsonl"

[[step]]
action = "generate"
campaign = "hh"
generators = ["a", "b"]
temperatures = [0.3, 1]
"""
    )
    first, second = experiment.steps
    assert isinstance(first, ImportStep) and first.file == Path("/data/prompts.jsonl")
    assert isinstance(second, GenerateStep) and second.temperatures == [0.3, 1] and second.seed == 0


def test_the_choices_read_without_the_models_are_the_models_choices():
    assert set(CHOICES["kind"]) == set(CampaignKind.values)
    assert set(CHOICES["backend"]) == set(GeneratorBackend.values)
    assert set(CHOICES["prompt_format"]) == set(PromptFormat.values)
    assert set(CHOICES["strategy"]) == set(GenerationStrategy.values)
