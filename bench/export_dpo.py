"""Export throughput and memory: `export_dataset --format dpo` to JSONL over 1,000,000 pairwise labels.

Usage: python bench/export_dpo.py [--labels 1000000 100000] [--backends sqlite postgres] [--workers N]
       [--repeat 3] [--admin-url postgres://labelapp:labelapp@127.0.0.1:5432/postgres] [--db labelapp_bench_export] [--record]

For each backend and size it creates a fresh database (a SQLite file in a temporary folder, or the
PostgreSQL database --db, dropped at the end, also on error), migrates it, bulk-inserts a k=2 campaign
(--labels labels on labels/2 items; 4 candidates of ~400 characters per prompt, 4 pairs per prompt, 2
generators, 40 labellers, votes a/b/tie/both-bad at 45/45/5/5 %, the second labeller agreeing with
the first 80 % of the time), then runs the export --repeat times in a fresh process with --workers worker
processes (default: one per CPU, as `export_dataset`) and prints, for the median run, rows/s (rows
written / seconds inside dataset_export) and the CPU it used: the export process and its workers, the
rest of the machine (on a quiet machine, the database server), and what was left unused (cores x
seconds, less what the machine used: waiting on the disk, or cores waiting on one another). It also
prints the peak memory of the export process and its workers together (PSS, sampled every 20 ms over all
runs; the summed RSS, which counts pages the forked workers share in each, is printed beside it).
Equal peak memory at 100,000 and 1,000,000 labels shows memory does not grow with the export.
--record appends one row per run to BENCHMARKS.md.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks_file import benchmark_record, scratch_database

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CAMPAIGN = "bench"
LABELLERS = 40
CANDIDATES_PER_PROMPT = 4
PAIRS = ((0, 1), (2, 3), (0, 2), (1, 3))  # 4 items per prompt
BATCH = 50_000
CORES = os.cpu_count() or 1
FILLER = (
    "Here is a careful answer that walks through the question step by step, names its assumptions, "
    "and ends with a short summary of the result so that a reader can check it quickly. "
)


# --- loading (runs in a child process with DATABASE_URL set) -----------------------------------------


def _batched(rows: Iterator[tuple], size: int = BATCH) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> None:
    from django.db import connection

    raw = connection.connection
    quoted = ", ".join(f'"{column}"' for column in columns)  # "index" is a keyword
    if connection.vendor == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(columns))})'
    for batch in _batched(rows):
        raw.executemany(sql, batch)


def load(labels: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Label, Prompt

    items = labels // 2
    prompts = -(-items // len(PAIRS))
    rng = random.Random(1)
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S")  # UTC, as Django stores it
    with transaction.atomic():
        campaign = Campaign.objects.create(name=CAMPAIGN, title="Export benchmark", labels_per_item=2)
        generators = [
            Generator.objects.create(name=f"bench-model-{n}", model="embedded", default_params={})
            for n in (0, 1)
        ]
        users = User.objects.bulk_create(
            User(username=f"bench{n:03d}", password="!") for n in range(LABELLERS)
        )
        params = [
            json.dumps(
                {
                    "temperature": t,
                    "top_p": 0.95,
                    "top_k": None,
                    "max_new_tokens": 256,
                    "stop": [],
                    "seed": 7,
                    "n": 2,
                }
            )
            for t in (0.7, 1.0)
        ]
        _insert(
            Prompt._meta.db_table,
            ("id", "campaign_id", "text", "messages", "reference_answer", "metadata", "source", "created_at"),
            (
                (
                    p + 1,
                    campaign.pk,
                    f"Question {p}: explain why the sky looks blue at noon.",
                    None,
                    "",
                    "{}",
                    "",
                    now,
                )
                for p in range(prompts)
            ),
        )
        _insert(
            Candidate._meta.db_table,
            (
                "id",
                "prompt_id",
                "generator_id",
                "step",
                "params_key",
                "sample_index",
                "text",
                "rendered_prompt",
                "params",
                "seed",
                "finish_reason",
                "token_count",
                "created_at",
            ),
            (
                (
                    p * CANDIDATES_PER_PROMPT + c + 1,
                    p + 1,
                    generators[c % 2].pk,
                    "answer",
                    "",
                    c,
                    f"Answer {c} to question {p}. {FILLER}{FILLER[: 40 * c]}",
                    "",
                    params[c % 2],
                    7,
                    "eos",
                    90,
                    now,
                )
                for p in range(prompts)
                for c in range(CANDIDATES_PER_PROMPT)
            ),
        )
        item_ids = range(1, items + 1)
        _insert(
            Item._meta.db_table,
            (
                "id",
                "campaign_id",
                "kind",
                "prompt_id",
                "priority",
                "is_gold",
                "label_count",
                "order_key",
                "created_at",
            ),
            (
                (i, campaign.pk, "pairwise", (i - 1) // len(PAIRS) + 1, 0, False, 2, rng.random(), now)
                for i in item_ids
            ),
        )

        def slots() -> Iterator[tuple]:
            for i in item_ids:
                prompt = (i - 1) // len(PAIRS)
                first, second = PAIRS[(i - 1) % len(PAIRS)]
                shown = rng.random() < 0.5
                for index, c in enumerate((first, second)):
                    yield (2 * i - 1 + index, i, prompt * CANDIDATES_PER_PROMPT + c + 1, index, index ^ shown)

        _insert(ItemCandidate._meta.db_table, ("id", "item_id", "candidate_id", "index", "position"), slots())

        def label_rows() -> Iterator[tuple]:
            choices, weights = ("a", "b", "tie", "both_bad"), (45, 45, 5, 5)
            for i in item_ids:
                first_choice = rng.choices(choices, weights)[0]
                for n, user in enumerate(rng.sample(users, 2)):
                    # The second labeller agrees with the first 80% of the time, else votes at random.
                    choice = (
                        first_choice if n == 0 or rng.random() < 0.8 else rng.choices(choices, weights)[0]
                    )
                    strength = rng.choice(("slight", "clear", "strong", None)) if choice in "ab" else None
                    value = json.dumps({"choice": choice, "strength": strength, "rationale": ""})
                    yield (
                        2 * i - 1 + n,
                        i,
                        user.pk,
                        value,
                        round(rng.uniform(3, 60), 2),
                        f"b{2 * i + n}",
                        None,
                        now,
                    )

        _insert(
            Label._meta.db_table,
            (
                "id",
                "item_id",
                "labeller_id",
                "value",
                "seconds_spent",
                "idempotency_key",
                "gold_correct",
                "created_at",
            ),
            label_rows(),
        )
        if connection.vendor == "postgresql":  # the sequences, as a database in service would have them
            with connection.cursor() as cursor:
                for model in (Prompt, Candidate, Item, ItemCandidate, Label):
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
                    )
    with connection.cursor() as cursor:  # planner statistics, as a database in service would have
        cursor.execute("ANALYZE")


# --- measuring (the export runs in a child process) ---------------------------------------------------

EXPORT = """
import os, sys, time, json
sys.path.insert(0, {repo!r})
sys.path.insert(0, {bench!r})
from benchmarks_file import ProcessTreeMemory, machine_cpu_seconds, peak_rss_mb, process_tree_cpu_seconds
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from pathlib import Path
from labelapp.models import Campaign
from labelapp.services.exports import dataset_export
campaign = Campaign.objects.get(name={campaign!r})
runs = []
with ProcessTreeMemory() as memory:
    for _ in range({repeat}):
        machine, cpu, start = machine_cpu_seconds(), process_tree_cpu_seconds(), time.perf_counter()
        export = dataset_export(campaign=campaign, format="dpo", out=Path({out!r}), workers={workers})
        runs.append({{
            "seconds": time.perf_counter() - start,
            "cpu": process_tree_cpu_seconds() - cpu,
            "machine_cpu": machine_cpu_seconds() - machine,
        }})
