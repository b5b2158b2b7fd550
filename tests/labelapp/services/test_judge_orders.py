"""The AI judge sees every item of several answers in both orders: consistent and position-following
verdicts counted, its confidence from the answer's logprobs, set-wise and ranking items judged, the verdict
it may pre-label with, and the report by position and by confidence."""

import copy
import json
import math
import re
from collections.abc import Callable

import pytest
from django.core.management import call_command

import inference
import inference.remote
from labelapp.models import Campaign, Generator, Item, ItemCandidate, JudgeLabel, Label, Prompt
from labelapp.selectors.judgements import judge_prelabel_value
from labelapp.selectors.reports import judge_report_for
from labelapp.services.judge import items_judge, verdict_parse
from tests.factories import candidates_add
from tests.inference.recorded import OPENAI_CHAT_EXAMPLE
from tests.inference.servers import ReceivedRequest, ScriptedServer
from tests.labelapp.reports.seed import ScriptedJudge, leaderboard_campaign

Answer = Callable[[str], tuple[str, float | None]]  # the judge's question -> its answer, its logprob sum


class AnswersBy:
    """A judge answering each question as `answer` says, with that answer's logprob sum."""

    def __init__(self, answer: Answer) -> None:
        self.answer, self.requests = answer, []

    def __call__(self, *, spec, requests, params, on_progress=None):
        self.requests.extend(requests)
        completions = []
        for index, request in enumerate(requests):
            text, logprob_sum = self.answer(request.messages[0]["content"])
            completions.append(inference.Completion(index, 0, text, "", "eos", 3, logprob_sum, None, 0))
        return completions


@pytest.fixture
def judge_answers(monkeypatch) -> Callable[[Answer], AnswersBy]:
    monkeypatch.setattr(inference, "preload", lambda spec: None)

    def install(answer: Answer) -> AnswersBy:
        judge = AnswersBy(answer)
        monkeypatch.setattr(inference, "generate", judge)
        return judge

    return install


@pytest.fixture
def seeded(campaign, labeller, other_labeller):
    return leaderboard_campaign(campaign, [labeller, other_labeller])


def shown(content: str) -> list[str]:
    """The responses of a judge's question in the order it was shown them."""
    return re.findall(r"\[Response [A-J]\]\n(.*)", content)


def test_a_judge_that_always_picks_the_first_answer_is_inconsistent_on_every_item(seeded, judge_answers):
    judge_answers(lambda content: ("Verdict: A", math.log(0.95)))
    run = items_judge(campaign=seeded.campaign, generator=seeded.big)
    assert (run.progress_done, run.parse_errors, run.order_inconsistent) == (16, 0, 16)
    item = seeded.items[(0, "big-small03")]  # big (canonical a) shown second to labellers
    verdicts = dict(JudgeLabel.objects.filter(item=item).values_list("order_reversed", "value__choice"))
    assert verdicts == {False: "b", True: "a"}

    (agreement,) = judge_report_for(campaign=seeded.campaign).judges
    assert (agreement.both_orders, agreement.order_inconsistent, agreement.order_inconsistency_rate) == (
        16,
        16,
        1,
    )
    # Humans chose a or b on 13 labelled items; each is judged twice, once with their choice shown first.
    first, later = agreement.by_position
    assert (first.label, first.compared, first.agreed) == ("shown first", 13, 13)
    assert (later.label, later.compared, later.agreed) == ("shown later", 13, 0)


def test_a_judge_that_follows_the_answers_is_consistent(seeded, judge_answers):
    judge = ScriptedJudge()  # prefers big wherever it is shown; ties small with small; rambles on question 2
    judge_answers(lambda content: (judge(spec=None, requests=[_asking(content)], params=None)[0].text, -0.01))
    run = items_judge(campaign=seeded.campaign, generator=seeded.big)
    assert (run.progress_done, run.parse_errors, run.order_inconsistent) == (16, 6, 0)
    (agreement,) = judge_report_for(campaign=seeded.campaign).judges
    assert (agreement.both_orders, agreement.order_inconsistent) == (13, 0)
    first, later = agreement.by_position
    assert (
        first.compared == later.compared and first.agreed == later.agreed
    )  # where it is shown changes nothing


