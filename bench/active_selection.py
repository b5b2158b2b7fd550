"""Labels saved by choosing what to label next (issue 19's figure), simulated on the app's own code.

Usage: python bench/active_selection.py overlap [bench/adaptive_overlap.py's flags]
       python bench/active_selection.py selection [--criterion tau|intervals] [--seeds 20] [--generators 8]
       [--spacing 0.25] [--prompts 100] [--labellers 8] [--check-every 25] [--hold 3] [--max-labels N]
       [--oracle] [--backend sqlite|postgres] [--record]

Part (2), `overlap`, is bench/adaptive_overlap.py (fixed k=3 against adaptive overlap, with and without judge
pre-labels), run with its own flags.

Part (1), `selection`: labels needed, uniform against active selection (Campaign.selection), until one of
two criteria (issue 19 allows either, stated up front), chosen by --criterion before any run:

    tau: Kendall's tau between the campaign's generator leaderboard and the true order of the generators
    is at least 0.9 (with 8 generators: at most one of the 28 pairs in the wrong order).
    intervals: the leaderboard's order is the true order and every two neighbours' 95% intervals do not
    overlap (the better one's low end above the worse one's high end). The intervals are the app's own:
    the leaderboard's percentile bootstrap with its default BOOTSTRAP_SAMPLES (500) refits, seed 0, as
    `report --kind leaderboard` shows them; they are computed only at checks where the order (a fit
    without bootstrap) is already right, since without it the criterion cannot hold.

Either must hold at --hold checks in a row (not one lucky check), checked every --check-every labels;
labels needed are those at the last of them. The leaderboard is the app's own report
(`leaderboard_report_for`: Bradley–Terry on each item's majority choice). A run that has not reached it at
--max-labels, or when no item is left, stops there and is reported as not reached, counted at its labels.

Each seed draws --generators generators with true Bradley–Terry strengths --spacing apart (a random order
of names), and --labellers simulated labellers, each with their own noise (answers at random with a
chance drawn from 0 to 0.3) and position bias (the left answer's log-odds raised by 0 to 0.5); each sees
the candidates in their own shown order (per item and labeller, as on the page). A pairwise campaign (k=1:
every label is one vote, as an Arena battle) gets --prompts prompts, each answered by every generator, and
an item for every pair of generators on every prompt. The labellers take turns at random through `lease_next` and
`label_submit(lease_next=True)`, the services behind the labelling page and the API. With active
selection the label hook queues the weights refresh as in service; here it runs in this process right
after the label's commit (a worker would run it moments later), on about one label in --refresh-every.
Both selections of a seed share its generators, labellers and prompts.

--oracle adds a third run per seed: the queue (active selection's own look) is given fixed weights on the
true neighbours only, as if the order were known from the start. For tau it is the ceiling of any pair
selection aimed at the order. For intervals it is not: votes on neighbours only chain the generators, and
a chain leaves each mean-centred score with the uncertainty of every link, so its intervals stay wide (an
expected-information design with the truth known does better by mixing in pairs two and three apart).

It prints labels needed per seed, the median with the interquartile range and the extremes for each
selection, the ratio of the medians (target: >= 2), and the curve against labels, for each: the mean tau
over seeds (tau) or the share of seeds that have met the criterion (intervals).
--record appends the summary to BENCHMARKS.md.

Part (2), adaptive overlap, is to be added as a second subcommand beside `selection`.
"""

import argparse
import itertools
import os
import random
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks_file import benchmark_record, scratch_database

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TAU_WANTED = 0.9
CRITERIA = ("tau", "intervals")
NOISE_MAX = 0.3
POSITION_BIAS_MAX = 0.5
MODES = ("uniform", "active")


@dataclass(frozen=True)
class World:
    """One seed's truth: generator strengths and the labellers' habits."""

    strengths: dict[str, float]  # generator name -> true log-strength
    noise: list[float]  # per labeller: the chance of answering at random
    bias: list[float]  # per labeller: log-odds added to the left answer

    @property
    def true_order(self) -> list[str]:
        return sorted(self.strengths, key=lambda name: -self.strengths[name])


@dataclass
class Run:
    labels: int = 0
    reached: bool = False
    curve: list[tuple[int, float]] = field(default_factory=list)  # (labels, tau or neighbours apart)


def world_draw(seed: int, generators: int, spacing: float, labellers: int) -> World:
    rng = random.Random(seed)
    names = [f"g{number}" for number in range(generators)]
    rng.shuffle(names)
    return World(
        strengths={name: spacing * rank for rank, name in enumerate(names)},
        noise=[rng.uniform(0, NOISE_MAX) for _ in range(labellers)],
        bias=[rng.uniform(0, POSITION_BIAS_MAX) for _ in range(labellers)],
    )


