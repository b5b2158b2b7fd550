"""Labels saved by adaptive overlap, at the same majority accuracy as a fixed k=3 (issue 19, figure (2)).

Usage: python bench/adaptive_overlap.py [--seeds 20] [--items 200] [--labellers 6] [--accuracy 0.75]
       [--judge-accuracy 0.9] [--judge-confident 0.8] [--backend sqlite|postgres] [--record]

Simulated labelling on the real services, on a real database (a SQLite file by default, migrated as the
app's own): labellers ask `lease_next` for their next item and answer it with `label_submit`, so the
queue, the label cap and the adaptive-overlap rule (services/overlap.py) are the ones labellers meet.
Each item is a pairwise item with a known better answer, drawn per item; each label picks it with
probability --accuracy, independently, else the other one. Labellers take turns at random until the
campaign has nothing left for any of them. The draws are paired: the n-th label of an item is right or
wrong alike in every arm, so the arms differ only by how many labels their rule asks for. Three arms per
seed, on the same items and truth:

  (a) fixed k=3: min_labels unset, every item gets 3 labels (today's behaviour);
  (b) adaptive: min_labels=2, agreement_to_stop=1.0, labels_per_item=3 (2 agree, else a third);
  (c) (b) with judge_prelabel: a simulated judge is confident on --judge-confident of the items and right
      on --judge-accuracy of those (its verdicts are JudgeLabel rows written directly, then the judge job's
      own `items_judged_want_one_label` runs); on the rest it says "tie", which pre-labels nothing.

For each arm: labels per item, the saving against fixed k=3 (1 - labels / (3 x items)), and the
accuracy of the item's aggregate (the pairwise kind's majority, as exports use it) against the truth.
Each figure is the median over --seeds seeds, with the spread (min, interquartile range, max).

Theory, labellers right 75% of the time: (b) saves P(the first two agree) / 3 = 0.625 / 3 = 20.8%, at the
majority-of-3 accuracy 0.75^3 + 3 x 0.75^2 x 0.25 = 0.84375, the same as (a); (c) should save more and be
at least as accurate where the judge is right more often than a labeller.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks_file import benchmark_record, scratch_database

REPO = Path(__file__).resolve().parents[1]
K = 3
ARMS = {
    "a": "fixed k=3",
    "b": "min_labels=2, agreement_to_stop=1.0, max 3",
    "c": "(b) + judge_prelabel",
}


@dataclass(frozen=True)
class ArmResult:
    labels_per_item: float
    saving: float  # against fixed k=3
    accuracy: float  # the aggregate's choice against the truth


@dataclass(frozen=True)
class Simulation:
    """What one seed's labellers and judge are like."""

    items: int
    labellers: int
    accuracy: float
    judge_accuracy: float
    judge_confident: float


def _campaign_with_items(name: str, items: int, *, arm: str) -> object:
    """A pairwise campaign of `items` items, built by the real builder."""
    from labelapp.models import Candidate, Generator, Prompt
    from labelapp.services.campaigns import campaign_create
    from labelapp.services.items import items_build

    overlap = {} if arm == "a" else {"min_labels": 2, "agreement_to_stop": 1.0, "judge_prelabel": arm == "c"}
    campaign = campaign_create(name=name, labels_per_item=K, **overlap)
    generator, _ = Generator.objects.get_or_create(name="bench-model", model="embedded")
    prompts = Prompt.objects.bulk_create(
        Prompt(campaign=campaign, text=f"Question {number}?", source=str(number)) for number in range(items)
    )
    Candidate.objects.bulk_create(
        Candidate(
            prompt=prompt, generator=generator, text=f"Answer {side} to {prompt.source}.", sample_index=side
        )
        for prompt in prompts
        for side in (0, 1)
    )
    items_build(campaign=campaign, kind="pairwise", seed=1)
    return campaign


@dataclass(frozen=True)
class Truth:
    better: str  # the better candidate, canonical "a" or "b"
    draws: str  # the key of the item's random draws: the same item of every arm draws the same

    def answer(self, right: bool) -> str:
        return self.better if right else {"a": "b", "b": "a"}[self.better]

    def draw(self, what: str) -> float:
        return random.Random(f"{self.draws}-{what}").random()


