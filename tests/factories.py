from labelapp.models import Campaign, Candidate, Generator, Item, Prompt


def candidates_add(prompt: Prompt, generator: Generator, texts: list[str]) -> list[Candidate]:
    return [
        Candidate.objects.create(prompt=prompt, generator=generator, text=text, sample_index=index)
        for index, text in enumerate(texts)
    ]


def item_factory(campaign: Campaign) -> Item:
    """A pairwise item of a new prompt, with no candidates: for tests that only need an item to exist."""
    prompt = Prompt.objects.create(campaign=campaign, text="A question?")
    return Item.objects.create(campaign=campaign, kind="pairwise", prompt=prompt)