def kendall_tau(order: list[str], truth: list[str]) -> float:
    """Kendall's tau between two orders of the same names (no ties): concordant minus discordant pairs."""
    place = {name: position for position, name in enumerate(order)}
    pairs = list(itertools.combinations(truth, 2))  # each pair better-first in the truth
    concordant = sum(1 for better, worse in pairs if place[better] < place[worse])
    return (2 * concordant - len(pairs)) / len(pairs)


def setup_shared(generators: int, labellers: int) -> tuple[list, list]:
    from django.contrib.auth.models import Group, User

    from labelapp.models import LABELLERS_GROUP, Generator

    group, _ = Group.objects.get_or_create(name=LABELLERS_GROUP)
    users = [User.objects.create(username=f"sim{number:02d}", password="!") for number in range(labellers)]
    for user in users:
        user.groups.add(group)
    models = [Generator.objects.create(name=f"g{number}", model="embedded") for number in range(generators)]
    return models, users


def campaign_create(name: str, mode: str, prompts: int, generators: list, seed: int):
    """A k=1 pairwise campaign: every generator answers every prompt; an item per pair per prompt."""
    from labelapp.kinds.base import BuildOptions
    from labelapp.models import Campaign, Candidate, Prompt
    from labelapp.services.items import items_build

    campaign = Campaign.objects.create(name=name, labels_per_item=1, lease_seconds=3600, selection=mode)
    made = Prompt.objects.bulk_create(
        Prompt(campaign=campaign, text=f"Question {n}?") for n in range(prompts)
    )
    Candidate.objects.bulk_create(
        Candidate(prompt=prompt, generator=generator, text=f"{generator.name} on {prompt.pk}")
        for prompt in made
        for generator in generators
    )
    items_build(
        campaign=campaign, kind="pairwise", options=BuildOptions(pairing="cross-generator"), seed=seed
    )
    return campaign


def leaderboard_tau(campaign, truth: list[str]) -> tuple[float, bool]:
    from labelapp.selectors.reports import leaderboard_report_for

    board = leaderboard_report_for(campaign=campaign, bootstrap_samples=0, seed=0).by_generator
    if set(board.keys) != set(truth):
        return -1.0, False  # a generator without a comparison yet: no order to compare
    tau = kendall_tau(list(board.keys), truth)
    return tau, tau >= TAU_WANTED


def neighbours_apart(campaign, truth: list[str]) -> tuple[float, bool]:
    """How many true neighbours the leaderboard shows in the right order with 95% intervals apart, and
    whether all are (which needs the whole order right)."""
    from labelapp.reports.bradley_terry import BOOTSTRAP_SAMPLES
    from labelapp.selectors.reports import leaderboard_report_for

    board = leaderboard_report_for(campaign=campaign, bootstrap_samples=0, seed=0).by_generator
    if list(board.keys) != truth:
        return _apart_in_order(board, truth), False
    board = leaderboard_report_for(
        campaign=campaign, bootstrap_samples=BOOTSTRAP_SAMPLES, seed=0
    ).by_generator
    apart = _apart_in_order(board, truth)
    return apart, apart == len(truth) - 1


def _apart_in_order(board, truth: list[str]) -> float:
    """Neighbours in the right order whose intervals do not overlap; without intervals (no bootstrap), the
    neighbours in the right order count as not apart."""
    players = {player.key: player for player in board.players}
    apart = 0
    for better, worse in itertools.pairwise(truth):
        if better not in players or worse not in players:
            continue
        high, low = players[better], players[worse]
        if high.low is not None and low.high is not None and high.score > low.score and high.low > low.high:
            apart += 1
    return apart


CHECKS = {"tau": leaderboard_tau, "intervals": neighbours_apart}
CRITERION_NAMES = {
    "tau": f"Kendall tau >= {TAU_WANTED} against the true order",
    "intervals": "the true order with every two neighbours' 95% bootstrap intervals (500 refits) apart",
}
CURVE_NAMES = {"tau": "mean tau over seeds", "intervals": "share of seeds that have met the criterion"}


