"""Tokens/s of `generate_candidates --n 4` on the demo prompts with the embedded model (CPU).

Usage: python bench/generation.py [--n 4] [--max-new-tokens 96] [--record]
Prints wall time (model load included) and generation tokens/s; --record appends a row to BENCHMARKS.md.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_file import benchmark_record

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    os.environ["LABELAPP_VAR_DIR"] = tempfile.mkdtemp(prefix="labelapp-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from labelapp.models import Campaign, GenerationJob
    from labelapp.services.demo import DEMO_PROMPTS

    call_command("migrate", verbosity=0)
    Campaign.objects.create(name="bench")
    call_command("import_prompts", str(DEMO_PROMPTS), campaign="bench")
    started = time.perf_counter()
    call_command(
        "generate_candidates", campaign="bench", n=args.n, max_new_tokens=args.max_new_tokens, seed=1
    )
    wall = time.perf_counter() - started
    job = GenerationJob.objects.get()
    line = (
        f"generate_candidates: {job.progress_total} demo prompts x n={args.n}, max {args.max_new_tokens} new tokens: "
        f"{job.tokens_generated} tokens, {job.tokens_per_second:.1f} tokens/s generating, "
        f"{wall:.1f} s wall including model load"
    )
    print(line)
    if args.record:
        benchmark_record("python bench/generation.py", line)


if __name__ == "__main__":
    main()
