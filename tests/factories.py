from labelapp.models import Candidate, Generator, Prompt


def candidates_add(prompt: Prompt, generator: Generator, texts: list[str]) -> list[Candidate]:
    return [
        Candidate.objects.create(prompt=prompt, generator=generator, text=text, sample_index=index)
        for index, text in enumerate(texts)
    ]
