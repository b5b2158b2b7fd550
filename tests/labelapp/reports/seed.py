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

import hashlib
import math
import re
from dataclasses import dataclass

import numpy as np
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


# A correctness campaign ("facts") and a coherence campaign built from its candidates ("fluency"), two
# labellers each. Per answer: generator, text, the model's confidence exp(logprob_mean) (None: no logprobs),
# the two correctness labels (verdict, confidence, critique) and the two coherence verdicts.
#
#   small: purple (incoherent), 5 and 7 (coherent but wrong), 8 (correct), 10 (correctness and coherence
#          split: no verdict) -> judged 4: 1 incoherent, 2 coherent but wrong, 1 correct; 1 missing
#   big:   4 and 2 (correct), 9 (coherent but wrong), "8 8 8" (incoherent but correct, no logprobs)
#          -> judged 4: 1 incoherent, 1 coherent but wrong, 2 correct
#
# Prompt 5 is a gold item (gold verdict correct): labeller 1 says correct (certain), labeller 2 incorrect
# (probably). Only labeller 1 is ever "certain" (and "probably" once); labeller 2 says "probably", and
# "guessing" on the split answer.
FACTS = [
    (
        "small",
        0,
        "2 + 2 is a purple banana.",
        0.32,
        [("incorrect", "certain"), ("incorrect", "probably")],
        "ii",
    ),
    (
        "small",
        1,
        "1 + 1 = 5.",
        0.85,
        [("incorrect", "certain", "The sum is 2, not 5."), ("incorrect", "probably", "")],
        "cc",
    ),
    ("small", 2, "3 + 3 = 7.", 0.91, [("incorrect", "probably"), ("incorrect", "probably")], "cc"),
    ("small", 3, "4 + 4 = 8.", 0.95, [("correct", "certain"), ("correct", "probably")], "cc"),
    ("small", 4, "5 + 5 = 10.", 0.35, [("correct", "certain"), ("incorrect", "guessing")], "ci"),
    ("big", 0, "2 + 2 = 4.", 0.92, [("correct", "certain"), ("correct", "probably")], "cc"),
    ("big", 1, "1 + 1 = 2.", 0.81, [("correct", "certain"), ("correct", "probably")], "cc"),
    ("big", 2, "3 + 3 = 9.", 0.62, [("incorrect", "certain"), ("incorrect", "probably")], "cc"),
    ("big", 3, "Eight eight, 4 + 4 = 8 8 8.", None, [("correct", "certain"), ("correct", "probably")], "ii"),
]
COHERENCE = {
    "c": {"verdict": "coherent", "reasons": [], "note": ""},
    "i": {"verdict": "incoherent", "reasons": ["gibberish"], "note": ""},
}


@dataclass(frozen=True)
class SeededFacts:
    facts: Campaign
    fluency: Campaign
    candidates: dict[str, Candidate]  # by text


def _verdict_item(campaign: Campaign, kind: str, candidate: Candidate, *, gold_value=None) -> Item:
    item = Item.objects.create(
        campaign=campaign,
        kind=kind,
        prompt=candidate.prompt,
        is_gold=gold_value is not None,
        gold_value=gold_value,
    )
    ItemCandidate.objects.create(item=item, candidate=candidate, index=0, position=0)
    return item


def _label(item: Item, labeller: User, value: dict) -> None:
    Label.objects.create(
        item=item, labeller=labeller, value=value, idempotency_key=f"{item.pk}-{labeller.pk}"
    )


def _correctness_value(given: tuple) -> dict:
    verdict, confidence, critique = (*given, "")[:3]
    category = "factual error" if verdict == "incorrect" else None
    return {"verdict": verdict, "confidence": confidence, "error_category": category, "critique": critique}


def facts_campaigns(labellers: list[User]) -> SeededFacts:
    facts = Campaign.objects.create(
        name="facts", title="Sums", kind="correctness", show_reference_answer=True
    )
    fluency = Campaign.objects.create(name="fluency", kind="coherence")
    generators = {
        name: Generator.objects.get_or_create(name=name, model="embedded")[0] for name in ("small", "big")
    }
    prompts = [
        Prompt.objects.create(campaign=facts, text=f"What is {n} + {n}?", reference_answer=str(2 * n))
        for n in (2, 1, 3, 4, 5, 6)
    ]
    candidates = {}
    for generator, number, text, confidence, correctness_labels, coherence_labels in FACTS:
        candidate = Candidate.objects.create(
            prompt=prompts[number],
            generator=generators[generator],
            text=text,
            params={"temperature": 0.7},
            logprob_mean=None if confidence is None else math.log(confidence),
        )
        candidates[text] = candidate
        graded = _verdict_item(facts, "correctness", candidate)
        read = _verdict_item(fluency, "coherence", candidate)
        for labeller, given, coherent in zip(labellers, correctness_labels, coherence_labels, strict=True):
            _label(graded, labeller, _correctness_value(given))
            _label(read, labeller, COHERENCE[coherent])
    gold_answer = Candidate.objects.create(
        prompt=prompts[5], generator=generators["small"], text="6 + 6 = 12."
    )
    gold = _verdict_item(facts, "correctness", gold_answer, gold_value={"verdict": "correct"})
    for labeller, given in zip(labellers, [("correct", "certain"), ("incorrect", "probably")], strict=True):
        _label(gold, labeller, _correctness_value(given))
    return SeededFacts(facts=facts, fluency=fluency, candidates=candidates)