def _truth(campaign: object, seed: int) -> dict[int, Truth]:
    """Each item's truth, by item id: the better of its two candidates is drawn per seed and prompt number,
    so the arms of a seed label the same items with the same truth."""
    from labelapp.models import ItemCandidate

    truth: dict[int, Truth] = {}
    slots = ItemCandidate.objects.filter(item__campaign=campaign).values_list(
        "item_id", "index", "candidate__sample_index", "item__prompt__source"
    )
    for item_id, index, sample_index, number in slots:
        draws = f"{seed}-{number}"
        if sample_index == random.Random(draws).randrange(2):
            truth[item_id] = Truth("ab"[index], draws)
    return truth


def _judge(campaign: object, truth: dict[int, Truth], simulation: Simulation) -> None:
    """The judge's verdicts, written directly: on a confident item right with --judge-accuracy, otherwise
    a tie (no pre-label); then what the judge job does after its verdicts."""
    from labelapp.models import Generator, Item, JudgeLabel
    from labelapp.services.overlap import items_judged_want_one_label

    judge, _ = Generator.objects.get_or_create(name="bench-judge", model="embedded")
    items = list(Item.objects.filter(campaign=campaign))
    verdicts = []
    for item in items:
        known = truth[item.pk]
        if known.draw("judge-confident") < simulation.judge_confident:
            choice = known.answer(known.draw("judge-right") < simulation.judge_accuracy)
        else:
            choice = "tie"
        verdicts += [  # sure of it, and the same in both orders: what judge_prelabel_value trusts
            JudgeLabel(
                item=item,
                generator=judge,
                value={"choice": choice},
                raw_output="Verdict",
                order_reversed=order_reversed,
                confidence=0.95,
            )
            for order_reversed in (False, True)
        ]
    JudgeLabel.objects.bulk_create(verdicts)
    items_judged_want_one_label(campaign=campaign, items=items)


def _label_until_done(
    campaign: object, truth: dict[int, Truth], labellers: list, accuracy: float, rng: random.Random
) -> None:
    """Labellers in random turns lease their next item and answer it, until none of them gets one.

    Whether the n-th label of an item is right is drawn per item and n, independently with probability
    `accuracy`, the same in every arm: the arms differ only by how many labels the rule asks for (paired),
    so the accuracy of "2 agree, else a 3rd" against a fixed 3 is compared on the very same answers."""
    from labelapp.selectors.items import item_shown_order
    from labelapp.services.labels import label_submit
    from labelapp.services.leases import lease_next

    active = list(labellers)
    while active:
        labeller = rng.choice(active)
        item = lease_next(labeller=labeller, campaign=campaign)
        if item is None:
            active.remove(labeller)
            continue
        known = truth[item.pk]
        canonical = known.answer(known.draw(f"label-{item.label_count}") < accuracy)
        shown_indices = item_shown_order(item=item, labeller=labeller).indices
        shown = "ab"[shown_indices.index("ab".index(canonical))]
        label_submit(
            labeller=labeller,
            campaign=None,
            item_id=item.pk,
            value={"choice": shown},
            idempotency_key=f"{labeller.pk}-{item.pk}",
            lease_next=False,
        )


def _result(campaign: object, truth: dict[int, Truth]) -> ArmResult:
    from labelapp.kinds import pairwise
    from labelapp.models import Label

    values: dict[int, list] = {item_id: [] for item_id in truth}
    for item_id, value in Label.objects.filter(item__campaign=campaign).values_list("item_id", "value"):
        values[item_id].append(value)
    labels = sum(len(v) for v in values.values())
    right = sum(pairwise.aggregate(v).choice == truth[item_id].better for item_id, v in values.items())
    return ArmResult(
        labels_per_item=labels / len(truth),
        saving=1 - labels / (K * len(truth)),
        accuracy=right / len(truth),
    )


def simulate(*, arm: str, seed: int, simulation: Simulation, labellers: list) -> ArmResult:
    """One arm on one seed: a fresh campaign, labelled until done on the real queue and services."""
    campaign = _campaign_with_items(f"overlap-{arm}-{seed}", simulation.items, arm=arm)
    truth = _truth(campaign, seed)
    if arm == "c":
        _judge(campaign, truth, simulation)
    _label_until_done(campaign, truth, labellers, simulation.accuracy, random.Random(f"{seed}-{arm}"))
    return _result(campaign, truth)


