"""The demo campaign that `make run` shows: real prompts, real candidates from the embedded model, items.

The embedded model answers each prompt twice over, as two generators: through its chat template, and
through a raw "Q: ... A:" template as a base model is prompted. So the demo campaigns compare the same
weights prompted two ways (base vs instruct), and the reports that compare generators (leaderboard,
coherent-but-wrong, diversity) have two rows.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from labelapp.importers.records import record_file_open
from labelapp.kinds.base import BuildOptions
from labelapp.models import Campaign, CampaignKind, Candidate, Generator, PromptFormat
from labelapp.services.generation import generation_job_run, generation_jobs_create, sampling_params_for
from labelapp.services.imports import dataset_file_import
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert

DEMO_PROMPTS = Path(__file__).resolve().parent.parent / "demo" / "prompts.jsonl"
DEMO_LABELLERS = ("labeller1", "labeller2", "labeller3")
EMBEDDED_GENERATOR = "smollm2-135m"
RAW_GENERATOR = "smollm2-135m-raw"  # the same model through a "Q: ... A:" template, as a base model
RAW_TEMPLATE = "Q: {prompt}\nA:"
# Where the model would go on to ask itself the next question, or to list other answers as a quiz does.
RAW_STOP = ("\nQ:", "\nB:")
DEMO_INSTRUCTIONS = """\
Read the prompt, then both responses.

* Press **1** if response A is better, **2** if B is better, **3** for a tie, **4** if both are bad.
* Optionally say how much better: **q** slight, **w** clear, **e** strong.
* Optionally explain why (press **r** to type), then **Enter** to submit.
* Press **s** to skip a pair you cannot judge (say why if you like).

Judge helpfulness and correctness first, style second.
"""


# Six answers of a prompt make 15 pairs; three of them, drawn at random, keep the demo short.
DEMO_PAIRWISE_OPTIONS = BuildOptions(max_per_prompt=3)


@dataclass(frozen=True)
class DemoKindCampaign:
    """A demo campaign of another task kind, judging the demo campaign's own candidates."""

    name: str
    kind: str
    title: str
    instructions: str
    options: BuildOptions = BuildOptions()
    settings: dict[str, Any] = field(default_factory=dict)


DEMO_KIND_CAMPAIGNS = (
    DemoKindCampaign(
        "demo-correctness",
        CampaignKind.CORRECTNESS,
        "Demo: is the answer correct?",
        "Judge whether the answer is **correct**; the reference answer is shown when the prompt has one.\n\n"
        "* **1** correct, **2** incorrect, **3** can't tell; **q**/**w**/**e** how sure you are.\n"
        "* **x** then a number for the kind of error; **r** to write a critique; **Enter** to submit.",
        settings={"show_reference_answer": True},
    ),
    DemoKindCampaign(
        "demo-coherence",
        CampaignKind.COHERENCE,
        "Demo: is the answer coherent?",
        "Judge only whether the answer **makes sense**, not whether it is true.\n\n"
        "* **1** coherent, **2** incoherent; **x** then a number for what is wrong; **Enter** to submit.",
    ),
    DemoKindCampaign(
        "demo-setwise",
        CampaignKind.SETWISE,
        "Demo: how diverse are these samples?",
        "Rate how **different** the samples are from each other, **1** (all the same) to **5** (all different).\n\n"
        "* **d** n m: sample n says the same as sample m; **b** n best, **w** n worst; **Enter** to submit.",
        options=BuildOptions(per_item=3),
    ),
    DemoKindCampaign(
        "demo-ranking",
        CampaignKind.RANKING,
        "Demo: rank the answers",
        "Order the answers **best first**: press a response's number to give it the next rank, or drag.\n\n"
        "* **Backspace** undoes, **x** starts again, **f** if all are flawed; **Enter** to submit.",
        options=BuildOptions(per_item=3),
    ),
)


@dataclass(frozen=True)
class DemoSeeded:
    campaign: Campaign
    prompts_imported: int
    candidates_generated: int
    items_created: int  # in every demo campaign together


def embedded_generator_get_or_create() -> Generator:
    generator, _ = Generator.objects.get_or_create(
        name=EMBEDDED_GENERATOR,
        defaults={
            "model": "embedded",
            "default_params": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": 96},
        },
    )
    return generator


def raw_generator_get_or_create() -> Generator:
    generator, _ = Generator.objects.get_or_create(
        name=RAW_GENERATOR,
        defaults={
            "model": "embedded",
            "prompt_format": PromptFormat.RAW,
            "raw_template": RAW_TEMPLATE,
            "default_params": {
                "temperature": 0.8,
                "top_p": 0.95,
                "max_new_tokens": 96,
                "stop": list(RAW_STOP),
            },
        },
    )
    return generator


def _answers_generate(
    campaign: Campaign, generator: Generator, *, samples_per_prompt: int, max_new_tokens: int
) -> int:
    """The generator's answers to the demo prompts, once: none if it has answered them already."""
    if Candidate.objects.filter(prompt__campaign=campaign, generator=generator).exists():
        return 0
    params = sampling_params_for(
        generator=generator,
        overrides={"max_new_tokens": max_new_tokens, "n": samples_per_prompt, "seed": 1234},
    )
    (job,) = generation_jobs_create(campaign=campaign, generator=generator, params_list=[params])
    generation_job_run(job_id=job.pk)
    return job.candidates.count()


def demo_seed(*, password: str, samples_per_prompt: int = 3, max_new_tokens: int = 96) -> DemoSeeded:
    """Idempotent: users get the password again; prompts, candidates and items are made only once."""
    with transaction.atomic():
        user_upsert(username="admin", password=password, staff=True)
        for username in DEMO_LABELLERS:
            user_upsert(username=username, password=password)
        campaign, _ = Campaign.objects.get_or_create(
            name="demo",
            defaults={
                "title": "Demo: which response is better?",
                "kind": CampaignKind.PAIRWISE,
                "labels_per_item": 2,
                "instructions": DEMO_INSTRUCTIONS,
            },
        )
        generators = [embedded_generator_get_or_create(), raw_generator_get_or_create()]
        imported = 0
        if not campaign.prompts.exists():
            file = record_file_open(DEMO_PROMPTS)
            imported = dataset_file_import(campaign=campaign, format="candidates", file=file).prompts.new
    generated = sum(
        _answers_generate(
            campaign, generator, samples_per_prompt=samples_per_prompt, max_new_tokens=max_new_tokens
        )
        for generator in generators
    )
    built = items_build(
        campaign=campaign, kind=CampaignKind.PAIRWISE, options=DEMO_PAIRWISE_OPTIONS, seed=1234
    ).created
    for demo in DEMO_KIND_CAMPAIGNS:
        other, _ = Campaign.objects.get_or_create(
            name=demo.name,
            defaults={
                "title": demo.title,
                "kind": demo.kind,
                "labels_per_item": 2,
                "instructions": demo.instructions,
            }
            | demo.settings,
        )
        built += items_build(
            campaign=other, kind=demo.kind, options=demo.options, seed=1234, source_campaign=campaign
        ).created
    return DemoSeeded(campaign, imported, generated, built)
