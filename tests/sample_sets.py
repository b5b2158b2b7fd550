"""Campaigns and samples for the set-wise and set-vs-set kinds."""

from labelapp.models import Campaign, Candidate, Generator, Prompt


def set_campaign(kind: str, *, name: str = "sets", labels_per_item: int = 2) -> Campaign:
    return Campaign.objects.create(
        name=name, title="Sets", kind=kind, labels_per_item=labels_per_item, instructions="Judge the *set*."
    )


def samples_add(
    prompt: Prompt, generator: Generator, texts: list[str], *, params_key: str = "t1"
) -> list[Candidate]:
    """Samples of one generator with one sampling setting, numbered after any it already has."""
    first = Candidate.objects.filter(prompt=prompt, generator=generator, params_key=params_key).count()
    return [
        Candidate.objects.create(
            prompt=prompt, generator=generator, text=text, params_key=params_key, sample_index=first + number
        )
        for number, text in enumerate(texts)
    ]