def spread(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    """Median, then min, interquartile range and max."""
    ordered = sorted(v * scale for v in values)
    q1, _, q3 = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else (ordered[0],) * 3
    return (
        f"{statistics.median(ordered):.{digits}f} (min {ordered[0]:.{digits}f}, IQR {q1:.{digits}f}-{q3:.{digits}f}, "
        f"max {ordered[-1]:.{digits}f})"
    )


def _labellers_create(count: int) -> list:
    from django.contrib.auth.models import Group, User

    from labelapp.models import LABELLERS_GROUP

    group = Group.objects.get_or_create(name=LABELLERS_GROUP)[0]
    users = [User.objects.create(username=f"overlap{n:02d}", password="!") for n in range(count)]
    for user in users:
        user.groups.add(group)
    return users


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=200, help="pairwise items per arm and seed")
    parser.add_argument("--labellers", type=int, default=6)
    parser.add_argument("--accuracy", type=float, default=0.75, help="each labeller's chance of being right")
    parser.add_argument("--judge-accuracy", type=float, default=0.9, help="on the items it is confident on")
    parser.add_argument(
        "--judge-confident", type=float, default=0.8, help="share of items the judge pre-labels"
    )
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/labelapp")
    parser.add_argument("--db", default="labelapp_bench_overlap", help="PostgreSQL: created, then dropped")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    if args.labellers < K:
        raise SystemExit(f"--labellers must be at least {K}: each item may want {K} different labellers.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    simulation = Simulation(
        args.items, args.labellers, args.accuracy, args.judge_accuracy, args.judge_confident
    )
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="labelapp-bench-") as folder,
        scratch_database(args.backend, Path(folder), admin_url=args.admin_url, name=args.db) as url,
    ):
        os.environ.update(
            DATABASE_URL=url,
            DJANGO_SETTINGS_MODULE="config.settings",
            HF_HUB_OFFLINE="1",
            LOG_LEVEL="WARNING",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"],
            cwd=REPO,
            env=os.environ,
            check=True,
        )
        import django

        django.setup()
        from django.db import connections

        labellers = _labellers_create(args.labellers)
        results: dict[str, list[ArmResult]] = {arm: [] for arm in ARMS}
        for seed in range(args.seeds):
            for arm in ARMS:
                results[arm].append(simulate(arm=arm, seed=seed, simulation=simulation, labellers=labellers))
            print(
                f"seed {seed}: "
                + "; ".join(
                    f"({arm}) {r[-1].labels_per_item:.2f} labels/item, accuracy {r[-1].accuracy:.3f}"
                    for arm, r in results.items()
                ),
                flush=True,
            )
        connections.close_all()

    lines = [
        f"({arm}) {ARMS[arm]}: labels per item {spread([r.labels_per_item for r in rs], digits=2)}; "
        f"saving vs fixed k=3 {spread([r.saving for r in rs], 100)}%; "
        f"majority accuracy {spread([r.accuracy for r in rs], digits=3)}"
        for arm, rs in results.items()
    ]
    summary = (
        f"{args.items} pairwise items x {args.seeds} seeds, {args.labellers} labellers right {args.accuracy:.0%} "
        f"independently, judge confident on {args.judge_confident:.0%} and right on {args.judge_accuracy:.0%} of "
        f"those; medians over seeds (min, IQR, max): "
        + "; ".join(lines)
        + f". Bound for (b): P(first two agree)/3 = {(args.accuracy**2 + (1 - args.accuracy) ** 2) / 3:.1%}; "
        f"majority-of-3 accuracy in theory {args.accuracy**3 + 3 * args.accuracy**2 * (1 - args.accuracy):.5f}"
        f" ({args.backend}, {time.perf_counter() - began:.0f} s)"
    )
    print(summary)
    if args.record:
        benchmark_record("python bench/adaptive_overlap.py " + " ".join(sys.argv[1:]), summary)


if __name__ == "__main__":
    main()
