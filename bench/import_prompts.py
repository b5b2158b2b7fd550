"""Import time and memory: `import_prompts` of a 50 MB prompt file (about 100,000 lines of 500 bytes).

Usage: python bench/import_prompts.py [--megabytes 50] [--format jsonl csv] [--backends sqlite postgres]
       [--admin-url postgres://labelapp:labelapp@127.0.0.1:5432/postgres] [--db labelapp_bench_import]
       [--bad-line] [--record]

For each backend and format it creates a fresh database (a SQLite file in a temporary folder, or the
PostgreSQL database --db, dropped at the end, also on error), migrates it, writes the prompt file, and
runs `manage.py import_prompts` in a fresh process. It prints the seconds the command took, that
process's peak RSS (VmHWM: on Linux ru_maxrss carries the parent's peak over fork and exec) and its peak
before the import (Django and imports), so the difference is what the import itself held. --bad-line
breaks the middle line (no 'prompt' field): the import then stops with the line named and stores nothing.
--record appends one row per run to BENCHMARKS.md.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_file import benchmark_record, peak_rss_mb, scratch_database

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = "bench"
LINE_BYTES = 500
FILLER = (
    "Explain, step by step and with a short example, how the following idea works in practice, which "
    "assumptions it makes, where it tends to fail, and what a careful reader should check first. "
)


def prompt_record(number: int) -> dict:
    text = f"Question {number}: " + FILLER * 3
    return {
        "prompt": text[:430],
        "reference_answer": f"Answer {number}",
        "topic": "bench",
        "level": number % 5,
    }


def prompt_file_write(path: Path, megabytes: float, bad_line: bool) -> int:
    """About `megabytes` of prompts, one per line; with bad_line, the middle one has no 'prompt'."""
    lines = int(megabytes * 1_000_000 / LINE_BYTES)
    bad = lines // 2 + 1 if bad_line else None
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out) if path.suffix == ".csv" else None
        if writer is not None:
            writer.writerow(["prompt", "reference_answer", "topic", "level"])
        for number in range(1, lines + 1):
            record = prompt_record(number)
            if number == bad:
                record.pop("prompt")
            if writer is not None:
                writer.writerow(
                    [record.get("prompt", ""), record["reference_answer"], "bench", record["level"]]
                )
            else:
                out.write(json.dumps(record) + "\n")
    return lines


def child(file: Path) -> None:
    """Run in a fresh process with DATABASE_URL set: the import, timed, with the process's peak RSS."""
    import django

    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import CommandError, call_command

    from labelapp.models import Campaign, Prompt

    campaign = Campaign.objects.create(name=CAMPAIGN, title="Import bench")
    before = peak_rss_mb()
    started = time.perf_counter()
    error = ""
    try:
        call_command("import_prompts", str(file), campaign=CAMPAIGN, stdout=open(os.devnull, "w"))  # noqa: SIM115
    except CommandError as failure:
        error = str(failure)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    stored = Prompt.objects.filter(campaign=campaign).count()
    print(
        json.dumps(
            {"seconds": seconds, "peak_mb": peak, "before_mb": before, "stored": stored, "error": error}
        )
    )


def measure(backend: str, file_format: str, args: argparse.Namespace) -> str:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(backend, Path(tmp), admin_url=args.admin_url, name=args.db) as url,
    ):
        env = {**os.environ, "DATABASE_URL": url, "LABELAPP_VAR_DIR": tmp, "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
        file = Path(tmp) / f"prompts.{file_format}"
        lines = prompt_file_write(file, args.megabytes, args.bad_line)
        size = file.stat().st_size / 1_000_000
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(file)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    outcome = (
        f"refused, {result['stored']} stored: {result['error']}"
        if result["error"]
        else f"{result['stored']} stored"
    )
    return (
        f"{backend}, {file_format} {size:.1f} MB ({lines:,} lines): {result['seconds']:.1f} s, "
        f"peak RSS {result['peak_mb']:.0f} MB ({result['before_mb']:.0f} MB before the import); {outcome}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--format", nargs="+", choices=["jsonl", "csv"], default=["jsonl"])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"])
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/postgres")
    parser.add_argument("--db", default="labelapp_bench_import")
    parser.add_argument("--bad-line", action="store_true")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    for backend in args.backends:
        for file_format in args.format:
            summary = measure(backend, file_format, args)
            print(summary)
            if args.record:
                benchmark_record("python bench/import_prompts.py " + " ".join(sys.argv[1:]), summary)


if __name__ == "__main__":
    main()
