"""A small pairwise campaign whose leaderboard and judge agreement can be counted by hand.

Generators: "small" at temperature 0.3 and 1.0, "big" at 0.7. Prompts 0-4 each have three items,
labelled by two labellers (canonical "a" = the first candidate listed):

    item                    prompts 0-2     prompt 3        prompt 4
    big vs small@0.3        a, a            a, a            b, b   (small wins)
    big vs small@1.0        a, a            a, a            a, a
    small@0.3 vs small@1.0  a, a            tie, tie        a, b   (split: no majority)

Prompt 5: a gold item (big vs small@1.0, both labellers "b"): never counted. Prompt 6: one unlabelled
item (big vs small@0.3). Every other item shows its first candidate on the right (position B).

By generator: big beat small 9 times and lost once; the 4 decided small-vs-small items compare small with
itself. By config: 14 comparisons, one tie.
"""

import re
from dataclasses import dataclass

from django.contrib.auth.models import User

import inference
from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Label, Prompt

PARAMS = {"top_p": 1.0, "top_k": None, "max_new_tokens": 64, "stop": [], "seed": 11, "n": 1}


@dataclass(frozen=True)
class Seeded:
    campaign: Campaign
    small: Generator
    big: Generator
    items: dict[tuple[int, str], Item]  # (prompt number, "big-small03" | "big-small10" | "small03-small10")


def _candidate(prompt: Prompt, generator: Generator, temperature: float, number: int) -> Candidate:
    return Candidate.objects.create(
        prompt=prompt,
        generator=generator,
        params={**PARAMS, "temperature": temperature, "seed": 11 + number},
        params_key=f"{generator.name}-{temperature}-{number}",
        text=f"{generator.name} at {temperature} answers question {number}",
    )


def _item(campaign: Campaign, prompt: Prompt, first: Candidate, second: Candidate, *, flip: bool, gold=False):
    item = Item.objects.create(campaign=campaign, kind="pairwise", prompt=prompt, is_gold=gold)
    ItemCandidate.objects.create(item=item, candidate=first, index=0, position=1 if flip else 0)
    ItemCandidate.objects.create(item=item, candidate=second, index=1, position=0 if flip else 1)
    return item


def _labels(item: Item, labellers: list[User], choices: list[str]) -> None:
    for labeller, choice in zip(labellers, choices, strict=True):
        Label.objects.create(
            item=item,
            labeller=labeller,
            value={"choice": choice, "strength": None, "rationale": ""},
            idempotency_key=f"{item.pk}-{labeller.pk}",
        )


OUTCOMES = {
    "big-small03": {0: "aa", 1: "aa", 2: "aa", 3: "aa", 4: "bb"},
    "big-small10": {0: "aa", 1: "aa", 2: "aa", 3: "aa", 4: "aa"},
    "small03-small10": {0: "aa", 1: "aa", 2: "aa", 3: ["tie", "tie"], 4: "ab"},
}


def leaderboard_campaign(campaign: Campaign, labellers: list[User]) -> Seeded:
    small = Generator.objects.create(name="small", model="embedded")
    big = Generator.objects.create(name="big", model="embedded")
    items: dict[tuple[int, str], Item] = {}
    flip = False
    for number in range(7):
        prompt = Prompt.objects.create(campaign=campaign, text=f"Question {number}?")
        small03 = _candidate(prompt, small, 0.3, number)
        small10 = _candidate(prompt, small, 1.0, number)
        big07 = _candidate(prompt, big, 0.7, number)
        pairs = {
            "big-small03": (big07, small03),
            "big-small10": (big07, small10),
            "small03-small10": (small03, small10),
        }
        if number == 5:
            gold = _item(campaign, prompt, big07, small10, flip=False, gold=True)
            _labels(gold, labellers, ["b", "b"])
            continue
        if number == 6:
            items[(number, "big-small03")] = _item(campaign, prompt, big07, small03, flip=True)
            continue
        for name, (first, second) in pairs.items():
            flip = not flip
            item = _item(campaign, prompt, first, second, flip=flip)
            _labels(item, labellers, list(OUTCOMES[name][number]))
            items[(number, name)] = item
    return Seeded(campaign=campaign, small=small, big=big, items=items)


class ScriptedJudge:
    """Prefers whichever shown response "big" wrote, calls small-vs-small a tie, and rambles on question 2."""

    def __init__(self) -> None:
        self.requests: list = []

    def __call__(self, *, spec, requests, params, on_progress=None):
        self.requests.extend(requests)
        completions = []
        for index, request in enumerate(requests):
            content = request.messages[0]["content"]
            a = re.search(r"\[Response A\]\n(.*)\n\n\[Response B\]", content).group(1)
            b = re.search(r"\[Response B\]\n(.*)\n\nWhich", content).group(1)
            if "question 2" in content:
                text = "I think A is better."
            elif a.startswith("big"):
                text = "Verdict: A"
            elif b.startswith("big"):
                text = " Verdict: B\n"
            else:
                text = "Verdict: tie"
            completions.append(
                inference.Completion(index, 0, text, f"<chat>{content}", "eos", 3, -1.0, -0.3, 0)
            )
        return completions