def _asking(content: str) -> inference.GenerationRequest:
    return inference.GenerationRequest(messages=({"role": "user", "content": content},))


def test_agreement_by_the_judges_confidence(seeded, judge_answers):
    # Sure (0.95) when big is shown first, unsure (0.6) when shown second, 0.8 on its ties of small with
    # small: it always picks big, so it agrees with the humans wherever they preferred big.
    def answer(content: str) -> tuple[str, float]:
        a, b = shown(content)
        if "big" not in a + b:
            return "Verdict: tie", math.log(0.8)
        return ("Verdict: A", math.log(0.95)) if a.startswith("big") else ("Verdict: B", math.log(0.6))

    judge_answers(answer)
    items_judge(campaign=seeded.campaign, generator=seeded.big)
    (agreement,) = judge_report_for(campaign=seeded.campaign).judges
    bins = {row.label: (row.compared, row.agreed) for row in agreement.by_confidence}
    # Compared: 10 big-vs-small items (9 won by big, 1 by small), 4 small-vs-small (3 "a", 1 tie).
    assert bins == {
        "0.0–0.5": (0, 0),
        "0.5–0.7": (10, 9),  # big shown second in one order of each big item
        "0.7–0.9": (8, 2),  # "tie" on small vs small: right only on prompt 3's tie, in both orders
        "0.9–1.0": (10, 9),
        "no logprobs": (0, 0),
    }
    big_shown_second = JudgeLabel.objects.get(item=seeded.items[(0, "big-small03")], order_reversed=False)
    assert (big_shown_second.value["choice"], big_shown_second.confidence) == ("a", pytest.approx(0.6))


def test_the_confidence_comes_from_an_openai_compatible_servers_logprobs(seeded, monkeypatch):
    monkeypatch.setattr(inference.remote, "RETRY_DELAYS_S", (0.0, 0.0))

    def answer(request: ReceivedRequest) -> tuple[int, object]:
        a, _ = shown(request.body["messages"][-1]["content"])
        letter = "A" if a.startswith("big") else "B"
        payload = copy.deepcopy(OPENAI_CHAT_EXAMPLE)
        choice = payload["choices"][0]
        choice["message"]["content"] = f"Verdict: {letter}"
        tokens = [("Verdict", -0.01), (":", -0.02), (f" {letter}", -0.2)]
        choice["logprobs"]["content"] = [
            {"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": []} for t, lp in tokens
        ]
        return 200, payload

    with ScriptedServer(answer) as server:
        judge = Generator.objects.create(
            name="remote-judge",
            backend="openai-chat",
            model="m",
            base_url=f"{server.url}/v1",
            prompt_format="chat",
        )
        run = items_judge(campaign=seeded.campaign, generator=judge, limit=2)
    assert (run.progress_done, run.parse_errors) == (2, 0)
    labels = JudgeLabel.objects.filter(generator=judge)
    assert labels.count() == 4
    assert {round(label.confidence, 6) for label in labels} == {round(math.exp(-0.23), 6)}


@pytest.mark.parametrize(
    ("raw", "count", "parsed"),
    [
        (
            "Verdict: diversity 3, best A, worst C",
            3,
            {"diversity": 3, "duplicates": [], "best": 0, "worst": 2},
        ),
        (
            " Verdict: diversity 1, best C, worst B\n",
            3,
            {"diversity": 1, "duplicates": [], "best": 2, "worst": 1},
        ),
        ("Verdict: diversity 3, best A, worst A", 3, None),  # one sample both best and worst
        ("Verdict: diversity 3, best A, worst D", 3, None),  # no D in a set of three
        ("Verdict: diversity 6, best A, worst B", 3, None),
        ("Verdict: diversity 3, best A", 3, None),
        ("verdict: diversity 3, best A, worst C", 3, None),
    ],
)
def test_setwise_verdicts_parse_strictly(raw, count, parsed):
    assert verdict_parse(raw, "setwise", count) == parsed


