"""The demo campaign that `make run` shows: real prompts, real candidates from the embedded model, items."""

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

import inference
from labelapp.models import Campaign, CampaignKind, Candidate, Generator
from labelapp.services.generation import generation_job_run, generation_jobs_create
from labelapp.services.items import items_build
from labelapp.services.labellers import user_upsert
from labelapp.services.prompts import prompt_import, prompt_rows_parse

DEMO_PROMPTS = Path(__file__).resolve().parent.parent / "demo" / "prompts.jsonl"
DEMO_LABELLERS = ("labeller1", "labeller2", "labeller3")
EMBEDDED_GENERATOR = "smollm2-135m"
DEMO_INSTRUCTIONS = """\
Read the prompt, then both responses.

* Press **1** if response A is better, **2** if B is better, **3** for a tie, **4** if both are bad.
* Optionally say how much better: **q** slight, **w** clear, **e** strong.
* Optionally explain why (press **r** to type), then **Enter** to submit.
* Press **s** to skip a pair you cannot judge (say why if you like).

Judge helpfulness and correctness first, style second.
"""


@dataclass(frozen=True)
class DemoSeeded:
    campaign: Campaign
    prompts_imported: int
    candidates_generated: int
    items_created: int


def embedded_generator_get_or_create() -> Generator:
    generator, _ = Generator.objects.get_or_create(
        name=EMBEDDED_GENERATOR,
        defaults={
            "model": "embedded",
            "default_params": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": 96},
        },
    )
    return generator


def demo_seed(*, password: str, samples_per_prompt: int = 2, max_new_tokens: int = 96) -> DemoSeeded:
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
        generator = embedded_generator_get_or_create()
        imported = 0
        if not campaign.prompts.exists():
            rows = prompt_rows_parse(file_name=DEMO_PROMPTS.name, content=DEMO_PROMPTS.read_bytes())
            imported = len(prompt_import(campaign=campaign, rows=rows, source=DEMO_PROMPTS.name))
    generated = 0
    if not Candidate.objects.filter(prompt__campaign=campaign).exists():
        params = inference.SamplingParams(
            temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens, n=samples_per_prompt, seed=1234
        )
        (job,) = generation_jobs_create(campaign=campaign, generator=generator, params_list=[params])
        generation_job_run(job_id=job.pk)
        generated = job.candidates.count()
    built = items_build(campaign=campaign, kind=CampaignKind.PAIRWISE, seed=1234)
    return DemoSeeded(campaign, imported, generated, built.created)