def simulate(campaign, users: list, world: World, args: argparse.Namespace, rng: random.Random) -> Run:
    """The labellers take turns at random until the criterion holds or nothing is left."""
    from labelapp.selectors.items import item_candidates_shown
    from labelapp.services.labels import label_submit
    from labelapp.services.leases import lease_next

    truth = world.true_order
    current = {number: lease_next(labeller=user, campaign=campaign) for number, user in enumerate(users)}
    run = Run()
    held = 0
    check = CHECKS[args.criterion]
    while run.labels < args.max_labels and any(item is not None for item in current.values()):
        number = rng.choice([n for n, item in current.items() if item is not None])
        item = current[number]
        left, right = (
            shown.candidate.generator.name
            for shown in item_candidates_shown(item=item, labeller=users[number])
        )
        if rng.random() < world.noise[number]:
            choice = rng.choice("ab")
        else:
            edge = world.strengths[left] - world.strengths[right] + world.bias[number]
            choice = "a" if rng.random() < 1 / (1 + pow(2.718281828459045, -edge)) else "b"
        done = label_submit(
            labeller=users[number],
            campaign=campaign.name,
            item_id=item.pk,
            value={"choice": choice},
            idempotency_key=f"{campaign.pk}-{run.labels}",
            lease_next=True,
        )
        current[number] = done.next_item
        run.labels += 1
        if run.labels % args.check_every == 0:
            value, met = check(campaign, truth)
            run.curve.append((run.labels, value))
            held = held + 1 if met else 0
            if held == args.hold:
                run.reached = True
                return run
    return run


def refresh_inline(fixed: set[int]) -> None:
    """The weights refresh runs right after the label's commit, in this process, instead of on a worker;
    never for the campaigns in `fixed` (the oracle's)."""
    from labelapp.services import selection

    def refresh(campaign_id: int) -> None:
        if campaign_id not in fixed:
            selection.selection_weights_refresh(campaign_id=campaign_id)

    selection.REFRESH_SECONDS = 0
    selection._refresh_send = refresh


def oracle_weights_set(campaign, generators: list, world: World) -> None:
    """Weights on the true neighbours only, never refitted."""
    from labelapp.services.selection import selection_weights_refresh

    selection_weights_refresh(campaign_id=campaign.pk, force=True)  # the items' pair keys
    ids = {generator.name: generator.pk for generator in generators}
    order = world.true_order
    neighbours = [sorted((ids[better], ids[worse])) for better, worse in itertools.pairwise(order)]
    campaign.pair_weights = {f"{first}-{second}": 1.0 for first, second in neighbours}
    campaign.save(update_fields=["pair_weights"])


def spread(values: list[int]) -> str:
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return (
        f"median {statistics.median(values):.0f} (IQR {quartiles[0]:.0f}-{quartiles[2]:.0f}, "
        f"range {min(values)}-{max(values)})"
    )


def mean_curve(runs: list[Run], check_every: int) -> list[tuple[int, float]]:
    """Mean of the checked value at each check; a run that has stopped keeps its last value."""
    longest = max(len(run.curve) for run in runs)
    curve = []
    for step in range(longest):
        taus = [run.curve[min(step, len(run.curve) - 1)][1] for run in runs]
        curve.append(((step + 1) * check_every, statistics.mean(taus)))
    return curve


def reached_curve(runs: list[Run], check_every: int) -> list[tuple[int, float]]:
    """The share of runs that have met the criterion by each check."""
    longest = max(len(run.curve) for run in runs)
    return [
        (
            (step + 1) * check_every,
            sum(run.reached and run.labels <= (step + 1) * check_every for run in runs) / len(runs),
        )
        for step in range(longest)
    ]


CURVES = {"tau": mean_curve, "intervals": reached_curve}