@pytest.mark.parametrize(
    ("raw", "count", "order"),
    [
        ("Verdict: C, A, B", 3, [2, 0, 1]),
        ("Verdict: B,A", 2, [1, 0]),
        ("Verdict: C, A", 3, None),  # B missing
        ("Verdict: A, A, B", 3, None),
        ("Verdict: A, B, D", 3, None),
        ("Verdict: A B C", 3, None),
        ("The order: A, B, C", 3, None),
    ],
)
def test_ranking_verdicts_parse_strictly(raw, count, order):
    verdict = verdict_parse(raw, "ranking", count)
    assert (verdict and verdict["order"]) == order


QUALITY = {"A careful, correct answer.": 3, "A fair answer.": 2, "Nonsense.": 1}


def several_campaign(kind: str, labellers) -> tuple[Campaign, Item]:
    """One item of three answers to one prompt, shown at positions other than their canonical order;
    both labellers rank / pick the careful answer first."""
    campaign = Campaign.objects.create(name=kind, kind=kind)
    prompt = Prompt.objects.create(campaign=campaign, text="Explain tides.")
    generator = Generator.objects.create(name="writer", model="embedded")
    texts = list(QUALITY)  # canonical 0 careful, 1 fair, 2 nonsense
    item = Item.objects.create(campaign=campaign, kind=kind, prompt=prompt)
    for index, (candidate, position) in enumerate(
        zip(candidates_add(prompt, generator, texts), (1, 2, 0), strict=True)
    ):
        ItemCandidate.objects.create(item=item, candidate=candidate, index=index, position=position)
    value = (
        {"order": [0, 1, 2], "top": 0, "all_flawed": False, "rationale": ""}
        if kind == "ranking"
        else {"diversity": 4, "duplicates": [], "best": 0, "worst": 2}
    )
    for labeller in labellers:
        Label.objects.create(
            item=item, labeller=labeller, value=value, idempotency_key=f"{kind}-{labeller.pk}"
        )
    return campaign, item


def by_quality(content: str) -> list[str]:
    """The shown letters, best answer first."""
    texts = shown(content)
    return ["ABC"[texts.index(t)] for t in sorted(texts, key=QUALITY.__getitem__, reverse=True)]


def test_ranking_items_are_judged_in_both_orders(
    db, labeller, other_labeller, generator, judge_answers, staff, client_for
):
    campaign, item = several_campaign("ranking", [labeller, other_labeller])
    judge = judge_answers(lambda content: ("Verdict: " + ", ".join(by_quality(content)), math.log(0.99)))
    run = items_judge(campaign=campaign, generator=generator)
    assert (run.progress_done, run.parse_errors, run.order_inconsistent) == (1, 0, 0)
    as_shown, reversed_ = (shown(r.messages[0]["content"]) for r in judge.requests)
    assert as_shown == ["Nonsense.", "A careful, correct answer.", "A fair answer."]  # by position
    assert reversed_ == as_shown[::-1]
    assert "every letter among A, B, C once, best first" in judge.requests[0].messages[0]["content"]
    orders = [label.value["order"] for label in JudgeLabel.objects.filter(item=item)]
    assert orders == [[0, 1, 2], [0, 1, 2]]
    assert judge_prelabel_value(item=item)["order"] == [0, 1, 2]
    report = judge_report_for(campaign=campaign)
    assert (report.field, report.choices) == ("top", (0, 1, 2))
    (agreement,) = report.judges
    assert (agreement.compared, agreement.kappa.agreed, agreement.both_orders) == (1, 1, 1)
    page = client_for(staff).get("/manage/ranking/reports/judge/").content.decode()
    assert "humans: A best" in page and "judge: A best" in page and "(“Verdict: C, A, B”)" in page


def test_a_ranking_judge_reading_positions_is_inconsistent(
    db, labeller, other_labeller, generator, judge_answers
):
    campaign, item = several_campaign("ranking", [labeller, other_labeller])
    judge_answers(lambda content: ("Verdict: A, B, C", math.log(0.99)))
    run = items_judge(campaign=campaign, generator=generator)
    assert run.order_inconsistent == 1
    assert judge_prelabel_value(item=item) is None


