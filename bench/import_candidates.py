"""Import throughput and memory: `import_dataset --format candidates` of 1,000,000 answer rows (JSONL).

Usage: python bench/import_candidates.py [--rows 1000000 100000] [--backends sqlite postgres]
       [--admin-url postgres://labelapp:labelapp@127.0.0.1:5432/postgres] [--db labelapp_bench_import] [--record]

For each backend and size it creates a fresh database (a SQLite file in a temporary folder, or the
PostgreSQL database --db, dropped at the end, also on error), migrates it, and writes a JSONL file of
--rows rows, one answer each: a quarter as many prompts of about 200 characters, each answered by 4 models
with about 300 characters and sampling params (about 600 bytes a row). It then times, in one fresh
process, merely parsing every line of the file with orjson (the floor any import stands on) and the
import itself (`import_dataset`, its progress bar off), and prints rows/s of both, that process's peak
RSS (VmHWM) and its peak before the import (Django and imports): equal peaks at 100,000 and 1,000,000
rows show memory does not grow with the file. It also prints the CPU time the import used (on a machine
other jobs share, rows per CPU second is what the import costs apart from waiting for a core), imports the
file a second time and prints how long finding that nothing is new takes. --record appends one row per run
to BENCHMARKS.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from benchmarks_file import benchmark_record, peak_rss_mb, scratch_database

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = "bench"
MODELS = ("acme-7b", "acme-13b", "beta-2b", "gamma-70b")
QUESTION = (
    "Explain, step by step and with a short example, how this idea works in practice and what a careful "
    "reader should check first. "
)
ANSWER = (
    "Here is a careful answer that walks through the question step by step, names its assumptions, and ends "
    "with a short summary of the result so that a reader can check it quickly. "
)


def answers_file_write(path: Path, rows: int) -> None:
    with path.open("wb") as out:
        for number in range(rows):
            prompt, model = divmod(number, len(MODELS))
            record = {
                "prompt": f"Question {prompt}: {QUESTION}"[:200],
                "response": f"Answer {number} by {MODELS[model]}: {ANSWER * 2}"[:300],
                "model": MODELS[model],
                "params": {"temperature": 0.7, "top_p": 0.95, "max_new_tokens": 256},
            }
            out.write(orjson.dumps(record) + b"\n")


def child(file: Path) -> None:
    """Run in a fresh process with DATABASE_URL set: parse the file, then import it twice, timed."""
    import django

    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from labelapp.models import Campaign, Candidate

    started = time.perf_counter()
    with file.open("rb") as lines:
        parsed = sum(1 for line in lines if orjson.loads(line))
    parse_seconds = time.perf_counter() - started
    Campaign.objects.create(name=CAMPAIGN, title="Import bench")
    before = peak_rss_mb()
    timings, cpu = [], []
    for _ in range(2):
        with open(os.devnull, "w") as quiet:
            started, cpu_started = time.perf_counter(), time.process_time()
            call_command(
                "import_dataset",
                str(file),
                campaign=CAMPAIGN,
                format="candidates",
                stdout=quiet,
                stderr=quiet,
            )
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    print(
        json.dumps(
            {
                "parsed": parsed,
                "parse_seconds": parse_seconds,
                "seconds": timings[0],
                "cpu_seconds": cpu[0],
                "again_seconds": timings[1],
                "peak_mb": peak_rss_mb(),
                "before_mb": before,
                "stored": Candidate.objects.filter(prompt__campaign__name=CAMPAIGN).count(),
            }
        )
    )


def measure(backend: str, rows: int, args: argparse.Namespace) -> str:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(backend, Path(tmp), admin_url=args.admin_url, name=args.db) as url,
    ):
        env = {**os.environ, "DATABASE_URL": url, "LABELAPP_VAR_DIR": tmp, "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        file = Path(tmp) / "answers.jsonl"
        answers_file_write(file, rows)
        size = file.stat().st_size / 1_000_000
        load = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(file)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    rate, parse_rate = rows / result["seconds"], result["parsed"] / result["parse_seconds"]
    return (
        f"{backend}, {rows:,} candidate rows ({size:.0f} MB JSONL, {rows // len(MODELS):,} prompts x "
        f"{len(MODELS)} models): {result['seconds']:.1f} s = {rate:,.0f} rows/s (orjson parse alone "
        f"{parse_rate:,.0f} rows/s; import / parse {rate / parse_rate:.2f}); the import's own CPU "
        f"{result['cpu_seconds']:.1f} s = {rows / result['cpu_seconds']:,.0f} rows per CPU second; the same "
        f"file again, 0 new: {result['again_seconds']:.1f} s; peak RSS {result['peak_mb']:.0f} MB "
        f"({result['before_mb']:.0f} MB before the import); {result['stored']:,} candidates stored; load "
        f"average {load:.1f} at the start ({os.cpu_count()} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"])
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/postgres")
    parser.add_argument("--db", default="labelapp_bench_import")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    for backend in args.backends:
        for rows in args.rows:
            summary = measure(backend, rows, args)
            print(summary)
            if args.record:
                benchmark_record("python bench/import_candidates.py " + " ".join(sys.argv[1:]), summary)


if __name__ == "__main__":
    main()