result = {{"rows": export.rows, "runs": runs, "peak_mb": peak_rss_mb()}}
print(json.dumps({{**result, "pss_mb": memory.pss_mb, "rss_mb": memory.rss_mb}}))
"""


def child(args: list[str], env: dict[str, str]) -> str:
    """Run a child to the end; its stdout."""
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def run(backend: str, labels: int, args: argparse.Namespace) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="export-bench-") as tmp,
        scratch_database(backend, Path(tmp), admin_url=args.admin_url, name=args.db) as url,
    ):
        env = {**os.environ, "DATABASE_URL": url, "LABELAPP_VAR_DIR": tmp, "DEBUG": "0"}
        child([sys.executable, "manage.py", "migrate", "-v0"], env)
        started = time.perf_counter()
        child([sys.executable, __file__, "--load", str(labels)], env)
        loaded = time.perf_counter() - started
        out = Path(tmp) / "prefs.jsonl"
        script = EXPORT.format(
            repo=str(REPO),
            bench=str(BENCH),
            campaign=CAMPAIGN,
            out=str(out),
            workers=args.workers,
            repeat=args.repeat,
        )
        result = json.loads(child([sys.executable, "-c", script], env).strip().splitlines()[-1])
        size_mb = out.stat().st_size / 2**20
        runs = sorted(result["runs"], key=lambda run: run["seconds"])
        median = runs[len(runs) // 2]
        rates = [result["rows"] / run["seconds"] for run in runs]
        summary = (
            f"{backend}, {labels:,} labels on {labels // 2:,} items: {result['rows']:,} dpo rows in "
            f"{median['seconds']:.1f} s = {result['rows'] / median['seconds']:,.0f} rows/s "
            f"({labels / median['seconds']:,.0f} labels/s) with {args.workers} worker(s)"
            + (
                f", median of {len(runs)} runs ({min(rates):,.0f} to {max(rates):,.0f} rows/s)"
                if len(runs) > 1
                else ""
            )
            + f"; CPU in that run: export processes {median['cpu']:.1f} s, the rest of the machine "
            f"{max(0.0, median['machine_cpu'] - median['cpu']):.1f} s, unused "
            f"{max(0.0, CORES * median['seconds'] - median['machine_cpu']):.1f} core-s of {CORES} cores; "
            f"peak memory of all processes {result['pss_mb']:.0f} MB PSS "
            f"({result['rss_mb']:.0f} MB RSS summed; the export process alone {result['peak_mb']:.0f} MB), "
            f"file {size_mb:.0f} MB (load {loaded:.0f} s)"
        )
        print(summary, flush=True)
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=int, nargs="+", default=[1_000_000, 100_000])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/postgres")
    parser.add_argument("--db", default="labelapp_bench_export")
    parser.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)), help="export_dataset --workers"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="exports per size; the median run is reported (this host varies)",
    )
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)  # internal: the data-loading child
    args = parser.parse_args()
    if args.load:
        load(args.load)
        return
    for backend in args.backends:
        for labels in args.labels:
            summary = run(backend, labels, args)
            if args.record:
                benchmark_record("python bench/export_dpo.py " + " ".join(sys.argv[1:]), summary)


if __name__ == "__main__":
    main()