def test_setwise_items_are_judged_in_both_orders(db, labeller, other_labeller, generator, judge_answers):
    campaign, item = several_campaign("setwise", [labeller, other_labeller])

    def answer(content: str) -> tuple[str, float]:
        best, _, worst = by_quality(content)
        return f"Verdict: diversity 4, best {best}, worst {worst}", math.log(0.97)

    judge = judge_answers(answer)
    run = items_judge(campaign=campaign, generator=generator)
    assert (run.progress_done, run.parse_errors, run.order_inconsistent) == (1, 0, 0)
    assert '"Verdict: diversity N, best X, worst Y"' in judge.requests[0].messages[0]["content"]
    values = [label.value for label in JudgeLabel.objects.filter(item=item)]
    assert values == [{"diversity": 4, "duplicates": [], "best": 0, "worst": 2}] * 2
    (agreement,) = judge_report_for(campaign=campaign).judges
    assert (agreement.compared, agreement.kappa.agreed) == (1, 1)
    # The careful answer sits in the middle, so it is shown "later" in both orders.
    assert [(row.compared, row.agreed) for row in agreement.by_position] == [(0, 0), (2, 2)]


class TestPrelabel:
    """judge_prelabel_value: only a verdict given in both orders, the same, each at confidence >= 0.9."""

    @pytest.fixture
    def item(self, seeded):
        return seeded.items[(1, "big-small10")]

    def verdicts(self, item, generator, *given):
        for order_reversed, choice, confidence in given:
            JudgeLabel.objects.create(
                item=item,
                generator=generator,
                order_reversed=order_reversed,
                value=None if choice is None else {"choice": choice, "strength": None, "rationale": ""},
                confidence=confidence,
                parse_error="unparsed" if choice is None else "",
            )

    def test_consistent_and_confident(self, seeded, item):
        self.verdicts(item, seeded.big, (False, "a", 0.95), (True, "a", 0.9))
        assert judge_prelabel_value(item=item) == {"choice": "a", "strength": None, "rationale": ""}

    @pytest.mark.parametrize(
        "given",
        [
            [(False, "a", 0.95)],  # one order only
            [(False, "a", 0.95), (True, "b", 0.95)],  # follows the position
            [(False, "a", 0.95), (True, "a", 0.89)],  # not sure enough in one order
            [(False, "a", 0.95), (True, "a", None)],  # no logprobs
            [(False, "a", 0.95), (True, None, None)],  # one answer did not parse
        ],
    )
    def test_nothing_otherwise(self, seeded, item, given):
        self.verdicts(item, seeded.big, *given)
        assert judge_prelabel_value(item=item) is None

    def test_two_sure_judges_must_agree(self, seeded, item):
        self.verdicts(item, seeded.big, (False, "a", 0.95), (True, "a", 0.95))
        self.verdicts(item, seeded.small, (False, "b", 0.95), (True, "b", 0.95))
        assert judge_prelabel_value(item=item) is None

    def test_an_unsure_judge_does_not_veto_a_sure_one(self, seeded, item):
        self.verdicts(item, seeded.big, (False, "a", 0.95), (True, "a", 0.95))
        self.verdicts(item, seeded.small, (False, "b", 0.5), (True, "b", 0.5))
        assert judge_prelabel_value(item=item)["choice"] == "a"


def test_the_judge_page_and_json_report_give_the_order_inconsistency(
    seeded, judge_answers, staff, client_for, tmp_path
):
    judge_answers(lambda content: ("Verdict: A", math.log(0.95)))
    items_judge(campaign=seeded.campaign, generator=seeded.big)
    page = client_for(staff).get("/manage/prefs/reports/judge/").content.decode()
    assert '<td class="num order-inconsistent">16 (100%)</td>' in page
    assert '<tr><th>shown first</th><td class="num">13</td><td class="num">100%</td></tr>' in page
    assert '<tr><th>shown later</th><td class="num">13</td><td class="num">0%</td></tr>' in page

    call_command("report", "--campaign", "prefs", "--kind", "judge", "--out", str(tmp_path / "judge.json"))
    (judge,) = json.loads((tmp_path / "judge.json").read_text())["judges"]
    assert (judge["both_orders"], judge["order_inconsistent"]) == (16, 16)
    assert judge["by_confidence"][3] == {
        "label": "0.9–1.0",
        "compared": 28,
        "agreed": 13,
    }  # and the tie, twice