class ScriptedCorrectnessJudge:
    """Calls an answer correct when it holds the reference answer, or mentions a banana; rambles on 3 + 3."""

    def __init__(self) -> None:
        self.requests: list = []

    def __call__(self, *, spec, requests, params, on_progress=None):
        self.requests.extend(requests)
        completions = []
        for index, request in enumerate(requests):
            content = request.messages[0]["content"]
            reference = re.search(r"\[Reference answer\]\n(.*)\n", content)
            answer = re.search(r"\[Answer\]\n(.*)\n", content).group(1)
            if "What is 3 + 3?" in content:
                text = "Let me think about it."
            elif (reference and reference.group(1) in answer) or "banana" in answer:
                text = "Verdict: correct"
            else:
                text = "Verdict: incorrect\n"
            completions.append(inference.Completion(index, 0, text, content, "eos", 3, -1.0, -0.3, 0))
        return completions


# A set-wise campaign ("sets") of three samples per set, two labellers rating each set's diversity:
#   prompt           small at 0.3                  small at 1.0          big at 0.7
#   0 capital        "Paris." x3 (collapsed) 1, 1  three different 4, 4  three different 3, 3
#   1 colour         three different 2, 3          three different 5, 4  one sentence x3 (collapsed) 1, 2
#   2 animal         -                             -                     three different, not rated
# and a gold item (never counted).
SETS = [
    ("small", 0.3, 0, ["Paris.", "Paris.", " Paris."], [1, 1]),
    (
        "small",
        1.0,
        0,
        ["Paris, of course.", "Lyon? No: Paris.", "France's capital is Paris, on the Seine."],
        [4, 4],
    ),
    ("big", 0.7, 0, ["Paris.", "The capital is Paris.", "It is Paris, the largest city."], [3, 3]),
    ("small", 0.3, 1, ["Blue.", "Blue, like the sky.", "Probably blue."], [2, 3]),
    ("small", 1.0, 1, ["Green as moss.", "Deep red.", "A pale violet, maybe lilac."], [5, 4]),
    ("big", 0.7, 1, ["My favourite colour is blue."] * 3, [1, 2]),
    ("big", 0.7, 2, ["A cat.", "An owl.", "Dogs, mostly."], None),
]
SET_PROMPTS = ["What is the capital of France?", "Name a colour.", "Name an animal."]


def setwise_campaign(labellers: list[User]) -> Campaign:
    campaign = Campaign.objects.create(name="sets", title="Samples", kind="setwise")
    generators = {
        name: Generator.objects.get_or_create(name=name, model="embedded")[0] for name in ("small", "big")
    }
    prompts = [Prompt.objects.create(campaign=campaign, text=text) for text in SET_PROMPTS]
    for number, (generator, temperature, prompt, texts, ratings) in enumerate(SETS):
        samples = [
            Candidate.objects.create(
                prompt=prompts[prompt],
                generator=generators[generator],
                params={"temperature": temperature, "seed": number},
                params_key=f"{generator}-{temperature}-{number}",
                sample_index=sample,
                text=text,
            )
            for sample, text in enumerate(texts)
        ]
        item = Item.objects.create(campaign=campaign, kind="setwise", prompt=prompts[prompt])
        for index, candidate in enumerate(samples):
            ItemCandidate.objects.create(
                item=item, candidate=candidate, index=index, position=(index + 1) % 3
            )
        for labeller, rating in zip(labellers, ratings or [], strict=False):
            _label(item, labeller, {"diversity": rating, "duplicates": [], "best": None, "worst": None})
    gold = Item.objects.create(
        campaign=campaign,
        kind="setwise",
        prompt=prompts[2],
        is_gold=True,
        gold_value={"diversity": 5, "best": None},
    )
    for index, text in enumerate(["x", "y", "z"]):
        candidate = Candidate.objects.create(
            prompt=prompts[2], generator=generators["small"], text=text, sample_index=index
        )
        ItemCandidate.objects.create(item=gold, candidate=candidate, index=index, position=index)
    _label(gold, labellers[0], {"diversity": 5, "duplicates": [], "best": None, "worst": None})
    return campaign


def hashed_words(texts):
    """A stand-in for MiniLM: each word counted in one of 32 dimensions chosen by its hash."""
    rows = np.zeros((len(texts), 32), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            rows[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 32] += 1
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