def selection_part(args: argparse.Namespace, record: Callable[[str], None]) -> None:
    from django.db import connections

    fixed: set[int] = set()
    refresh_inline(fixed)
    generators, users = setup_shared(args.generators, args.labellers)
    modes = (*MODES, "oracle") if args.oracle else MODES
    needed: dict[str, list[int]] = {mode: [] for mode in modes}
    runs: dict[str, list[Run]] = {mode: [] for mode in modes}
    began = time.perf_counter()
    for seed in range(args.seeds):
        world = world_draw(seed, args.generators, args.spacing, args.labellers)
        line = []
        for mode in modes:
            random.seed(f"{seed}-app")  # the app's own draws (order keys, pair samples), the same per seed
            selection = "active" if mode == "oracle" else mode
            campaign = campaign_create(f"{mode}-{seed}", selection, args.prompts, generators, seed)
            if mode == "oracle":
                fixed.add(campaign.pk)
                oracle_weights_set(campaign, generators, world)
            run = simulate(campaign, users, world, args, random.Random(f"{seed}-labellers"))
            needed[mode].append(run.labels)
            runs[mode].append(run)
            line.append(f"{mode} {run.labels}{'' if run.reached else ' (not reached)'}")
        print(f"seed {seed}: {', '.join(line)}  [{time.perf_counter() - began:.0f} s]", flush=True)
    connections.close_all()

    uniform, active = (statistics.median(needed[mode]) for mode in MODES)
    unreached = {mode: sum(not run.reached for run in runs[mode]) for mode in modes}
    ratios = [u / a for u, a in zip(needed["uniform"], needed["active"], strict=True)]
    print(f"{CURVE_NAMES[args.criterion]} against labels:")
    curves = {mode: dict(CURVES[args.criterion](runs[mode], args.check_every)) for mode in modes}
    for labels in sorted(set().union(*curves.values()))[:: max(1, args.curve_every)]:
        cells = "  ".join(
            f"{mode} {curves[mode][labels]:+.2f}" if labels in curves[mode] else " " * (len(mode) + 6)
            for mode in modes
        )
        print(f"  {labels:5d} labels: {cells}")
    summary = (
        f"labels until {CRITERION_NAMES[args.criterion]} at {args.hold} checks in a row (one every "
        f"{args.check_every} labels, the app's BT leaderboard, at most {args.max_labels} labels), "
        f"{args.generators} generators {args.spacing} apart, "
        f"{args.labellers} labellers (noise 0-{NOISE_MAX}, left bias 0-{POSITION_BIAS_MAX} log-odds), "
        f"{args.prompts} prompts x {args.generators * (args.generators - 1) // 2} pairs, k=1, {args.backend}, "
        f"{args.seeds} seeds: uniform {spread(needed['uniform'])}; active {spread(needed['active'])}; "
        f"median uniform/active {uniform / active:.2f}x (per-seed ratio median {statistics.median(ratios):.2f}x); "
        f"runs not reached (cap or out of items): uniform {unreached['uniform']}, active {unreached['active']}"
    )
    if args.oracle:
        oracle = statistics.median(needed["oracle"])
        summary += (
            f"; the oracle (weights on the true neighbours only) {spread(needed['oracle'])}, "
            f"not reached {unreached['oracle']}, "
            f"uniform/oracle {uniform / oracle:.2f}x"
        )
    print(summary)
    record(summary)


def main() -> None:
    if sys.argv[1:2] == ["overlap"]:  # part (2), adaptive overlap, is its own script with its own flags
        sys.argv = [str(REPO / "bench" / "adaptive_overlap.py"), *sys.argv[2:]]
        runpy.run_path(sys.argv[0], run_name="__main__")
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parts = parser.add_subparsers(dest="part", required=True)
    parts.add_parser("overlap", help="(2) adaptive overlap against fixed k: bench/adaptive_overlap.py")
    part = parts.add_parser(
        "selection", help="(1) active selection against uniform: labels to the right order"
    )
    part.add_argument("--criterion", default="tau", choices=CRITERIA, help="when the order counts as found")
    part.add_argument("--seeds", type=int, default=20)
    part.add_argument("--generators", type=int, default=8)
    part.add_argument("--spacing", type=float, default=0.25, help="true log-strength between neighbours")
    part.add_argument("--prompts", type=int, default=100)
    part.add_argument("--labellers", type=int, default=8)
    part.add_argument(
        "--check-every", type=int, default=25, help="labels between two checks of the criterion"
    )
    part.add_argument("--hold", type=int, default=3, help="checks in a row the criterion must hold")
    part.add_argument("--max-labels", type=int, default=10**9, help="a run stops here, not reached")
    part.add_argument("--refresh-every", type=int, default=20, help="labels per weights refresh, on average")
    part.add_argument(
        "--oracle", action="store_true", help="also the ceiling: weights on the true neighbours"
    )
    part.add_argument("--curve-every", type=int, default=4, help="print every n-th check of the curve")
    for sub in (part,):
        sub.add_argument("--backend", default="sqlite", choices=["postgres", "sqlite"])
        sub.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/labelapp")
        sub.add_argument("--db", default="labelapp_bench_active", help="created, then dropped at the end")
        sub.add_argument("--record", action="store_true")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="labelapp-bench-") as folder,
        scratch_database(args.backend, Path(folder), admin_url=args.admin_url, name=args.db) as url,
    ):
        env = {**os.environ, "DATABASE_URL": url, "HF_HUB_OFFLINE": "1", "LABELAPP_VAR_DIR": folder}
        os.environ.update(env, DJANGO_SETTINGS_MODULE="config.settings")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        import django

        django.setup()
        from labelapp.services import selection

        selection.REFRESH_LABELS = args.refresh_every

        def record(summary: str) -> None:
            if args.record:
                benchmark_record("python bench/active_selection.py " + " ".join(sys.argv[1:]), summary)

        {"selection": selection_part}[args.part](args, record)


if __name__ == "__main__":
    main()
